package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"provisio/core/store/storetest"
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

// typeText types as the desktop driver does: to the focused widget, or
// to the canvas when nothing has the focus.
func (h *harness) typeText(s string) {
	for _, r := range s {
		if f := h.win.Canvas().Focused(); f != nil {
			f.TypedRune(r)
		} else if on := h.win.Canvas().OnTypedRune(); on != nil {
			on(r)
		}
	}
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

// The console opens on User Management with the search box focused, so
// a helpdesk can type a name at once; showing the screen again, from
// the navigation, puts the focus back there (it used to be nowhere, and
// typed text was lost).
func TestKeys_SearchFocusedWhenUsersShown(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	if cv.Focused() != h.c.users.search {
		t.Fatalf("at start the focus is on %T, want the search box", cv.Focused())
	}
	h.typeText("al")
	if h.c.users.search.Text != "al" {
		t.Errorf("typed at start, the search box reads %q", h.c.users.search.Text)
	}
	h.c.nav.Select(len(h.c.screens) - 1) // Log
	cv.Focus(h.c.nav)                    // as a click in the navigation leaves it
	h.c.nav.Select(0)
	if cv.Focused() != h.c.users.search {
		t.Errorf("back on User Management the focus is on %T, want the search box", cv.Focused())
	}
}

// Escape closes a dialog, and Enter submits it or presses the focused
// button, wherever Tab has taken the focus in the dialogs the console
// builds: its buttons, check boxes and choices (they used to swallow
// both keys, which only reached the dialog from an entry or with
// nothing focused).
func TestKeys_EscapeAndEnterFromButtonsAndChecks(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	open := func() *userForm {
		h.c.users.openForm(nil)
		return h.c.users.form
	}
	controls := func(f *userForm) []fyne.Focusable {
		return []fyne.Focusable{f.profile, f.mobileAllowed, f.locked, f.disabled, f.cancel, f.save}
	}
	for i := range controls(&userForm{}) {
		o := controls(open())[i]
		cv.Focus(o)
		if cv.Focused() != o {
			t.Fatalf("%T cannot take the focus", o)
		}
		h.press(fyne.KeyEscape)
		if h.c.users.form != nil {
			t.Errorf("Escape on a focused %T did not close Add user", o)
			h.c.users.form.dlg.Hide()
		}
	}
	// Enter on a check box submits the form; on Cancel it cancels.
	f := open()
	test.Type(f.name.entry, "nina")
	cv.Focus(f.locked)
	h.press(fyne.KeySpace) // Space is a key and a character
	h.typeText(" ")
	if !f.locked.Checked {
		t.Fatal("Space did not tick Locked")
	}
	h.press(fyne.KeyReturn)
	if h.c.users.form != nil {
		t.Fatal("Enter on a check box did not save")
	}
	if u, err := h.svc.User("nina"); err != nil || !u.Locked {
		t.Fatalf("nina: %+v, %v", u, err)
	}
	f = open()
	test.Type(f.name.entry, "olga")
	cv.Focus(f.cancel)
	h.press(fyne.KeyReturn)
	if h.c.users.form != nil {
		t.Error("Enter on Cancel did not cancel")
	}
	if _, err := h.svc.User("olga"); err == nil {
		t.Error("Enter on Cancel saved the user")
	}

	// The Reprovision dialog: Enter on New code makes a new code, Escape
	// on it or on Close closes the dialog, Enter on Close too.
	h.c.openReprovision("nina")
	d := h.c.reprov
	if d == nil {
		t.Fatal("no Reprovision dialog")
	}
	old := d.issued.Code
	cv.Focus(d.newCode)
	h.press(fyne.KeyReturn)
	if d.issued.Code == old {
		t.Error("Enter on New code made no new code")
	}
	h.press(fyne.KeyEscape)
	if h.c.reprov != nil {
		t.Fatal("Escape on New code did not close the Reprovision dialog")
	}
	h.c.openReprovision("nina")
	cv.Focus(h.c.reprov.closeBtn)
	h.press(fyne.KeyReturn)
	if h.c.reprov != nil {
		t.Error("Enter on Close did not close the Reprovision dialog")
	}
}

// Tab goes through User Management as it reads: the buttons at the top,
// the search box, the column headers, the list, then the actions on the
// selected user. The list used to come first (before Import CSV), and
// Tab from it jumped back up to the top.
func TestKeys_TabOrderOnUsers(t *testing.T) {
	h := newHarness(t)
	h.listUser("pat")
	s := h.c.users
	s.list.Select(0)
	cv := h.win.Canvas()
	cv.Focus(s.importCSV)
	var order []fyne.Focusable
	for range 16 {
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
	want := []fyne.Focusable{s.importCSV, s.add, s.search, s.sortBtns[sortByName], s.list, s.edit, s.reprovision}
	for i := 1; i < len(want); i++ {
		if a, b := pos(want[i-1]), pos(want[i]); a < 0 || b < 0 || a >= b {
			t.Errorf("Tab order: %T %d at %d, %T %d at %d", want[i-1], i-1, a, want[i], i, b)
		}
	}
	cv.Focus(s.list)
	cv.FocusNext()
	if cv.Focused() != s.edit {
		t.Errorf("Tab from the list goes to %T, want Edit", cv.Focused())
	}
}

// After Delete the focus leaves the Delete button, which the deletion
// disables (nothing is selected then): it goes to the users list, or to
// the search box when no user is left. It stayed on the disabled button,
// where keys did nothing.
func TestKeys_FocusAfterDelete(t *testing.T) {
	h := newHarness(t)
	h.listUser("quinn")
	h.listUser("pat")
	s := h.c.users
	cv := h.win.Canvas()
	for _, want := range []fyne.Focusable{s.list, s.search} {
		cv.Focus(s.del)
		h.press(fyne.KeySpace) // Space presses a focused Fyne button
		if s.confirm == nil {
			t.Fatal("Delete… opened no question")
		}
		s.confirm.Confirm()
		f := cv.Focused()
		if f != want {
			t.Errorf("after Delete the focus is on %T, want %T", f, want)
		}
		if d, ok := f.(fyne.Disableable); ok && d.Disabled() {
			t.Error("after Delete the focus is on a disabled control")
		}
		if len(s.shown) > 0 {
			s.list.Select(0)
		}
	}
	if len(s.all) != 0 {
		t.Errorf("%d users left", len(s.all))
	}
}

// Enter on a focused navigation item shows its screen, as Space and a
// click do; it did nothing.
func TestKeys_EnterOnNavigation(t *testing.T) {
	h := newHarness(t)
	cv := h.win.Canvas()
	cv.Focus(h.c.nav)
	last := len(h.c.screens) - 1
	for range last {
		h.press(fyne.KeyDown)
	}
	h.press(fyne.KeyReturn)
	if h.c.body.Objects[0] != h.c.screenContent(last) {
		t.Fatalf("Enter on %q did not show it", h.c.screens[last].title)
	}
	h.press(fyne.KeyUp)
	h.press(fyne.KeyEnter) // the keypad's Enter
	if h.c.body.Objects[0] != h.c.screenContent(last-1) {
		t.Errorf("keypad Enter on %q did not show it", h.c.screens[last-1].title)
	}
	h.press(fyne.KeyUp)
	h.press(fyne.KeySpace)
	if h.c.body.Objects[0] != h.c.screenContent(last-2) {
		t.Errorf("Space on %q did not show it", h.c.screens[last-2].title)
	}
}

// When a search changes the users list's rows, the list's keyboard
// highlight (the row Up, Down and Space act on) goes back to the first
// row. It stayed where it was: after a search leaving fewer rows, Space
// in the list selected nothing, or a user the search did not find.
func TestKeys_SearchResetsListHighlight(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"amy", "ann", "ava", "axel", "bob", "bea"} {
		storetest.MustAddUser(t, h.svc, n, "1357")
	}
	s := h.c.users
	h.waitFor("six users listed", func() bool { return len(s.shown) == 6 })
	cv := h.win.Canvas()
	cv.Focus(s.list)
	for range 4 {
		h.press(fyne.KeyDown) // the highlight on the fifth row, bob
	}
	cv.Focus(s.search)
	h.typeText("b") // bea, bob
	if len(s.shown) != 2 {
		t.Fatalf("%d rows match", len(s.shown))
	}
	cv.Focus(s.list)
	h.press(fyne.KeySpace)
	if r, ok := s.selectedRow(); !ok || r.Name != "bea" {
		t.Errorf("Space after the search selected %q (%v), want the first row, bea", r.Name, ok)
	}
	// Down from there goes to the second row.
	h.press(fyne.KeyDown)
	h.press(fyne.KeySpace)
	if r, _ := s.selectedRow(); r.Name != "bob" {
		t.Errorf("Down, Space selected %q, want bob", r.Name)
	}
}

// Sorting the users list puts its keyboard highlight on the first row,
// as a search does. It stayed on the row number it was on, which the
// sort gave to another user: Space then selected someone else than the
// highlighted user had been.
func TestKeys_SortResetsListHighlight(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"amy", "ann", "ava", "axel", "bob", "bea"} {
		storetest.MustAddUser(t, h.svc, n, "1357")
	}
	s := h.c.users
	h.waitFor("six users listed", func() bool { return len(s.shown) == 6 })
	cv := h.win.Canvas()
	cv.Focus(s.list)
	for range 4 {
		h.press(fyne.KeyDown) // the highlight on the fifth row, bea
	}
	// Shift+Tab to the Username header, Space, Tab back to the list.
	cv.Focus(s.sortBtns[sortByName])
	h.press(fyne.KeySpace) // Z to A: bob, bea, axel, ava, ann, amy
	if s.shown[0].Name != "bob" {
		t.Fatalf("sorted, the first row is %q", s.shown[0].Name)
	}
	cv.Focus(s.list)
	h.press(fyne.KeySpace)
	if r, ok := s.selectedRow(); !ok || r.Name != "bob" {
		t.Errorf("Space after the sort selected %q (%v), want the first row, bob", r.Name, ok)
	}
	h.press(fyne.KeyDown)
	h.press(fyne.KeySpace)
	if r, _ := s.selectedRow(); r.Name != "bea" {
		t.Errorf("Down, Space selected %q, want bea", r.Name)
	}
	// The selection stays on its user through a sort.
	cv.Focus(s.sortBtns[sortByName])
	h.press(fyne.KeySpace) // A to Z again
	if r, _ := s.selectedRow(); r.Name != "bea" {
		t.Errorf("after the sort %q is selected, want bea", r.Name)
	}
}
