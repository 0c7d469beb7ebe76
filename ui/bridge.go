package ui

import (
	"sync/atomic"

	"fyne.io/fyne/v2"

	"provisio/core"
)

// maxBatch caps how many queued events one UI update applies.
const maxBatch = 256

// uiThread hands work from other goroutines to the UI thread for one
// window's content: the console (Console.do: the bridge, the countdowns,
// work done off the UI thread), the attached console (Attached.do), the
// pairing dialog (Pairing.do) and the connect-problem window
// (ConnectProblem's ui). Once closed, work still queued is
// dropped, so nothing touches widgets of a window that is gone. It is the
// only place in this package that calls fyne.Do.
type uiThread struct {
	// queue replaces fyne.Do when set: tests queue the work and run it
	// on the test goroutine, which plays the main thread.
	queue func(fn func())
	// closed is atomic because, once the app has shut down, Fyne runs
	// late fyne.Do work on the calling goroutine.
	closed atomic.Bool
}

// do runs fn on the UI thread unless the window's content has been
// closed by then.
func (u *uiThread) do(fn func()) {
	run := func() {
		if !u.closed.Load() {
			fn()
		}
	}
	if u.queue != nil {
		u.queue(run)
		return
	}
	fyne.Do(run)
}

// close drops work queued from now on and reports whether it was
// already closed.
func (u *uiThread) close() bool { return u.closed.Swap(true) }

// bridge carries core events from the service's bus to the UI thread
// (through Console.do, a uiThread).
type bridge struct {
	events <-chan core.Event
	cancel func()
	done   chan struct{}
}

// subscribe starts collecting events. The bus buffers them until start,
// so the screens can load their data in between without missing a change.
func subscribe(svc core.ConsoleAPI) *bridge {
	ch, cancel := svc.Subscribe()
	return &bridge{events: ch, cancel: cancel, done: make(chan struct{})}
}

// start applies events to the screens on the UI thread until stop. The
// screens must exist by now.
func (c *Console) startBridge() {
	b := c.bridge
	go func() {
		defer close(b.done)
		for e := range b.events {
			batch := []core.Event{e}
			// Take what is already queued as well, so a burst (a busy
			// agent, a bulk change) costs one UI update, not one each.
		more:
			for len(batch) < maxBatch {
				select {
				case e, ok := <-b.events:
					if !ok {
						break more
					}
					batch = append(batch, e)
				default:
					break more
				}
			}
			c.do(func() { c.apply(batch) })
		}
		if c.attached() {
			// The service went away (or the console was closed, which
			// Console.do then ignores): say so instead of going stale.
			c.do(c.lostService)
		}
	}()
}

// stop ends the subscription and waits for the goroutine to finish. UI
// work it already handed over is dropped by Console.do.
func (b *bridge) stop() {
	b.cancel()
	<-b.done
}

// do runs fn on the UI thread unless the console has been closed by then.
// Goroutines in this package (the bridge, the countdowns, the status
// clock, request's work off the UI thread) call it instead of touching
// widgets.
func (c *Console) do(fn func()) { c.ui.do(fn) }

// apply dispatches a batch of events to the screens. It runs on the UI
// thread.
func (c *Console) apply(batch []core.Event) {
	var usersChanged, configChanged, outboxChanged bool
	for _, e := range batch {
		switch e.Kind {
		case core.EventLog:
			if c.log != nil {
				c.log.add(e.Log)
			}
		case core.EventUsersChanged, core.EventProvisioned, core.EventProvisionFailed:
			// A code that dies takes its queued message with it
			// (core withdraws it), so the outbox changes too.
			usersChanged, outboxChanged = true, true
		case core.EventCodeCreated:
			usersChanged, outboxChanged = true, true
			c.codeCreated(e)
		case core.EventConfigChanged:
			configChanged = true
		case core.EventOutboxChanged:
			outboxChanged = true
		case core.EventHealth:
			c.refreshStatus()
			if e.Reason == "" {
				// Healthy again (the event comes only when the message
				// changes): the store may have been out of reach, an
				// etcd site without its quorum, and every screen that
				// read meanwhile shows why it could not. Read them
				// again, as after a lost event stream.
				usersChanged, configChanged, outboxChanged = true, true, true
				c.catchUpReprovision()
				if c.log != nil {
					c.log.gap = true // flush, below, reloads it
				}
			}
		case core.EventConnection:
			c.connection(e.Reason)
			if e.Reason == "" {
				// The stream is open: the first time, or back after an
				// outage whose events were lost. Every screen rereads
				// (a change made before the service listened was never
				// announced), and an open Reprovision dialog learns
				// whether its code was used meanwhile.
				usersChanged, configChanged, outboxChanged = true, true, true
				c.catchUpReprovision()
				if c.log != nil {
					c.log.gap = true // flush, below, reloads it
				}
			}
		case core.EventClientLog:
			if c.clientLog != nil && core.Key(c.clientLog.user) == core.Key(e.User) {
				c.clientLog.reload()
			}
			if f := c.users.form; f != nil && core.Key(f.editing) == core.Key(e.User) {
				f.reloadClientLog()
			}
		}
		if c.reprov != nil {
			c.reprov.onEvent(e)
		}
	}
	if usersChanged {
		c.users.refresh()
	}
	// Profiles count their users and follow the Default's Mobile Client
	// settings.
	// Screens not built yet (ui.go) are skipped: they read everything
	// when they are built.
	if (usersChanged || configChanged) && c.profiles != nil {
		c.profiles.refresh()
	}
	if configChanged {
		c.followCertificate()
		c.refreshStatus()
		for _, f := range []*settingsForm{c.mobile, c.selfReset, c.pin} {
			if f != nil {
				f.configChanged()
			}
		}
		if c.server != nil {
			c.server.configChanged()
		}
		if c.backups != nil {
			c.backups.configChanged()
		}
		if c.agents != nil {
			c.agents.refresh()
		}
		if c.transport != nil {
			c.transport.configChanged()
		}
		c.refreshUnsaved()
	}
	// The outbox screen shows whether mail is set up, so settings count.
	if (outboxChanged || configChanged) && c.outbox != nil {
		c.outbox.refresh()
	}
	if c.log != nil {
		c.log.flush()
	}
}

// followCertificate takes the fingerprint of the certificate the server
// presents now: another server of an etcd site (#16) may have replaced
// it, or the service an attached console works on (#12). Attached, that
// is a request, asked off the UI thread (reread); the status bar's line
// and an open About box follow when it comes. On its own store the
// console has it before followCertificate returns.
func (c *Console) followCertificate() {
	if c.deps.Certificate != nil {
		c.certReads.ask(func() (certRead, error) { return c.readCertificate(), nil })
	}
}

// certRead is the fingerprint of the certificate served, as a read found
// it, and the count the read started at (Console.certAsked).
type certRead struct {
	fp string
	at uint64
}

// readCertificate reads the fingerprint of the certificate served: a
// request when attached, so it runs off the UI thread there. It needs
// Deps.Certificate.
func (c *Console) readCertificate() certRead {
	info, at := c.certificateInUse()
	return certRead{fp: info.Fingerprint, at: at}
}

// certificateInUse reads the certificate served (Deps.Certificate, which
// it needs), counted as every read of it is (certAsked), for
// certificateRead.
func (c *Console) certificateInUse() (CertInfo, uint64) {
	at := c.certAsked.Add(1)
	return c.deps.Certificate(), at
}

// certificateRead shows the fingerprint a read found (followCertificate,
// the status clock, a pairing code's): the one place a new fingerprint is
// taken, so the status bar's line and an open About box never disagree.
// A read that started before the one shown last is not shown.
func (c *Console) certificateRead(r certRead, _ error) {
	if r.at < c.certShown {
		return
	}
	c.certShown = r.at
	fp := r.fp
	if fp == "" || fp == c.fingerprint {
		return
	}
	c.fingerprint = fp
	c.certLine.SetText("Certificate SHA-256 " + fp)
	if a := c.aboutBox; a != nil {
		a.fingerprint.SetText(fp)
	}
}

// codeCreated raises a notice for a provision code that no person at a
// console or command made (an agent or the self-service pages asked for
// it; Event.Origin says who), when mail cannot carry it: the admin is
// then the only way the code reaches the user.
func (c *Console) codeCreated(e core.Event) {
	if e.Issued == nil {
		return
	}
	switch e.Origin.Kind {
	case core.ActorConsole, core.ActorOperator:
		// Whoever made it has it on screen or on their terminal.
		return
	}
	if e.Issued.MailID != 0 && !e.Issued.MailHeld {
		// The code travels by mail; the Outbox screen follows it.
		return
	}
	c.showAgentCode(*e.Issued)
	// The notification leaves the code out: it may be shown on a lock
	// screen or kept by the desktop's notification history.
	c.app.SendNotification(fyne.NewNotification("Provision code for "+e.Issued.User,
		"An agent created a provision code. Open Provisio to pass it on."))
}

// do runs fn on the UI thread for the attached console (attached.go),
// unless it has closed.
func (at *Attached) do(fn func()) { at.ui.do(fn) }

// do runs fn on the UI thread for the pairing dialog (pairing.go),
// unless it has closed.
func (p *Pairing) do(fn func()) { p.ui.do(fn) }

// connection shows an attached console's connection to the service lost,
// with why, or back when why is "". Open forms and dialogs keep what was
// typed; the stream reconnects by itself (adminapi.Client.Follow).
func (c *Console) connection(why string) {
	c.streamLost = why != ""
	c.streamOpened = c.streamOpened || why == ""
	c.lostWhy = why
	c.refreshStatus()
}

// catchUpReprovision tells an open Reprovision dialog that its code
// provisioned a phone while this console was cut off from the service,
// when the user's record says so. The record is asked off the UI thread
// when attached (request.go): it runs as the connection comes back, on a
// network that may carry nothing again. A dialog closed or replaced
// meanwhile is not touched.
func (c *Console) catchUpReprovision() {
	d := c.reprov
	if d == nil || d.done {
		return
	}
	svc, user := c.svc, d.user
	request(c, nil, func() (core.User, error) { return svc.User(user) }, func(u core.User, err error) {
		if err != nil || d.closed || c.reprov != d {
			return
		}
		at := u.ProvisionedAt
		d.provisionedSince(&at, u.DeviceOS)
	})
}

// lostService tells an attached console's user that changes made
// elsewhere are no longer shown. It runs on the UI thread.
func (c *Console) lostService() {
	c.streamLost = true
	c.lostWhy = attachedLost
	c.refreshStatus()
}
