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

// pushModal registers an open dialog. It unregisters itself when the
// dialog closes, however that happens.
func (c *Console) pushModal(d dialog.Dialog, submit func()) *modal {
	return c.pushDialog(d, d.Hide, submit)
}

// pushDialog is pushModal for a dialog that closes its own way (one that
// must not close while it works).
func (c *Console) pushDialog(d dialog.Dialog, close, submit func()) *modal {
	m := c.pushOverlay(close, submit)
	d.SetOnClosed(func() { c.popModal(m) })
	return m
}

// pushOverlay registers something that is not a dialog (a full-screen
// pop-up); its owner calls popModal when it goes.
func (c *Console) pushOverlay(close, submit func()) *modal {
	m := &modal{close: close, submit: submit}
	c.modals = append(c.modals, m)
	return m
}

func (c *Console) popModal(m *modal) {
	for i := len(c.modals) - 1; i >= 0; i-- {
		if c.modals[i] == m {
			c.modals = append(c.modals[:i], c.modals[i+1:]...)
			return
		}
	}
}

// escape closes the top dialog, as its Cancel or Close button would.
func (c *Console) escape() bool {
	if n := len(c.modals); n > 0 {
		c.modals[n-1].close()
		return true
	}
	return false
}

// typedKey handles keys that reach the canvas because nothing has focus.
func (c *Console) typedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		c.escape()
	case fyne.KeyReturn, fyne.KeyEnter:
		if n := len(c.modals); n > 0 && c.modals[n-1].submit != nil {
			c.modals[n-1].submit()
		}
	}
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
	c *Console
	// onKey, when set, sees keys first and reports whether it used them.
	onKey func(*fyne.KeyEvent) bool
}

func (c *Console) newEntry() *entry {
	e := &entry{c: c}
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
	if ev.Name == fyne.KeyEscape && e.c != nil && e.c.escape() {
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
	if cs, ok := s.(*desktop.CustomShortcut); ok && e.c != nil && e.c.shortcut(cs) {
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
