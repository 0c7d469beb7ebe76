package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// tabOrder is every control Tab reaches in w's top dialog, in order,
// starting from the one focused when it opened.
func tabOrder(w fyne.Window) []fyne.Focusable {
	cv := w.Canvas()
	var order []fyne.Focusable
	seen := map[fyne.Focusable]bool{}
	if f := cv.Focused(); f != nil {
		order, seen[f] = append(order, f), true
	}
	for range 80 {
		cv.FocusNext()
		f := cv.Focused()
		if f == nil || seen[f] {
			break
		}
		order, seen[f] = append(order, f), true
	}
	return order
}

// describe names a control for a failure message.
func describe(o fyne.Focusable) string {
	switch w := o.(type) {
	case *button:
		return fmt.Sprintf("button %q", w.Text)
	case *widget.Button:
		return fmt.Sprintf("Fyne button %q", w.Text)
	case *check:
		return fmt.Sprintf("check box %q", w.Text)
	case *widget.Check:
		return fmt.Sprintf("Fyne check box %q", w.Text)
	}
	return fmt.Sprintf("%T", o)
}

// fyneSelectableText is the type of the focusable part of a selectable
// widget.Label, which Fyne builds privately and which drops every key
// (fyne v2.7.1 widget/label.go:242, focusSelectable.TypedKey): no
// control of the console's can stand in for it. See decisions.md.
const fyneSelectableText = "*widget.focusSelectable"

// escapeFromEveryControl opens a dialog with open, and then, once for
// every control Tab reaches in it, opens it again, focuses that control
// and presses Escape: the dialog must close, whichever has the focus.
func escapeFromEveryControl(t *testing.T, w fyne.Window, open func()) {
	t.Helper()
	cv := w.Canvas()
	before := len(cv.Overlays().List())
	closeAll := func() {
		for len(cv.Overlays().List()) > before {
			cv.Overlays().Top().Hide()
		}
	}
	open()
	if len(cv.Overlays().List()) != before+1 {
		t.Fatalf("%d dialogs open, want 1", len(cv.Overlays().List())-before)
	}
	n := len(tabOrder(w))
	if n == 0 {
		t.Fatal("Tab reaches nothing in the dialog")
	}
	closeAll()
	for i := range n {
		open()
		order := tabOrder(w)
		if len(order) != n {
			t.Fatalf("Tab reaches %d controls, then %d", n, len(order))
		}
		o := order[i]
		if fmt.Sprintf("%T", o) == fyneSelectableText {
			closeAll()
			continue
		}
		cv.Focus(o)
		pressIn(w, fyne.KeyEscape)
		if len(cv.Overlays().List()) > before {
			t.Errorf("Escape on %s (control %d of %d) did not close the dialog", describe(o), i+1, n)
			closeAll()
		}
	}
}

// TestKeys_EscapeFromEveryControlOfEveryDialog: Escape closes each of the
// console's dialogs from every control Tab reaches in it. It used to be
// dropped on the Fyne buttons, check boxes, choices and radio buttons
// some dialogs were built from, and on the user form's accordion.
func TestKeys_EscapeFromEveryControlOfEveryDialog(t *testing.T) {
	newH := func(t *testing.T) *harness {
		h := newHarness(t)
		h.listUser("pat")
		if _, err := h.svc.UpdateUser("pat", func(u *core.User) error { u.Email = "pat@example.org"; return nil }); err != nil {
			t.Fatal(err)
		}
		return h
	}
	addProfile := func(t *testing.T, h *harness) {
		p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
		p.SupportEmail = "help@example.org"
		if err := h.svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
		s := h.c.profiles
		s.refresh()
		for i, q := range s.profiles {
			if q.Name == "Sales" {
				s.list.Select(i)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h *harness)
		open  func(h *harness)
	}{
		{name: "Add user", open: func(h *harness) { h.c.users.openForm(nil) }},
		{name: "Edit user", open: func(h *harness) {
			u, _ := h.svc.User("pat")
			h.c.users.openForm(&u)
		}},
		{name: "Reprovision", open: func(h *harness) { h.c.openReprovision("pat") }},
		{name: "Reprovision, a phone already", setup: func(t *testing.T, h *harness) {
			ic, err := h.svc.CreateProvisionCode("pat")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.svc.Provision("127.0.0.1", "pat", ic.Code, "Android 15"); err != nil {
				t.Fatal(err)
			}
		}, open: func(h *harness) { h.c.openReprovision("pat") }},
		{name: "Reprovision, mobile client not allowed", setup: func(t *testing.T, h *harness) {
			if _, err := h.svc.UpdateUser("pat", func(u *core.User) error { u.MobileAllowed = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}, open: func(h *harness) { h.c.openReprovision("pat") }},
		{name: "Reset PIN", open: func(h *harness) { selectUser(h, "pat"); h.c.users.openPINReset() }},
		{name: "Client log", open: func(h *harness) { h.c.openClientLog("pat", nil, nil) }},
		{name: "Add agent", open: func(h *harness) { h.c.agents.openForm(nil) }},
		{name: "Edit agent", setup: func(t *testing.T, h *harness) {
			if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1"}); err != nil {
				t.Fatal(err)
			}
		}, open: func(h *harness) {
			a := h.svc.Agents()[0]
			h.c.agents.openForm(&a)
		}},
		{name: "New profile", open: func(h *harness) { h.c.profiles.openForm(nil) }},
		{name: "Assign profile", setup: addProfile, open: func(h *harness) { h.c.profiles.openAssign() }},
		{name: "Delete profile", setup: addProfile, open: func(h *harness) { h.c.profiles.confirmDelete() }},
		{name: "First-run setup", open: func(h *harness) { h.c.openFirstRun(h.svc.Settings()) }},
		{name: "About", open: func(h *harness) { h.c.showAbout() }},
		{name: "Install as a service", open: func(h *harness) { h.c.showInstallService() }},
		{name: "Pair a console", setup: func(t *testing.T, h *harness) {
			h.svc.SetConsoleEndpoint("192.0.2.10:8444", func() string { return testFingerprint })
		}, open: func(h *harness) { h.c.server.openPairConsole() }},
		{name: "Paired consoles", setup: func(t *testing.T, h *harness) {
			if _, err := h.svc.PairConsole("desk-2", core.RoleHelpdesk); err != nil {
				t.Fatal(err)
			}
		}, open: func(h *harness) { h.c.server.openConsoles() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newH(t)
			if tc.setup != nil {
				tc.setup(t, h)
			}
			escapeFromEveryControl(t, h.win, func() { tc.open(h) })
		})
	}
}

// radioOptions are the console's radio buttons under o, in order.
func radioOptions(o fyne.CanvasObject) []*radioOption {
	var out []*radioOption
	walk(o, func(x fyne.CanvasObject) {
		if r, ok := x.(*radioOption); ok {
			out = append(out, r)
		}
	})
	return out
}

// The console's radio buttons work as Fyne's did, with the keys passed
// on: Space or a click chooses one, a choice made elsewhere (typing
// another address) shows on them, a required choice stays made, and
// Enter submits the dialog. The user form's "Effective profile" opens
// and closes from the keyboard.
func TestKeys_RadioAndDisclosure(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	if err := h.svc.SetSetting("server.advertise", ""); err != nil { // the first detected is chosen
		t.Fatal(err)
	}
	h.c.openFirstRun(h.svc.Settings())
	f := h.c.first
	opts := radioOptions(cv.Overlays().Top())
	if len(opts) != 2 || opts[0].label != "192.168.1.10" || !opts[0].selected {
		t.Fatalf("first-run addresses: %+v", opts)
	}
	cv.Focus(opts[1])
	h.typeText(" ")
	if f.addrs.Selected != "10.0.0.5" || !opts[1].selected || opts[0].selected {
		t.Errorf("Space on 10.0.0.5: %q chosen", f.addrs.Selected)
	}
	test.Type(f.other.entry, "vpn.example.org")
	if f.addrs.Selected != "" || opts[1].selected {
		t.Errorf("typing an address left %q chosen (shown: %v)", f.addrs.Selected, opts[1].selected)
	}
	f.other.entry.SetText("")
	test.Tap(opts[0])
	if cv.Focused() != opts[0] || f.addrs.Selected != "192.168.1.10" {
		t.Errorf("a click chose %q, focus on %T", f.addrs.Selected, cv.Focused())
	}
	h.press(fyne.KeyReturn) // Enter is Finish
	if h.c.first != nil {
		t.Fatal("Enter on an address did not finish the setup")
	}
	if got := h.svc.Settings().Advertise; got != "192.168.1.10" {
		t.Errorf("advertised %q", got)
	}

	// The token choice is required: Space on the chosen one keeps it.
	h.listUser("pat")
	h.c.openReprovision("pat")
	opts = radioOptions(cv.Overlays().Top())
	if len(opts) != 2 || opts[0].label != choiceStrings || !opts[0].selected {
		t.Fatalf("token choice: %+v", opts)
	}
	cv.Focus(opts[0])
	h.typeText(" ")
	if !opts[0].selected || h.c.reprov == nil {
		t.Error("Space on the chosen token type cleared it or closed the dialog")
	}
	h.press(fyne.KeyEscape)

	h.c.users.openForm(nil)
	box := h.c.users.form.effectiveBox
	cv.Focus(box.header)
	h.press(fyne.KeyReturn)
	if !box.detail.Visible() {
		t.Error("Enter did not open the effective profile")
	}
	h.press(fyne.KeySpace)
	if box.detail.Visible() {
		t.Error("Space did not close the effective profile")
	}
	if h.c.users.form == nil {
		t.Error("Enter on the header saved or closed the form")
	}
}

// After Delete agent or Delete profile the focus leaves the Delete
// button the deletion disabled, as on User Management: to the list, or,
// with no agent left, to Add agent. It stayed on the disabled button,
// where keys did nothing.
func TestKeys_FocusAfterDeleteAgentAndProfile(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	for _, n := range []string{"radius", "vpn"} {
		if err := h.svc.PutAgent(core.Agent{Name: n, Host: "10.0.0.1", Secret: n + "-secret-1"}); err != nil {
			t.Fatal(err)
		}
	}
	a := h.c.agents
	a.refresh()
	h.c.showScreen(a.content)
	for _, want := range []fyne.Focusable{a.list, a.add} {
		a.list.Select(0)
		cv.Focus(a.del)
		h.press(fyne.KeySpace)
		if a.confirm == nil {
			t.Fatal("Delete… opened no question")
		}
		a.confirm.Confirm()
		if f := cv.Focused(); f != want {
			t.Errorf("after Delete agent the focus is on %s, want %s", describeObj(f), describeObj(want))
		}
	}
	if len(a.agents) != 0 {
		t.Fatalf("%d agents left", len(a.agents))
	}

	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	p.SupportEmail = "help@example.org"
	if err := h.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	s := h.c.profiles
	s.refresh()
	h.c.showScreen(s.content)
	for i, q := range s.profiles {
		if q.Name == "Sales" {
			s.list.Select(i)
		}
	}
	cv.Focus(s.del)
	h.press(fyne.KeySpace)
	if s.confirm == nil {
		t.Fatal("Delete… opened no question")
	}
	s.confirm.Confirm()
	if f := cv.Focused(); f != s.list {
		t.Errorf("after Delete profile the focus is on %s, want the list", describeObj(f))
	}
	if _, err := h.svc.Profile("Sales"); err == nil {
		t.Error("Sales was not deleted")
	}
}

// describeObj names a focused object for a failure message.
func describeObj(o fyne.Focusable) string {
	if o == nil {
		return "nothing"
	}
	return describe(o)
}

// Escape with nothing focused closes a file dialog, not the dialog
// beneath it: over Reprovision, Save PNG…'s file dialog used to stay
// while Escape closed the Reprovision dialog under it (Fyne's file
// dialog was not among the dialogs the keys know).
func TestKeys_EscapeClosesTheFileDialogFirst(t *testing.T) {
	h := newHarness(t)
	h.c.opts.saveFile = nil // Fyne's own file dialog
	cv := h.win.Canvas()
	h.listUser("pat")
	h.c.openReprovision("pat")
	d := h.c.reprov
	test.Tap(d.savePNG)
	if n := len(cv.Overlays().List()); n != 2 {
		t.Fatalf("%d dialogs open, want Reprovision and the file dialog", n)
	}
	cv.Unfocus()
	h.press(fyne.KeyEscape)
	if h.c.reprov != d {
		t.Fatal("Escape closed the Reprovision dialog beneath the file dialog")
	}
	if n := len(cv.Overlays().List()); n != 1 {
		t.Fatalf("%d dialogs open after Escape, want Reprovision alone", n)
	}
	h.press(fyne.KeyEscape)
	if h.c.reprov != nil || len(h.c.modals) != 0 {
		t.Errorf("the second Escape left %d dialogs registered", len(h.c.modals))
	}

	// Cancel in the file dialog unregisters it too.
	h.c.openReprovision("pat")
	test.Tap(h.c.reprov.savePNG)
	tapDialogButton(t, h.win, "Cancel")
	if len(h.c.modals) != 1 {
		t.Fatalf("after Cancel %d dialogs registered, want Reprovision alone", len(h.c.modals))
	}
	h.press(fyne.KeyEscape)
	if h.c.reprov != nil {
		t.Error("Escape after Cancel did not close the Reprovision dialog")
	}
}
