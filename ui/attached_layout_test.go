package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestAttached_LongLinesAreReadInFull: the helpdesk window's users and
// activity lists drew a line longer than their pane cut off at its edge,
// mid-word and with no sign that more followed: a long username hid the
// user's device state, and nothing else in the window shows it. Rows now
// end in an ellipsis, and the selected user's or activity's line is shown
// in full, wrapped, under its list.
func TestAttached_LongLinesAreReadInFull(t *testing.T) {
	test.NewTempApp(t)
	fyne.CurrentApp().Settings().SetTheme(Theme())
	svc := storetest.MustService(t)
	long := "christopher.montgomery-smith"
	if _, err := svc.AddUser(core.User{Name: long, FullName: "Christopher Montgomery-Smith", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1024, 768))
	at := NewAttached(w, AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, DataDir: "/tmp/x", do: do})
	t.Cleanup(at.Close)
	waitFor("listed", func() bool { return len(at.users) == 1 })
	ic, err := svc.CreateProvisionCode(long)
	if err != nil {
		t.Fatal(err)
	}
	const os = "Android 15 (Samsung Galaxy A54 5G, build UP1A.231005.007, security patch 2025-05-01)"
	if _, err := svc.Provision("127.0.0.1", long, ic.Code, os); err != nil {
		t.Fatal(err)
	}
	waitFor("the device listed", func() bool { return len(at.users) == 1 && at.users[0].ProvisionedAt != nil })
	waitFor("the activity", func() bool { return len(at.Activity()) > 0 && strings.Contains(at.Activity()[0], "Device provisioned") })
	time.Sleep(50 * time.Millisecond)
	waitFor("settled", func() bool { return true })

	// Every line drawn in a list stays inside its row.
	for name, l := range map[string]*widget.List{"users": at.userList, "activity": at.actList} {
		walk(l, func(o fyne.CanvasObject) {
			lab, ok := o.(*widget.Label)
			if !ok || lab.Text == "" {
				return
			}
			walk(lab, func(o fyne.CanvasObject) {
				if tx, ok := o.(*canvas.Text); ok && tx.Visible() && tx.MinSize().Width > lab.Size().Width {
					t.Errorf("%s list: %q is drawn %.0f px wide in a row of %.0f", name, tx.Text, tx.MinSize().Width, lab.Size().Width)
				}
			})
		})
	}
	// Selected, each is read in full under its list.
	at.userList.Select(0)
	at.actList.Select(0)
	waitFor("settled", func() bool { return true })
	writeShot(t, "attached-long-lines-1024x768.png", w.Canvas().Capture())
	for what, want := range map[string]string{"user": attachedUserLine(at.users[0]), "activity": at.Activity()[0]} {
		if got := strings.Join(strings.Fields(drawnText(w.Canvas().Content())), " "); !strings.Contains(got, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the selected %s's line %q is not drawn in full anywhere: %q", what, want, got)
		}
	}
	if bad := squashed(w.Canvas().Content()); len(bad) > 0 {
		t.Error(bad)
	}
	// A new line on top: the selection stays on the line it was on.
	shown := at.actLine.Text
	storetest.MustAddUser(t, svc, "kay", "1234")
	waitFor("the new line", func() bool { return len(at.Activity()) > 0 && strings.Contains(at.Activity()[0], "kay") })
	waitFor("settled", func() bool { return true })
	if at.actSel < 0 || at.Activity()[at.actSel] != shown {
		t.Errorf("after a new line the selection is %d, not on %q", at.actSel, shown)
	}
}
