package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestAttached_AddUserRefusalKeepsInput: on the attached (helpdesk)
// console, Add user with a wrong address stays open with core's sentence
// under Email and every value as typed; it closed on Add before (a
// dialog.NewForm), showed the refusal in a separate box and lost the
// input. Corrected, the user is added and the form closes.
func TestAttached_AddUserRefusalKeepsInput(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	do, waitFor := uiQueue(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1000, 700))
	at := NewAttached(w, AttachedDeps{API: core.LocalAdmin{Svc: svc, Operator: "test"}, DataDir: "/tmp/x", do: do})
	t.Cleanup(at.Close)
	test.Tap(at.addBtn)
	k := at.addForm
	if k == nil {
		t.Fatal("Add user opened no form")
	}
	name, full, email := k.fields["name"], k.fields["full_name"], k.fields["email"]
	test.Type(name.entry, "bob")
	test.Type(full.entry, "Bob Jones")
	test.Type(email.entry, "not an email")
	tapDialogButton(t, w, "Add")
	waitFor("the refusal under Email", func() bool { return email.msg.Visible() })
	if !strings.Contains(email.msg.Text, `"not an email" is not an email address`) {
		t.Errorf("Email says %q", email.msg.Text)
	}
	if top := w.Canvas().Overlays().Top(); top == nil || !contains(visibleTexts(top), email.msg.Text) {
		t.Fatal("the Add user form closed on the refusal")
	}
	if name.entry.Text != "bob" || full.entry.Text != "Bob Jones" || email.entry.Text != "not an email" || k.ok.Disabled() {
		t.Errorf("after the refusal the form shows %q, %q, %q; Add disabled %v", name.entry.Text, full.entry.Text, email.entry.Text, k.ok.Disabled())
	}
	if users, _ := svc.Users(); len(users) != 0 {
		t.Fatalf("a refused user was added: %v", users)
	}

	email.entry.SetText("bob@example.org")
	if email.msg.Visible() {
		t.Error("correcting Email left its sentence")
	}
	tapDialogButton(t, w, "Add")
	waitFor("the form closed", func() bool { return w.Canvas().Overlays().Top() == nil })
	waitFor("bob listed", func() bool { return len(at.users) == 1 && at.users[0].Name == "bob" })
}

// TestServerScreen_PairConsoleRefusalKeepsName: "Pair a console…" with a
// name core refuses stays open with the sentence under the name and the
// name as typed (it closed, showed the error in another dialog and lost
// the name); corrected, it makes the code.
func TestServerScreen_PairConsoleRefusalKeepsName(t *testing.T) {
	h := newHarness(t)
	s := h.c.server
	test.Tap(s.pairBtn)
	k := s.pairForm
	name := k.fields["name"]
	long := strings.Repeat("desk", 17) // 68 characters
	test.Type(name.entry, long)
	tapDialogButton(t, h.win, "Make a code")
	if !name.msg.Visible() || name.msg.Text != "A console name is 1 to 64 characters, e.g. helpdesk-2." {
		t.Errorf("the name says %q (visible %v)", name.msg.Text, name.msg.Visible())
	}
	top := h.win.Canvas().Overlays().Top()
	if top == nil || !contains(visibleTexts(top), name.msg.Text) || name.entry.Text != long {
		t.Fatalf("after the refusal: dialog open %v, name %q", top != nil, name.entry.Text)
	}
	if list, _ := h.svc.Consoles(); len(list) != 0 {
		t.Fatalf("consoles %+v", list)
	}

	name.entry.SetText("desk-2")
	tapDialogButton(t, h.win, "Make a code")
	if s.lastPairing.Name != "desk-2" || s.pairingBox == nil || !strings.Contains(s.pairingBox.Text, core.GroupPairingCode(s.lastPairing.Code)) {
		t.Errorf("no code shown for desk-2: %+v", s.lastPairing)
	}
}
