package ui

import (
	"reflect"
	"testing"
	"unsafe"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// closeIntercept is what the window's close button runs (test windows
// keep it unexported; a desktop window calls it when the close button is
// pressed).
func closeIntercept(t *testing.T, w fyne.Window) func() {
	t.Helper()
	v := reflect.ValueOf(w).Elem().FieldByName("onCloseIntercepted")
	if !v.IsValid() {
		// Fyne is pinned in go.mod; a new version that moved the field
		// must fail here, not skip the check of the close button.
		t.Fatal("this Fyne's test window does not keep the close intercept where the test looks; update closeIntercept")
	}
	fn, _ := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().(func())
	if fn == nil {
		t.Fatal("the window has no close intercept: closing it quits without asking")
	}
	return fn
}

// TestMenu_QuitAsksWhenUnsaved: with a form the navigation marks
// "(unsaved)", Ctrl+Q, File → Quit and the window's close button ask
// "Quit and lose unsaved changes to …?" first; Cancel keeps the console
// and the draft, Quit quits. Without unsaved changes they quit at once.
// They quit straight away before, losing the draft.
func TestMenu_QuitAsksWhenUnsaved(t *testing.T) {
	h := newHarness(t)
	quits := 0
	h.c.opts.quit = func() { quits++ }

	h.shortcut(fyne.KeyQ)
	if quits != 1 || h.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("with nothing unsaved Ctrl+Q quit %d times and left %v open", quits, h.win.Canvas().Overlays().Top())
	}

	h.c.pin.entries["policy.pin.min_length"].entry.SetText("6")
	h.c.mobile.entries["policy.mobile.support_phone"].entry.SetText("+44 20 7946 0000")
	const want = "Quit and lose unsaved changes to Policy → Mobile Client and Policy → PIN & Lockout?"
	for _, how := range []struct {
		name string
		do   func()
	}{
		{"Ctrl+Q", func() { h.shortcut(fyne.KeyQ) }},
		{"the close button", closeIntercept(t, h.win)},
	} {
		how.do()
		top := h.win.Canvas().Overlays().Top()
		if quits != 1 || top == nil || !contains(visibleTexts(top), want) {
			t.Fatalf("%s with unsaved forms: quit %d times; dialog says %q", how.name, quits-1, visibleTexts(top))
		}
		how.do() // pressed again while asking: one question
		if n := len(h.win.Canvas().Overlays().List()); n != 1 {
			t.Errorf("%s pressed twice: %d dialogs", how.name, n)
		}
		tapDialogButton(t, h.win, "Cancel")
		if quits != 1 || h.c.pin.entries["policy.pin.min_length"].entry.Text != "6" {
			t.Fatalf("Cancel quit or lost the draft (%q)", h.c.pin.entries["policy.pin.min_length"].entry.Text)
		}
	}
	h.c.quit()
	tapDialogButton(t, h.win, "Quit")
	if quits != 2 {
		t.Errorf("Quit in the question quit %d times, want once", quits-1)
	}

	// Applied, nothing is unsaved: quitting does not ask.
	test.Tap(h.c.pin.apply)
	test.Tap(h.c.mobile.apply)
	h.c.quit()
	if quits != 3 {
		t.Errorf("after Apply, quit asked instead of quitting (%v)", visibleTexts(h.win.Canvas().Overlays().Top()))
	}
}

// menuItem is the item labelled label in menu title of the main menu.
func menuItem(t *testing.T, m *fyne.MainMenu, title, label string) *fyne.MenuItem {
	t.Helper()
	var titles []string
	for _, mm := range m.Items {
		for _, it := range mm.Items {
			if mm.Label == title && it.Label == label {
				return it
			}
			titles = append(titles, mm.Label+" → "+it.Label)
		}
	}
	t.Fatalf("no %s → %s in the menu: %q", title, label, titles)
	return nil
}

// TestMenu_FindAndAddUser: Ctrl+F and Ctrl+N are in the menu, Edit →
// Find user and File → Add user…, which show their shortcuts; the items
// do what the keys do, and wait while a dialog is open. They were in no
// menu, so nothing told anyone they exist.
func TestMenu_FindAndAddUser(t *testing.T) {
	h := newHarness(t)
	find := menuItem(t, h.c.menu, "Edit", "Find user")
	add := menuItem(t, h.c.menu, "File", "Add user…")
	if find.Shortcut == nil || find.Shortcut.ShortcutName() != shortcutFind.ShortcutName() {
		t.Errorf("Find user shows shortcut %v, want Ctrl+F", find.Shortcut)
	}
	if add.Shortcut == nil || add.Shortcut.ShortcutName() != shortcutNewUser.ShortcutName() {
		t.Errorf("Add user… shows shortcut %v, want Ctrl+N", add.Shortcut)
	}
	if file := h.c.menu.Items[0]; file.Label != "File" || file.Items[len(file.Items)-1].Label != "Quit" {
		t.Errorf("File menu %q does not end with Quit", file.Label)
	}

	h.c.showScreen(h.c.log.content)
	find.Action()
	if h.c.body.Objects[0] != h.c.users.content || h.win.Canvas().Focused() != h.c.users.search {
		t.Errorf("Find user: screen %v, focus on %T", h.c.body.Objects[0] == h.c.users.content, h.win.Canvas().Focused())
	}
	h.c.showScreen(h.c.log.content)
	add.Action()
	f := h.c.users.form
	if f == nil || h.c.body.Objects[0] != h.c.users.content {
		t.Fatal("Add user… did not open Add user on User Management")
	}
	add.Action()
	find.Action()
	if h.c.users.form != f || len(h.c.modals) != 1 {
		t.Errorf("the menu items over the open dialog: %d dialogs", len(h.c.modals))
	}
}
