package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// Keyboard handling: Escape closes the top dialog, Enter submits it, and
// the console's shortcuts work wherever the focus is.
//
// Fyne hands keys to the focused widget first and to the canvas only when
// nothing has the focus, and dialogs do not react to Escape themselves.
// So dialogs register here, and the console's entries (entry below) pass
// Escape and unknown Ctrl shortcuts on instead of swallowing them.

// Shortcuts of the console. Ctrl on Linux and Windows, Cmd on macOS.
var (
	shortcutFind    = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutNewUser = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
)

// modal is an open dialog or overlay the keyboard can act on.
type modal struct {
	close  func() // Escape
	submit func() // Enter when no entry has the focus; nil: nothing
}

// dialogKeys is a window's open dialogs, top last, for Escape and Enter.
// The full console and the attached console each have one.
type dialogKeys struct {
	modals []*modal
}

// pushModal registers an open dialog. It unregisters itself when the
// dialog closes, however that happens.
func (k *dialogKeys) pushModal(d dialog.Dialog, submit func()) *modal {
	return k.pushDialog(d, d.Hide, submit)
}

// pushDialog is pushModal for a dialog that closes its own way (one that
// must not close while it works).
func (k *dialogKeys) pushDialog(d dialog.Dialog, close, submit func()) *modal {
	m := k.pushOverlay(close, submit)
	d.SetOnClosed(func() { k.popModal(m) })
	return m
}

// pushOverlay registers something that is not a dialog (a full-screen
// pop-up); its owner calls popModal when it goes.
func (k *dialogKeys) pushOverlay(close, submit func()) *modal {
	m := &modal{close: close, submit: submit}
	k.modals = append(k.modals, m)
	return m
}

// hasModal reports whether m is still open.
func (k *dialogKeys) hasModal(m *modal) bool {
	for _, o := range k.modals {
		if o == m {
			return true
		}
	}
	return false
}

func (k *dialogKeys) popModal(m *modal) {
	for i := len(k.modals) - 1; i >= 0; i-- {
		if k.modals[i] == m {
			k.modals = append(k.modals[:i], k.modals[i+1:]...)
			return
		}
	}
}

// escape closes the top dialog, as its Cancel or Close button would.
func (k *dialogKeys) escape() bool {
	if n := len(k.modals); n > 0 {
		k.modals[n-1].close()
		return true
	}
	return false
}

// enter submits the top dialog, if it has a default action; it reports
// whether a dialog is open (which then takes the key either way).
func (k *dialogKeys) enter() bool {
	n := len(k.modals)
	if n == 0 {
		return false
	}
	if k.modals[n-1].submit != nil {
		k.modals[n-1].submit()
	}
	return true
}

// typedKey handles keys that reach the canvas because nothing has focus.
func (k *dialogKeys) typedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		k.escape()
	case fyne.KeyReturn, fyne.KeyEnter:
		k.enter()
	}
}

// keyTarget is where the console's controls pass the keys they do not
// use themselves: a window's dialogs and shortcuts.
type keyTarget interface {
	escape() bool
	enter() bool
	shortcut(*desktop.CustomShortcut) bool
}

// setupKeys installs the canvas handlers and the shortcuts.
func (c *Console) setupKeys() {
	cv := c.win.Canvas()
	cv.SetOnTypedKey(c.typedKey)
	cv.AddShortcut(shortcutFind, func(fyne.Shortcut) { c.shortcut(shortcutFind) })
	cv.AddShortcut(shortcutNewUser, func(fyne.Shortcut) { c.shortcut(shortcutNewUser) })
}

// shortcut runs one of the console's shortcuts and reports whether s was
// one. Shortcuts wait while a dialog is open: Ctrl+N over the Add dialog
// must not open a second one.
func (c *Console) shortcut(s *desktop.CustomShortcut) bool {
	switch s.ShortcutName() {
	case shortcutFind.ShortcutName():
		if len(c.modals) == 0 {
			c.showScreen(c.users.content)
			c.win.Canvas().Focus(c.users.search)
		}
	case shortcutQuit.ShortcutName():
		// Quitting works over dialogs and from inside entries too.
		c.quit()
	case shortcutNewUser.ShortcutName():
		if len(c.modals) == 0 {
			c.showScreen(c.users.content)
			c.users.openForm(nil)
		}
	default:
		return false
	}
	return true
}

// entry is the console's text entry: a widget.Entry that passes Escape
// and the console's shortcuts on to the console.
type entry struct {
	widget.Entry
	k keyTarget
	// onKey, when set, sees keys first and reports whether it used them.
	onKey func(*fyne.KeyEvent) bool
}

func (c *Console) newEntry() *entry { return newKeyEntry(c) }

// newKeyEntry makes an entry that passes keys on to k.
func newKeyEntry(k keyTarget) *entry {
	e := &entry{k: k}
	e.ExtendBaseWidget(e)
	return e
}

func (c *Console) newPasswordEntry() *entry {
	e := c.newEntry()
	e.Password = true // the entry adds its reveal button itself
	return e
}

func (c *Console) newMultiLineEntry() *entry {
	e := c.newEntry()
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	return e
}

// TypedKey closes the top dialog on Escape.
func (e *entry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.k != nil && e.k.escape() {
		return
	}
	if e.onKey != nil && e.onKey(ev) {
		return
	}
	e.Entry.TypedKey(ev)
}

// TypedShortcut runs the console's shortcuts; the entry keeps its own
// (copy, paste, undo ...).
func (e *entry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && e.k != nil && e.k.shortcut(cs) {
		return
	}
	e.Entry.TypedShortcut(s)
}

// selectEntry is a widget.SelectEntry (an entry with a list of choices)
// with the console's keys, like entry.
type selectEntry struct {
	widget.SelectEntry
	c *Console
}

func (c *Console) newSelectEntry(options []string) *selectEntry {
	e := &selectEntry{c: c}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.SetOptions(options)
	// The button that opens the list is Fyne's, made by SetOptions, and
	// it dropped Escape (select_entry.go:97): the console's does the same
	// and passes the keys on. SetOptions keeps an ActionItem once set.
	if b, ok := e.ActionItem.(*widget.Button); ok {
		own := newButton(c, "", b.Icon, b.OnTapped)
		own.Importance = b.Importance
		e.ActionItem = own
	}
	return e
}

// TypedKey closes the top dialog on Escape.
func (e *selectEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.c != nil && e.c.escape() {
		return
	}
	e.SelectEntry.TypedKey(ev)
}

// TypedShortcut runs the console's shortcuts.
func (e *selectEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && e.c != nil && e.c.shortcut(cs) {
		return
	}
	e.SelectEntry.TypedShortcut(s)
}

// button is a widget.Button that Enter presses as Space does (Fyne's
// button knows only Space) and that passes Escape on to the window's top
// dialog: a focused button used to swallow it.
type button struct {
	widget.Button
	k keyTarget
}

// newButton makes a button with an optional icon whose keys go to k.
func newButton(k keyTarget, label string, icon fyne.Resource, tapped func()) *button {
	b := &button{k: k}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey presses the button on Enter and closes the top dialog on
// Escape.
func (b *button) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		if b.k != nil && b.k.escape() {
			return
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		b.Button.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
		return
	}
	b.Button.TypedKey(ev)
}

// check is a widget.Check that passes Escape and Enter on to the
// window's top dialog: Escape closes it, Enter submits it.
type check struct {
	widget.Check
	k keyTarget
}

func newCheck(k keyTarget, label string, changed func(bool)) *check {
	c := &check{k: k}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

// TypedKey passes Escape and Enter on to the top dialog.
func (c *check) TypedKey(ev *fyne.KeyEvent) {
	if passDialogKey(c.k, ev) {
		return
	}
	c.Check.TypedKey(ev)
}

// choice is a widget.Select that passes Escape and Enter on to the
// window's top dialog, as check does. (Its open list of options is a
// pop-up of its own, which Escape closes first.)
type choice struct {
	widget.Select
	k keyTarget
}

func newChoice(k keyTarget, options []string, changed func(string)) *choice {
	c := &choice{k: k}
	c.Options, c.OnChanged = options, changed
	c.PlaceHolder = "(Select one)"
	c.ExtendBaseWidget(c)
	return c
}

// TypedKey passes Escape and Enter on to the top dialog.
func (c *choice) TypedKey(ev *fyne.KeyEvent) {
	if passDialogKey(c.k, ev) {
		return
	}
	c.Select.TypedKey(ev)
}

// passDialogKey hands Escape or Enter to k's top dialog and reports
// whether one took it.
func passDialogKey(k keyTarget, ev *fyne.KeyEvent) bool {
	if k == nil {
		return false
	}
	switch ev.Name {
	case fyne.KeyEscape:
		return k.escape()
	case fyne.KeyReturn, fyne.KeyEnter:
		return k.enter()
	}
	return false
}

// navList is a List that Enter selects in, as Space and a click do
// (Fyne's List takes Space only), and that passes Escape on to k's top
// dialog (Fyne's dropped it). The navigation is one, and so is the list
// of the Client log dialog.
type navList struct {
	widget.List
	k keyTarget // nil: no dialog to pass Escape to
}

func newNavList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *navList {
	return newKeyList(nil, length, create, update)
}

// newKeyList makes a navList whose Escape goes to k.
func newKeyList(k keyTarget, length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *navList {
	l := &navList{k: k}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey selects the highlighted item on Enter and closes the top
// dialog on Escape.
func (l *navList) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		if l.k != nil && l.k.escape() {
			return
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		ev = &fyne.KeyEvent{Name: fyne.KeySpace}
	}
	l.List.TypedKey(ev)
}

// highlightFirst puts l's keyboard highlight (the row Up, Down and Space
// act on) on the first row. Fyne keeps it private and moves it only by
// Up and Down, so it goes up: by at most rows steps, rows being the most
// the list had since the last call (the highlight is below that), and
// each step once at the top does nothing.
func highlightFirst(l *widget.List, rows int) {
	up := &fyne.KeyEvent{Name: fyne.KeyUp}
	for range rows {
		l.TypedKey(up)
	}
}

// leaveDisabled moves the focus off a control a change just disabled
// (Delete… once its row is gone), where keys did nothing: to list, or to
// empty when the list has no rows left. Fyne leaves the focus where it
// was.
func leaveDisabled(cv fyne.Canvas, list fyne.Focusable, rows int, empty fyne.Focusable) {
	if d, ok := cv.Focused().(fyne.Disableable); !ok || !d.Disabled() {
		return
	}
	if rows > 0 {
		cv.Focus(list)
		return
	}
	cv.Focus(empty)
}
