package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The main menu (File → Add user… and Quit, Edit → Find user, Help →
// About and Documentation), Ctrl+Q (Cmd+Q on macOS), and the window size
// kept between runs.

// shortcutQuit quits from the keyboard wherever the focus is.
var shortcutQuit = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}

// Preference keys of the window's size. Fyne has no API for a window's
// position, so the window manager places it.
const (
	prefWidth  = "window.width"
	prefHeight = "window.height"
)

// defaultSize is the window's size on first run.
var defaultSize = fyne.NewSize(1280, 800)

// setupMenu installs the main menu and the quit shortcut.
func (c *Console) setupMenu() {
	quit := fyne.NewMenuItem("Quit", c.quit)
	quit.IsQuit = true
	quit.Shortcut = shortcutQuit
	// Ctrl+N and Ctrl+F are in the menu so that people find them; the
	// menu shows the keys. The items do what the keys do (shortcut), and
	// like them wait while a dialog is open.
	add := fyne.NewMenuItem("Add user…", func() { c.shortcut(shortcutNewUser) })
	add.Shortcut = shortcutNewUser
	find := fyne.NewMenuItem("Find user", func() { c.shortcut(shortcutFind) })
	find.Shortcut = shortcutFind
	c.menu = fyne.NewMainMenu(
		fyne.NewMenu("File", add, fyne.NewMenuItemSeparator(), quit),
		fyne.NewMenu("Edit", find),
		fyne.NewMenu("Help",
			fyne.NewMenuItem("Documentation", c.openDocs),
			fyne.NewMenuItem("About Provisio", c.showAbout),
		),
	)
	c.win.SetMainMenu(c.menu)
	c.win.Canvas().AddShortcut(shortcutQuit, func(fyne.Shortcut) { c.shortcut(shortcutQuit) })
	// Closing the window goes the way of Quit: it asks first when a
	// form holds unsaved changes, and saves the window's size.
	c.win.SetCloseIntercept(c.quit)
}

// quit ends the program, first asking when forms hold changes not yet
// applied (the screens the navigation marks "(unsaved)"): "Quit and lose
// unsaved changes to …?" with Quit and Cancel. File → Quit, Ctrl+Q and the
// window's close button all come here.
func (c *Console) quit() {
	c.refreshUnsaved()
	names := c.unsavedScreens()
	if len(names) == 0 {
		c.quitNow()
		return
	}
	if c.quitAsk != nil {
		return // already asking
	}
	msg := &widget.Label{Text: "Quit and lose unsaved changes to " + joinAnd(names) + "?", Wrapping: fyne.TextWrapWord}
	// Enter alone does not quit: losing changes takes Quit itself.
	c.quitAsk = c.ask(askSpec{title: "Unsaved changes", content: msg, confirm: "Quit", dismiss: "Cancel", guarded: true,
		answer: func(ok bool) {
			c.quitAsk = nil
			if ok {
				c.quitNow()
			}
		}})
	fitWidth(c.quitAsk, 480)
}

// unsavedScreens are the titles of the screens with unsaved changes, in
// navigation order.
func (c *Console) unsavedScreens() []string {
	var out []string
	for _, s := range c.screens {
		if s.content != nil && c.unsaved[s.content] {
			out = append(out, s.title)
		}
	}
	return out
}

// joinAnd lists names as "A", "A and B" or "A, B and C".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// quitNow remembers the window's size and ends the program.
func (c *Console) quitNow() {
	c.saveWindowSize()
	if c.opts.quit != nil {
		c.opts.quit()
		return
	}
	c.app.Quit()
}

// restoreWindowSize sizes the window as it was when the console last
// closed, or at defaultSize.
func (c *Console) restoreWindowSize() {
	p := c.app.Preferences()
	w := p.FloatWithFallback(prefWidth, float64(defaultSize.Width))
	h := p.FloatWithFallback(prefHeight, float64(defaultSize.Height))
	// A damaged or tiny value must not make an unusable window.
	if w < 640 || h < 400 || w > 16384 || h > 16384 {
		w, h = float64(defaultSize.Width), float64(defaultSize.Height)
	}
	c.win.Resize(fyne.NewSize(float32(w), float32(h)))
}

// saveWindowSize stores the window's size in Fyne's preferences, unless
// it is full screen (the Reprovision dialog's QR view).
func (c *Console) saveWindowSize() {
	if c.win.FullScreen() {
		return
	}
	s := c.win.Canvas().Size()
	if s.Width < 1 || s.Height < 1 {
		return
	}
	p := c.app.Preferences()
	p.SetFloat(prefWidth, float64(s.Width))
	p.SetFloat(prefHeight, float64(s.Height))
}

// about is the About box, kept for tests.
type about struct {
	dlg         *askDialog
	fingerprint *widget.Label
	copyFP      *button
}

// showAbout shows the version, the data directory and the full
// fingerprint of the certificate served now, which can be selected or
// copied.
func (c *Console) showAbout() {
	c.followCertificate()
	a := &about{}
	version := c.deps.Version
	if version == "" {
		version = "development build"
	}
	dataDir := c.deps.DataDir
	if dataDir == "" {
		dataDir = "unknown"
	}
	a.fingerprint = &widget.Label{Text: c.fingerprintText(), TextStyle: fyne.TextStyle{Monospace: true},
		Wrapping: fyne.TextWrapBreak, Selectable: true}
	a.copyFP = newButton(c, "Copy fingerprint", theme.ContentCopyIcon(), c.copyFingerprint)
	content := container.NewVBox(
		newNote("Provisio provisions mobile authenticators for a small office."),
		newFormGrid(
			formRow("Version", &widget.Label{Text: version, Selectable: true}),
			formRow("Data directory", &widget.Label{Text: dataDir, Wrapping: fyne.TextWrapBreak, Selectable: true}),
			formRow("Certificate SHA-256", a.fingerprint),
		),
		container.NewHBox(a.copyFP),
	)
	a.dlg = c.ask(askSpec{title: "About Provisio", content: content, dismiss: "Close"})
	fitWidth(a.dlg, 640)
	c.aboutBox = a
}

// fingerprintText is the certificate's fingerprint, or "unknown".
func (c *Console) fingerprintText() string {
	if c.fingerprint == "" {
		return "unknown"
	}
	return c.fingerprint
}

// copyFingerprint puts the certificate's fingerprint on the clipboard, so
// it can be compared with what a phone or agent shows.
func (c *Console) copyFingerprint() {
	if c.fingerprint == "" {
		return
	}
	c.app.Clipboard().SetContent(c.fingerprint)
	c.app.SendNotification(fyne.NewNotification("Provisio", "Certificate fingerprint copied."))
}

// openDocs opens the documentation the composition root found (the README
// next to the program), or says where it is.
func (c *Console) openDocs() {
	if u := c.deps.Documentation; u != nil {
		if err := c.app.OpenURL(u); err == nil {
			return
		}
	}
	c.showInfo("Documentation", "The documentation is README.md in the Provisio package and at the top of its "+
		"source code; `provisio --help` lists the commands.")
}
