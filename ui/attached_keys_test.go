package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// pressIn delivers a key to w as the desktop driver does: to the focused
// widget, or to the canvas when nothing has the focus.
func pressIn(w fyne.Window, name fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: name}
	if f := w.Canvas().Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	if on := w.Canvas().OnTypedKey(); on != nil {
		on(ev)
	}
}

// TestAttached_EscapeClosesDialogs: in the helpdesk's attached console,
// Escape closes the Reprovision dialog (stopping its countdown), the
// Reset PIN question and, from its username entry, the admin's Add user
// form. It used to do nothing: the window had no key handling at all.
func TestAttached_EscapeClosesDialogs(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("alice listed", func() bool { return at.SelectUser("alice") })

	test.Tap(at.reprovBtn)
	waitFor("the Reprovision dialog", func() bool { return at.reprov != nil })
	d := at.reprov
	pressIn(w, fyne.KeyEscape)
	if at.reprov != nil || w.Canvas().Overlays().Top() != nil {
		t.Fatal("Escape did not close the Reprovision dialog")
	}
	if !d.closed {
		t.Error("the closed dialog's countdown still runs")
	}
	// From its Close button too.
	test.Tap(at.reprovBtn)
	waitFor("the Reprovision dialog", func() bool { return at.reprov != nil })
	w.Canvas().Focus(at.reprov.closeBtn)
	pressIn(w, fyne.KeyEscape)
	if at.reprov != nil {
		t.Fatal("Escape on Close did not close the Reprovision dialog")
	}

	test.Tap(at.pinBtn)
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("no Reset PIN question")
	}
	pressIn(w, fyne.KeyEscape)
	if w.Canvas().Overlays().Top() != nil {
		t.Error("Escape did not close the Reset PIN question")
	}
	if u, _ := svc.User("alice"); u.PIN != "" {
		t.Error("Escape reset the PIN")
	}

	adminDo, _ := uiQueue(t)
	admin := NewAttached(test.NewTempWindow(t, widget.NewLabel("")), AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, do: adminDo})
	t.Cleanup(admin.Close)
	test.Tap(admin.addBtn)
	aw := admin.win
	if aw.Canvas().Focused() == nil {
		t.Fatal("Add user opened with nothing focused")
	}
	test.Type(admin.addForm.fields["name"].entry, "zed")
	pressIn(aw, fyne.KeyEscape)
	if aw.Canvas().Overlays().Top() != nil {
		t.Error("Escape in the username did not close Add user")
	}
}

// buttonIn is the console button labelled label in o's tree, or nil.
func buttonIn(o fyne.CanvasObject, label string) *button {
	for _, obj := range test.LaidOutObjects(o) {
		if b, ok := obj.(*button); ok && b.Text == label {
			return b
		}
	}
	return nil
}

// TestAttached_EnterKeepsTheShownPIN: the helpdesk's Reset PIN shows the
// new PIN once ("it is not shown again"), and Enter does not take it
// away: a second press of the Enter that confirmed the reset, or a held
// key's repeat, used to close the message before anyone read it, leaving
// a PIN nobody knows. The console's own Reset PIN keeps its PIN on Enter
// too (pinResetDialog). Its Close button closes it.
func TestAttached_EnterKeepsTheShownPIN(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("alice listed", func() bool { return at.SelectUser("alice") })

	test.Tap(at.pinBtn)
	q := w.Canvas().Overlays().Top()
	ok := buttonIn(q, "Reset PIN")
	if ok == nil {
		t.Fatal("no Reset PIN button in the question")
	}
	w.Canvas().Focus(ok)
	pressIn(w, fyne.KeyEnter)
	waitFor("the new PIN shown", func() bool { return at.pinShown != "" })
	msg := w.Canvas().Overlays().Top()
	if msg == nil || msg == q {
		t.Fatal("no message with the new PIN")
	}
	pressIn(w, fyne.KeyEnter)
	pressIn(w, fyne.KeyReturn)
	if w.Canvas().Overlays().Top() != msg {
		t.Fatal("Enter closed the message with the PIN, which is not shown again")
	}
	okBtn := buttonIn(msg, "OK")
	if okBtn == nil {
		t.Fatal("no OK button under the PIN")
	}
	test.Tap(okBtn)
	if w.Canvas().Overlays().Top() != nil {
		t.Error("OK did not close the message")
	}
}

// TestAttached_EscapeFromEveryControlOfEveryDialog: in the attached
// console too, Escape closes each dialog from every control Tab reaches
// in it (escapeFromEveryControl).
func TestAttached_EscapeFromEveryControlOfEveryDialog(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "help@example.org"
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("alice listed", func() bool { return at.SelectUser("alice") })
	opened := func(b *widget.Button) func() {
		return func() {
			n := len(w.Canvas().Overlays().List())
			test.Tap(b)
			waitFor(b.Text, func() bool { return len(w.Canvas().Overlays().List()) > n })
		}
	}
	for _, tc := range []struct {
		name string
		open func()
	}{
		{"Reprovision", opened(at.reprovBtn)},
		{"Reset PIN", opened(at.pinBtn)},
		{"Profile", opened(at.profileBtn)},
	} {
		t.Run(tc.name, func(t *testing.T) { escapeFromEveryControl(t, w, tc.open) })
	}

	adminDo, adminWait := uiQueue(t)
	admin := NewAttached(test.NewTempWindow(t, widget.NewLabel("")), AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, do: adminDo})
	t.Cleanup(admin.Close)
	adminWait("alice listed", func() bool { return admin.SelectUser("alice") })
	for _, b := range []*widget.Button{admin.addBtn, admin.delBtn} {
		t.Run(b.Text, func(t *testing.T) {
			escapeFromEveryControl(t, admin.win, func() { test.Tap(b) })
		})
	}
}
