package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

// press delivers a key as the desktop driver does: to the focused widget,
// or to the canvas when nothing has the focus.
func (h *harness) press(name fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: name}
	if f := h.win.Canvas().Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	h.win.Canvas().OnTypedKey()(ev)
}

// shortcut delivers Ctrl+key as the desktop driver does: to the focused
// widget if it takes shortcuts, else to the canvas.
func (h *harness) shortcut(key fyne.KeyName) {
	s := &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
	if f, ok := h.win.Canvas().Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(s)
		return
	}
	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(s)
}

func TestKeys_CtrlFFocusesSearch(t *testing.T) {
	h := newHarness(t)
	h.c.showScreen(h.c.log.content)
	h.shortcut(fyne.KeyF)
	if h.c.body.Objects[0] != h.c.users.content {
		t.Error("Ctrl+F did not show User Management")
	}
	if h.win.Canvas().Focused() != h.c.users.search {
		t.Errorf("focus on %T, want the search entry", h.win.Canvas().Focused())
	}
	// From inside another entry too.
	h.c.showScreen(h.c.log.content)
	h.win.Canvas().Focus(h.c.log.filter)
	h.shortcut(fyne.KeyF)
	if h.win.Canvas().Focused() != h.c.users.search {
		t.Error("Ctrl+F from the log filter did not reach the console")
	}
}

func TestKeys_CtrlNAddsUser(t *testing.T) {
	h := newHarness(t)
	h.win.Canvas().Focus(h.c.users.search) // typing a search, then Ctrl+N
	h.shortcut(fyne.KeyN)
	f := h.c.users.form
	if f == nil {
		t.Fatal("Ctrl+N did not open Add user")
	}
	if h.win.Canvas().Focused() != f.name.input {
		t.Errorf("focus on %T, want the username", h.win.Canvas().Focused())
	}
	// Ctrl+N inside the dialog does not open a second one.
	h.shortcut(fyne.KeyN)
	if h.c.users.form != f || len(h.c.modals) != 1 {
		t.Errorf("%d dialogs open", len(h.c.modals))
	}
}

func TestKeys_EnterSubmitsEscapeCloses(t *testing.T) {
	h := newHarness(t)
	h.shortcut(fyne.KeyN)
	f := h.c.users.form
	test.Type(f.name.entry, "nina")
	test.Type(f.email.entry, "nina@")
	h.press(fyne.KeyReturn) // Enter in the email entry
	if h.c.users.form != f || !f.email.msg.Visible() {
		t.Fatal("Enter with an invalid email should keep the dialog with the message")
	}
	test.Type(f.email.entry, "example.org")
	h.press(fyne.KeyReturn)
	if h.c.users.form != nil {
		t.Fatalf("Enter did not save: %q", formErrors(f))
	}
	if _, err := h.svc.User("nina"); err != nil {
		t.Fatal(err)
	}

	// Escape closes without saving, from an entry and with no focus.
	h.shortcut(fyne.KeyN)
	f = h.c.users.form
	test.Type(f.name.entry, "olga")
	h.press(fyne.KeyEscape)
	if h.c.users.form != nil || len(h.c.modals) != 0 {
		t.Error("Escape in an entry did not close the dialog")
	}
	h.shortcut(fyne.KeyN)
	h.win.Canvas().Unfocus()
	h.press(fyne.KeyEscape)
	if h.c.users.form != nil {
		t.Error("Escape with nothing focused did not close the dialog")
	}
	if _, err := h.svc.User("olga"); err == nil {
		t.Error("Escape saved the user")
	}
}

func TestKeys_EscapeClosesConfirmAndReprovision(t *testing.T) {
	h := newHarness(t)
	h.listUser("pat")
	test.Tap(h.c.users.del)
	h.press(fyne.KeyReturn) // Enter does not confirm a delete
	if _, err := h.svc.User("pat"); err != nil {
		t.Fatal("Enter confirmed a delete")
	}
	h.press(fyne.KeyEscape)
	if h.win.Canvas().Overlays().Top() != nil {
		t.Error("Escape did not close the confirmation")
	}
	test.Tap(h.c.users.reprovision)
	if h.c.reprov == nil {
		t.Fatal("no Reprovision dialog")
	}
	h.press(fyne.KeyEscape)
	if h.c.reprov != nil {
		t.Error("Escape did not close the Reprovision dialog")
	}
}

// Tab moves through a dialog in the order a person reads it.
func TestKeys_TabOrderInForms(t *testing.T) {
	h := newHarness(t)
	h.shortcut(fyne.KeyN)
	f := h.c.users.form
	cv := h.win.Canvas()
	var order []fyne.Focusable
	for range 12 {
		order = append(order, cv.Focused())
		cv.FocusNext()
	}
	pos := func(o fyne.Focusable) int {
		for i, x := range order {
			if x == o {
				return i
			}
		}
		return -1
	}
	want := []fyne.Focusable{f.name.input, f.fullName.input, f.email.input, f.mobile.input, f.group.input, f.pin.input, f.mobileAllowed}
	for i := 1; i < len(want); i++ {
		if a, b := pos(want[i-1]), pos(want[i]); a < 0 || b < 0 || a >= b {
			t.Errorf("Tab order: field %d at %d, field %d at %d", i-1, a, i, b)
		}
	}

	h.press(fyne.KeyEscape)
	h.c.showScreen(h.c.agents.content)
	test.Tap(h.c.agents.add)
	a := h.c.agents.form
	order = order[:0]
	for range 14 {
		order = append(order, cv.Focused())
		cv.FocusNext()
	}
	want = []fyne.Focusable{a.name.input, a.host.input, a.secret.input, a.group.input, a.modes["mobile"], a.repository}
	for i := 1; i < len(want); i++ {
		if x, y := pos(want[i-1]), pos(want[i]); x < 0 || y < 0 || x >= y {
			t.Errorf("agent form Tab order: field %d at %d, field %d at %d", i-1, x, i, y)
		}
	}
}
