package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// TestAttached_LiveUsersReprovisionAndEvents drives the attached console
// headless over the in-process admin API on a real store: it lists the
// users, issues a code from the window, and shows the phone's
// provisioning as it happens; the status bar says it is attached.
func TestAttached_LiveUsersReprovisionAndEvents(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", FullName: "Alice Smith", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, DataDir: "/tmp/x", do: do})
	t.Cleanup(at.Close)
	if at.state.Text != AttachedState || !strings.HasPrefix(at.status.Text, attachedNote) {
		t.Errorf("status bar %q %q", at.state.Text, at.status.Text)
	}
	waitFor("alice listed", func() bool { return len(at.users) == 1 && at.users[0].Name == "alice" })
	if line := attachedUserLine(at.users[0]); line != "alice · Alice Smith · no device" {
		t.Errorf("row %q", line)
	}
	if !at.reprovBtn.Disabled() {
		t.Error("Reprovision is enabled with no user selected")
	}
	at.userList.Select(0)
	test.Tap(at.reprovBtn)
	waitFor("the code dialog", func() bool { return at.reprov != nil })
	d := at.reprov
	if d.code.Text != groupCode(at.issued.Code) || d.issued.URL != at.issued.URL ||
		!strings.Contains(d.where.Text, "server "+at.issued.Server+", Site ID "+at.issued.SiteID) || at.issued.Server == "" ||
		strings.Contains(d.where.Text, oldPhoneNote) {
		t.Errorf("dialog: code %q, where %q", d.code.Text, d.where.Text)
	}
	waitFor("pending code in the list", func() bool { return len(at.users) == 1 && at.users[0].PendingUntil != nil })
	if u, ok := at.selectedUser(); !ok || u.Name != "alice" || at.reprovBtn.Disabled() {
		t.Error("the reload after the new code lost the selection")
	}

	// A phone provisions elsewhere: the window shows it live.
	if _, err := svc.Provision("127.0.0.1", "alice", at.issued.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	waitFor("Device provisioned in the activity", func() bool {
		for _, l := range at.Activity() {
			if strings.HasSuffix(l, "Device provisioned: alice (TestOS)") {
				return true
			}
		}
		return false
	})
	waitFor("the device in the list", func() bool {
		return len(at.users) == 1 && strings.Contains(attachedUserLine(at.users[0]), "provisioned ") && strings.HasSuffix(attachedUserLine(at.users[0]), "(TestOS)")
	})
	for _, l := range at.Activity() {
		if strings.Contains(l, at.issued.Code) {
			t.Errorf("the code is in the activity list: %q", l)
		}
	}

	// Now she has a phone: a new code says it will stop working.
	test.Tap(at.reprovBtn)
	first := at.issued.Code
	waitFor("the second code dialog", func() bool { return at.reprov != nil && at.reprov != d && at.issued.Code != first })
	if !at.issued.ReplacesDevice || !strings.Contains(at.reprov.where.Text, oldPhoneNote) {
		t.Errorf("reprovisioning a user with a phone: replaces %v, dialog %q", at.issued.ReplacesDevice, at.reprov.where.Text)
	}
}

// TestAttached_RolesAndHelpdeskActions: a console connected as a paired
// helpdesk console says so in its status bar and shows only the actions
// the helpdesk role may do; Unlock, Reset PIN and Revoke device work from
// the window. An admin console shows every action.
func TestAttached_RolesAndHelpdeskActions(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", MobileAllowed: true, Locked: true}); err != nil {
		t.Fatal(err)
	}
	do, waitFor := uiQueue(t)
	helpdesk := helpdeskAPI(svc)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: helpdesk, Remote: "provisio.lan:8444", do: do})
	t.Cleanup(at.Close)
	if got := strings.Join(at.VisibleActions(), ", "); got != "Reprovision…, Unlock, Reset PIN…, Revoke device…, Profile…" {
		t.Errorf("a helpdesk console shows %s", got)
	}
	if !strings.Contains(at.StatusText(), "Connected to provisio.lan:8444 as desk-2 (helpdesk)") {
		t.Errorf("status bar %q", at.StatusText())
	}
	waitFor("alice listed", func() bool { return len(at.users) == 1 })
	at.userList.Select(0)
	if at.unlockBtn.Disabled() || !at.revokeBtn.Disabled() {
		t.Error("Unlock must be on for a locked user, Revoke off without a device")
	}
	test.Tap(at.unlockBtn)
	waitFor("alice unlocked", func() bool { return len(at.users) == 1 && !at.users[0].Locked })
	if u, _ := svc.User("alice"); u.Locked {
		t.Fatal("alice is still locked")
	}

	test.Tap(at.pinBtn)
	tapDialogButton(t, w, "Reset PIN")
	waitFor("the new PIN shown", func() bool { return at.pinShown != "" })
	if u, _ := svc.User("alice"); u.PIN != at.pinShown {
		t.Error("the PIN shown is not alice's new PIN")
	}

	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	waitFor("the device listed", func() bool { return len(at.users) == 1 && at.users[0].ProvisionedAt != nil && !at.revokeBtn.Disabled() })
	test.Tap(at.revokeBtn)
	tapDialogButton(t, w, "Yes")
	waitFor("the device revoked", func() bool { return len(at.users) == 1 && at.users[0].ProvisionedAt == nil })

	admin := NewAttached(test.NewTempWindow(t, widget.NewLabel("")), AttachedDeps{API: core.LocalAdmin{Svc: svc}, DataDir: "/tmp/x", do: do})
	t.Cleanup(admin.Close)
	if got := strings.Join(admin.VisibleActions(), ", "); got != "Reprovision…, Unlock, Reset PIN…, Revoke device…, Profile…, Add user…, Delete…" {
		t.Errorf("an admin console shows %s", got)
	}
	if admin.StatusText() != AttachedState+"   "+attachedNote+"   ·   Data /tmp/x" {
		t.Errorf("a locally attached console says %q", admin.StatusText())
	}
}

// helpdeskAPI is the admin API as the paired helpdesk console "desk-2"
// reaches it.
func helpdeskAPI(svc *core.Service) core.LocalAdmin {
	return core.LocalAdmin{Svc: svc, Operator: `console "desk-2" (helpdesk) at 127.0.0.1`,
		Caller: core.AdminOperator{Name: "desk-2", Role: core.RoleHelpdesk, Remote: true}}
}

// helpdeskWindow opens the attached window as that helpdesk console,
// 1100×700 on a fixed clock, its UI work queued for waitFor (uiQueue).
func helpdeskWindow(t *testing.T, svc *core.Service) (at *Attached, w fyne.Window, waitFor func(string, func() bool)) {
	t.Helper()
	do, waitFor := uiQueue(t)
	w = test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1100, 700))
	at = NewAttached(w, AttachedDeps{API: helpdeskAPI(svc), Remote: "provisio.lan:8444", do: do, now: storetest.NewClock(start).Now})
	t.Cleanup(at.Close)
	return at, w, waitFor
}

// tapDialogButton taps the button labelled text in the window's top
// dialog.
func tapDialogButton(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog open to tap %q in", text)
	}
	var found *widget.Button
	walk(top, func(o fyne.CanvasObject) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			found = b
		}
		if b, ok := o.(*button); ok && b.Text == text {
			found = &b.Button // the console's button (keys.go)
		}
	})
	if found == nil {
		t.Fatalf("the dialog has no %q button: %q", text, visibleTexts(top))
	}
	test.Tap(found)
}

// uiQueue stands in for fyne.Do in headless tests of windows that hop to
// the UI from other goroutines: do queues a function, and waitFor runs
// the queued ones on the test goroutine until cond holds (waitLimit at
// most).
func uiQueue(t testing.TB) (do func(func()), waitFor func(what string, cond func() bool)) {
	queue := make(chan func(), 1024)
	return func(fn func()) { queue <- fn }, func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(waitLimit)
		for !cond() {
			select {
			case fn := <-queue:
				fn()
			case <-time.After(5 * time.Millisecond):
			case <-deadline:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
}

// TestAttached_ReprovisionDialog: the helpdesk console shows a code in
// the full console's Reprovision dialog: the QR code at least minQRSide
// wide at whole pixels per module, unstretched and readable off the
// screen; the countdown once a tick; and what happens to the code, live
// from the event stream (it used to show a 4-pixel-per-module QR code
// stretched into 240 px, "Valid until 15:04" and no outcome).
func TestAttached_ReprovisionDialog(t *testing.T) {
	for _, tt := range []struct {
		name string
		// then makes something happen to the code d shows.
		then      func(t *testing.T, svc *core.Service, clock *storetest.Clock, d *reprovisionDialog)
		status    string
		countdown string
	}{
		{"the phone provisions", func(t *testing.T, svc *core.Service, _ *storetest.Clock, d *reprovisionDialog) {
			if _, err := svc.Provision("127.0.0.1", "alice", d.issued.Code, "TestOS"); err != nil {
				t.Fatal(err)
			}
		}, statusProvisioned + " (TestOS)", "The code has been used."},
		{"the code expires", func(_ *testing.T, _ *core.Service, clock *storetest.Clock, _ *reprovisionDialog) {
			clock.Advance(10 * time.Minute)
		}, statusExpired, "Use New code to make another."},
		{"wrong attempts spend it", func(t *testing.T, svc *core.Service, _ *storetest.Clock, _ *reprovisionDialog) {
			for i := range 20 {
				if _, err := svc.Provision(fmt.Sprintf("192.0.2.%d", i+1), "alice", "WRONG123", "TestOS"); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("wrong code: %v", err)
				}
			}
		}, statusFailed + "the provision code stopped working after 20 wrong attempts", "This code can no longer be used; use New code."},
		{"an admin deletes the user", func(t *testing.T, svc *core.Service, _ *storetest.Clock, _ *reprovisionDialog) {
			if err := svc.DeleteUser("alice"); err != nil {
				t.Fatal(err)
			}
		}, statusDeleted, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			test.NewTempApp(t)
			clock := storetest.NewClock(start)
			svc := storetest.MustService(t, core.WithClock(clock))
			if _, err := svc.AddUser(core.User{Name: "alice", MobileAllowed: true}); err != nil {
				t.Fatal(err)
			}
			do, waitFor := uiQueue(t)
			helpdesk := helpdeskAPI(svc)
			w := test.NewTempWindow(t, widget.NewLabel(""))
			w.Resize(fyne.NewSize(1100, 700))
			at := NewAttached(w, AttachedDeps{API: helpdesk, Remote: "provisio.lan:8444", do: do, now: clock.Now, tick: 5 * time.Millisecond})
			t.Cleanup(at.Close)
			waitFor("alice listed", func() bool { return at.SelectUser("alice") })
			test.Tap(at.reprovBtn)
			waitFor("the Reprovision dialog", func() bool { return at.reprov != nil })
			d := at.reprov
			if d.status.Text != statusWaiting || d.countdown.Text != "Expires in 10:00" || at.ReprovisionStatus() != statusWaiting {
				t.Errorf("status %q, countdown %q", d.status.Text, d.countdown.Text)
			}
			side := int(d.qrImage.MinSize().Width)
			if side < minQRSide || side%d.modules != 0 || d.qrImage.Image.Bounds().Dx() != side {
				t.Errorf("QR %d px for %d modules, bitmap %d px: want ≥ %d, whole pixels per module, unstretched",
					side, d.modules, d.qrImage.Image.Bounds().Dx(), minQRSide)
			}
			if got := qrtest.MustDecode(t, w.Canvas().Capture()); got != at.LastIssued().URL {
				t.Errorf("QR reads %q, want the Provision URL", got)
			}
			clock.Advance(time.Second)
			waitFor("the countdown", func() bool { return d.countdown.Text == "Expires in 9:59" })

			tt.then(t, svc, clock, d)
			waitFor(tt.status, func() bool { return d.status.Text == tt.status })
			if d.countdown.Text != tt.countdown || d.qrImage.Translucency != spentQRTranslucency {
				t.Errorf("countdown %q, QR translucency %v: want %q and a faded code", d.countdown.Text, d.qrImage.Translucency, tt.countdown)
			}
			if tt.status == statusDeleted {
				return
			}
			// New code starts over in the same dialog.
			old := d.issued.Code
			test.Tap(d.newCode)
			waitFor("the new code", func() bool { return d.issued.Code != old })
			if d.status.Text != statusReplaced || d.countdown.Text != "Expires in 10:00" || at.LastIssued().Code != d.issued.Code {
				t.Errorf("after New code: status %q, countdown %q", d.status.Text, d.countdown.Text)
			}
		})
	}
}

// TestAttached_ReprovisionWithoutTheMobileRight: a user whose account
// does not allow the mobile client gets no code. Core's sentence says to
// allow it in the account or set up an authenticator app, which this
// window can do neither of; it now says who can.
func TestAttached_ReprovisionWithoutTheMobileRight(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("bob listed", func() bool { return at.SelectUser("bob") })
	test.Tap(at.reprovBtn)
	waitFor("the refusal", func() bool { return w.Canvas().Overlays().Top() != nil })
	got := strings.Join(visibleTexts(w.Canvas().Overlays().Top()), " ")
	want := `bob may not use the mobile client: "Mobile client allowed" is off in their account. An administrator can allow it in the console (then make the code here), or set up an authenticator app for bob instead.`
	if !strings.Contains(got, want) {
		t.Errorf("the window says %q; want %q", got, want)
	}
	if at.reprov != nil {
		t.Error("a Reprovision dialog opened for a user who may not use the mobile client")
	}
}
