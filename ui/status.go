package ui

import (
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The full console's status bar: the server's state, where it answers,
// the counts, and the clock that recounts them (split from ui.go, which
// builds the window).

// statusFacts is what the status bar shows that the service is asked
// for.
type statusFacts struct {
	urls   []string // where the server answers; none when it is stopped
	health core.Health
	siteID string
	at     uint64 // Console.statusAsked when the read started; 0 for none
}

// readStatus asks the service for the status bar's facts. Attached, each
// is a request (Settings too, once an event made its copy stale), so it
// runs off the UI thread there (refreshStatus, the status clock).
func (c *Console) readStatus() statusFacts {
	at := c.statusAsked.Add(1)
	return statusFacts{urls: c.serverURLs(), health: c.svc.Health(), siteID: c.svc.Settings().SiteID, at: at}
}

// newerStatus says whether f, read off the UI thread, started after the
// read the bar shows: one answered after a later one is not shown.
func (c *Console) newerStatus(f statusFacts) bool {
	if f.at < c.statusShown {
		return false
	}
	c.statusShown = f.at
	return true
}

// refreshStatus rewrites the status bar from the server's state, the
// configuration and the users screen's counts. An attached console asks
// off the UI thread (request.go, reread): over a network that carries
// nothing a request waits for its timeout, and events and screens ask
// for this on the UI thread; asked again meanwhile, it asks once more
// when the answer comes, not once each. Cut off from the service, it
// shows what it last knew and asks nothing.
func (c *Console) refreshStatus() {
	if c.attached() && c.streamLost {
		c.showStatus(statusFacts{urls: c.shownStatus.urls, siteID: c.shownStatus.siteID})
		return
	}
	c.statusReads.ask(func() (statusFacts, error) { return c.readStatus(), nil })
}

// statusRead shows the answer refreshStatus asked for, unless the
// console was cut off from the service meanwhile: the failed read would
// then replace what it last knew with nothing.
func (c *Console) statusRead(f statusFacts, _ error) {
	if c.attached() && c.streamLost {
		c.refreshStatus()
		return
	}
	if c.newerStatus(f) {
		c.showStatus(f)
	}
}

// showStatus is refreshStatus with the service's facts already asked
// (off the UI thread when attached).
func (c *Console) showStatus(f statusFacts) {
	c.shownStatus = f
	urls, h := f.urls, f.health
	was, wasStatus, wasWrap := c.serverState.Text, c.status.Text, c.status.Wrapping
	defer func() {
		// "● Server needs attention" is wider than "● Server running":
		// without a new layout it was drawn over the sentence beside it.
		if c.stateRow != nil && c.serverState.Text != was {
			c.stateRow.Refresh()
		}
		// A wrapped line may now take more or fewer lines, and the bar
		// with it: the window lays out again.
		if c.root != nil && (c.status.Wrapping != wasWrap || c.status.Wrapping != fyne.TextWrapOff && c.status.Text != wasStatus) {
			relayout(c.root)
		}
	}()
	if c.attached() {
		c.serverState.Importance = widget.SuccessImportance
		c.serverState.SetText(AttachedState)
		if c.streamLost {
			c.serverState.Importance = widget.DangerImportance
			c.serverState.SetText("● Not connected to the Provisio service")
		}
	} else if len(urls) > 0 {
		c.serverState.Importance = widget.SuccessImportance
		c.serverState.SetText("● Server running")
	} else {
		c.serverState.Importance = widget.DangerImportance
		c.serverState.SetText("● Server stopped")
	}
	var parts []string
	// The line is cut to one line, unless the server needs attention:
	// this is the one place the console says why, so the sentence wraps
	// and is read in full (cut, it lost its second half at 1920 px).
	c.status.Wrapping, c.status.Truncation = fyne.TextWrapOff, fyne.TextTruncateEllipsis
	if c.attached() && c.streamLost && c.lostWhy != "" {
		// Why, and that it reconnects, first and wrapped, as for a
		// server that needs attention: on one line beside the state,
		// the sentence made the window wider than a 1280-pixel screen.
		parts = append(parts, c.lostWhy)
		c.status.Wrapping, c.status.Truncation = fyne.TextWrapWord, fyne.TextTruncateOff
	}
	if !h.OK() {
		// A full disk or failing commits: red, with the sentence first.
		c.serverState.Importance = widget.DangerImportance
		c.serverState.SetText("● Server needs attention")
		parts = append(parts, h.Message())
		c.status.Wrapping, c.status.Truncation = fyne.TextWrapWord, fyne.TextTruncateOff
	}
	parts = append(parts, "Site ID "+f.siteID)
	if c.users != nil {
		devices, pending := c.users.counts()
		parts = append(parts, plural(devices, "device provisioned", "devices provisioned"),
			plural(pending, "code pending", "codes pending"))
	}
	// The addresses last: a server with an advertised name and two LAN
	// addresses (an office with a VPN) lists three, and at 1280 px the
	// cut then took the counts; now it takes the last addresses, the
	// advertised one (what phones use) first. The Server screen lists
	// them all.
	if len(urls) > 0 {
		parts = append(parts, strings.Join(urls, ", "))
	}
	fp := c.fingerprint
	if fp == "" {
		fp = "unknown"
	}
	c.status.SetText(strings.Join(parts, "   ·   "))
	c.certLine.SetText("Certificate SHA-256 " + fp)
}

// serverURLs returns where the server answers, none when it is stopped.
func (c *Console) serverURLs() []string {
	if c.deps.ServerURLs == nil {
		return nil
	}
	return c.deps.ServerURLs()
}

// startStatusClock recounts pending codes now and then: codes expire
// without an event. It also asks for the certificate served now, off the
// UI thread: a certificate file renewed in place changes the fingerprint
// without a configuration change.
func (c *Console) startStatusClock() {
	c.haltStatus, c.statusDone = make(chan struct{}), make(chan struct{})
	halt, done := c.haltStatus, c.statusDone
	go func() {
		defer close(done)
		t := time.NewTicker(c.opts.statusTick)
		defer t.Stop()
		// One recount waits for the UI thread at a time: a busy thread
		// (a long import, a slow machine) must not find a pile of them.
		var pending atomic.Bool
		for {
			select {
			case <-t.C:
				select {
				case <-halt:
					// Closed as the tick came: select picks either.
					return
				default:
				}
				if !pending.CompareAndSwap(false, true) {
					continue
				}
				var cert certRead
				if c.deps.Certificate != nil {
					cert = c.readCertificate()
				}
				// Asked here, not on the UI thread: attached, each is a
				// request, which a network that carries nothing keeps
				// waiting for its timeout.
				facts := c.readStatus()
				// Expired codes leave the pending count and their
				// messages show as withdrawn, together.
				c.do(func() {
					pending.Store(false)
					// Like followCertificate's answer: the About box
					// follows too. Each is shown unless a read that
					// started later was shown meanwhile.
					if cert.at != 0 {
						c.certificateRead(cert, nil)
					}
					if c.attached() && c.streamLost {
						c.refreshStatus()
					} else if c.newerStatus(facts) {
						c.showStatus(facts)
					}
					if c.outbox != nil && c.outbox.expiryPassed() {
						c.outbox.refresh()
					}
				})
			case <-halt:
				return
			}
		}
	}()
}
