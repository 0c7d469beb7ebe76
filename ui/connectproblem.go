package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The window of a paired console (provisio --connect HOST) that could
// not connect to its server: why, a button to try again and one to pair
// again. It tries again by itself every few seconds, off the UI thread,
// and opens the console as soon as the server answers: a person at the
// helpdesk whose console started while the service was down, or the VPN
// not yet up, need not keep pressing Try again.

// retryEvery is how often the window tries again by itself.
const retryEvery = 5 * time.Second

// ConnectProblemDeps is what the connect-problem window needs from
// package main.
type ConnectProblemDeps struct {
	// Server is HOST:PORT.
	Server string
	// Err is why the first attempt failed.
	Err error
	// Dial connects to the server; it is called off the UI thread (over
	// a network that carries nothing it waits for its timeout). On
	// success open, run on the UI thread, replaces the window's content
	// with the console.
	Dial func() (open func(), err error)
	// Repair forgets the pairing and asks for a new code; it runs on the
	// UI thread, once the person has confirmed.
	Repair func()

	// do runs fn on the UI thread; nil means fyne.Do. Tests queue it.
	do func(fn func())
	// every is how often it tries by itself; 0 means retryEvery.
	every time.Duration
}

// ConnectProblem is the connect-problem window's content.
type ConnectProblem struct {
	deps  ConnectProblemDeps
	msg   *widget.Label
	retry *widget.Button
	// trying is set while an attempt is on its way: one at a time, and
	// the clock skips its turn meanwhile.
	trying bool
	clock  tickLoop
	// repair is the "Pair again" question while it is open: a console
	// that connects meanwhile takes it away, since it answers it.
	repair *askDialog
	// ui hands Dial's answers to the UI thread until Close (bridge.go).
	ui uiThread
}

// ShowConnectProblem fills w with why a paired console could not connect
// to the server, with a button to try again and one to pair again (which
// forgets the pairing first), and starts trying again by itself every
// 5 s. Call Close when the window goes, or the caller replaces its
// content.
func ShowConnectProblem(w fyne.Window, d ConnectProblemDeps) *ConnectProblem {
	p := &ConnectProblem{deps: d}
	p.ui.queue = d.do
	p.msg = widget.NewLabel("")
	p.msg.Wrapping = fyne.TextWrapWord
	p.showError(d.Err)
	keys := newWindowKeys(w)
	p.retry = widget.NewButton("Try again", p.try)
	buttons := container.NewHBox(p.retry, widget.NewButton("Pair again…", func() {
		spec := confirmSpec("Pair again", "This console forgets its pairing with "+d.Server+" and asks for a new code. Continue?", func(ok bool) {
			p.repair = nil
			if ok && !p.ui.closed.Load() {
				p.Close()
				d.Repair()
			}
		})
		spec.guarded = true // Enter alone does not forget the pairing
		p.repair = ask(keys, w, spec)
	}))
	w.SetContent(container.NewPadded(container.NewBorder(nil, buttons, nil, nil, p.msg)))
	if !unpaired(d.Err) {
		p.startClock()
	}
	return p
}

func (p *ConnectProblem) startClock() {
	every := p.deps.every
	if every <= 0 {
		every = retryEvery
	}
	p.clock.start(p.ui.do, every, p.try)
}

// unpaired reports whether the server refused this console's pairing
// (revoked, or a certificate it does not know): trying again cannot
// help, only a new pairing code.
func unpaired(err error) bool { return core.ErrorCode(err) == core.CodeNotPaired }

// showError says why the last attempt failed, and that it tries again,
// or, when the server refused the pairing, how to pair again.
func (p *ConnectProblem) showError(err error) {
	next := "It tries again by itself every few seconds and opens the console as soon as the server answers."
	if unpaired(err) {
		next = "Trying again cannot help: ask an administrator for a new pairing code, then press Pair again… and type it."
	}
	p.msg.SetText("Provisio could not connect to " + p.deps.Server + ":\n\n" + remoteMessage(err) + "\n\n" + next)
}

// try connects off the UI thread, unless an attempt is on its way. Try
// again says "Trying…" and waits disabled meanwhile. It runs on the UI
// thread.
func (p *ConnectProblem) try() {
	if p.trying || p.ui.closed.Load() {
		return
	}
	p.trying = true
	p.retry.SetText("Trying…")
	p.retry.Disable()
	go func() {
		open, err := p.deps.Dial()
		p.ui.do(func() {
			p.trying = false
			if err != nil {
				p.retry.SetText("Try again")
				p.retry.Enable()
				p.showError(err)
				switch {
				case unpaired(err):
					p.clock.stop() // refused every time from now on
				case p.clock.halt == nil:
					p.startClock() // Try again after a refusal, and the server is down now
				}
				return
			}
			p.Close()
			if p.repair != nil {
				p.repair.Hide()
			}
			open()
		})
	}()
}

// Close stops trying; an answer still on its way is dropped.
func (p *ConnectProblem) Close() {
	p.clock.stop()
	p.ui.close()
}

// Message is the sentence shown, for tests.
func (p *ConnectProblem) Message() string { return p.msg.Text }
