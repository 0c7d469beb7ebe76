package ui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Pairing a remote console (#12): the first time `provisio --connect
// HOST` runs, the window asks for the one-time code the server printed
// (provisio console pair NAME) and shows the fingerprint of the
// certificate the server presents, to compare with the one printed with
// the code. The code is typed here, never given on the command line.

// PairingDeps is what the pairing dialog needs from package main.
type PairingDeps struct {
	// Server is HOST:PORT.
	Server string
	// Probe connects and returns the SHA-256 fingerprint of the
	// certificate the server presents; it is called off the UI thread.
	Probe func() (string, error)
	// Pair sends the code to the server shown by Probe and keeps the
	// identity it gets; it is called off the UI thread.
	Pair func(code string) error
	// Paired runs on the UI thread once Pair succeeded.
	Paired func()
	// Quit closes the program.
	Quit func()
	// do runs fn on the UI thread; nil means fyne.Do. Tests queue it.
	do func(fn func())
}

// Pairing is the dialog that pairs a remote console.
type Pairing struct {
	deps    PairingDeps
	win     fyne.Window
	dlg     *dialog.CustomDialog
	fp      *widget.Label
	code    *widget.Entry
	pairBtn *widget.Button
	msg     *widget.Label
	// ui hands the answers of Probe and Pair to the UI thread until the
	// dialog closes (bridge.go).
	ui uiThread
}

// NewPairing shows the pairing dialog in w and starts reading the
// server's fingerprint.
func NewPairing(w fyne.Window, d PairingDeps) *Pairing {
	p := &Pairing{deps: d, win: w}
	p.ui.queue = d.do
	p.fp = &widget.Label{Text: "Connecting to " + d.Server + "…", Wrapping: fyne.TextWrapBreak, TextStyle: fyne.TextStyle{Monospace: true}}
	p.code = widget.NewEntry()
	p.code.SetPlaceHolder("XXXX-XXXX-XXXX")
	p.code.OnSubmitted = func(string) { p.submit() }
	p.pairBtn = widget.NewButton("Pair", p.submit)
	p.pairBtn.Importance = widget.HighImportance
	p.pairBtn.Disable()
	p.msg = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	intro := widget.NewLabel("This console is not paired with " + d.Server + " yet. On the server, an administrator runs\n" +
		"    provisio console pair NAME --role helpdesk\n" +
		"(or uses \"Pair a console…\" on its Server screen) and gives you the pairing code.")
	intro.Wrapping = fyne.TextWrapWord
	check := widget.NewLabel("Certificate of the server you reached (SHA-256). It must be the same as the one shown with the code; if it is not, do not pair: something stands between you and the server.")
	check.Wrapping = fyne.TextWrapWord
	quit := widget.NewButton("Quit", func() {
		p.Close()
		if d.Quit != nil {
			d.Quit()
		}
	})
	content := container.NewVBox(intro, widget.NewSeparator(), check, p.fp, widget.NewSeparator(),
		widget.NewLabel("Pairing code"), p.code, p.msg)
	w.SetContent(container.NewStack(widget.NewLabel("")))
	p.dlg = dialog.NewCustomWithoutButtons("Pair with "+d.Server, content, w)
	p.dlg.SetButtons([]fyne.CanvasObject{quit, p.pairBtn})
	// Once the dialog is gone (paired, or quit), a late answer of Probe
	// or Pair has nothing to show.
	p.dlg.SetOnClosed(p.Close)
	p.dlg.Resize(fyne.NewSize(640, 420))
	p.dlg.Show()
	w.Canvas().Focus(p.code)
	go p.probe()
	return p
}

// probe reads the server's fingerprint; pairing waits for it.
func (p *Pairing) probe() {
	fp, err := p.deps.Probe()
	p.do(func() {
		if err != nil {
			p.fp.SetText("(no answer)")
			p.msg.SetText(remoteMessage(err) + " Check the address and that the server runs, then start the console again.")
			return
		}
		p.fp.SetText(fp)
		p.pairBtn.Enable()
	})
}

// submit sends the code; the dialog stays open with the reason when the
// server refuses it.
func (p *Pairing) submit() {
	code := strings.TrimSpace(p.code.Text)
	if p.pairBtn.Disabled() {
		return
	}
	if code == "" {
		p.msg.SetText("Type the pairing code the server showed.")
		return
	}
	p.pairBtn.Disable()
	p.msg.SetText("")
	go func() {
		err := p.deps.Pair(code)
		p.do(func() {
			if err != nil {
				p.pairBtn.Enable()
				p.msg.SetText(remoteMessage(err))
				return
			}
			p.code.SetText("")
			p.dlg.Hide()
			if p.deps.Paired != nil {
				p.deps.Paired()
			}
		})
	}()
}

// Close drops the answers of Probe and Pair that arrive from now on;
// the window itself belongs to the caller.
func (p *Pairing) Close() { p.ui.close() }

// Fingerprint is the fingerprint shown, for tests.
func (p *Pairing) Fingerprint() string { return p.fp.Text }

// Message is the sentence shown under the code, for tests.
func (p *Pairing) Message() string { return p.msg.Text }

// Enter types code and presses Pair, as a person would.
func (p *Pairing) Enter(code string) {
	p.code.SetText(code)
	p.submit()
}

// remoteMessage is err as a sentence: a core error's own, or the network
// error's text (which names the address and the cause).
func remoteMessage(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	s := err.Error()
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
