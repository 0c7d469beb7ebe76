package ui

import (
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// The status bar under every screen: the server's state, its addresses,
// the Site ID and the counts, and what needs attention (ui.go builds it).

// refreshStatus rewrites the status bar from the server's state, the
// configuration and the users screen's counts.
func (c *Console) refreshStatus() {
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
	urls := c.serverURLs()
	if c.attached() {
		c.serverState.Importance = widget.SuccessImportance
		c.serverState.SetText(AttachedState)
		if c.streamLost {
			c.serverState.Importance = widget.DangerImportance
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
	if h := c.svc.Health(); !h.OK() {
		// A full disk or failing commits: red, with the sentence first.
		c.serverState.Importance = widget.DangerImportance
		c.serverState.SetText("● Server needs attention")
		parts = append(parts, h.Message())
		c.status.Wrapping, c.status.Truncation = fyne.TextWrapWord, fyne.TextTruncateOff
	}
	if len(urls) > 0 {
		parts = append(parts, strings.Join(urls, ", "))
	}
	parts = append(parts, "Site ID "+c.svc.Settings().SiteID)
	if c.users != nil {
		devices, pending := c.users.counts()
		parts = append(parts, plural(devices, "device provisioned", "devices provisioned"),
			plural(pending, "code pending", "codes pending"))
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
				fp := ""
				if c.deps.Certificate != nil {
					fp = c.deps.Certificate().Fingerprint
				}
				// Expired codes leave the pending count and their
				// messages show as withdrawn, together.
				c.do(func() {
					pending.Store(false)
					if fp != "" {
						c.fingerprint = fp
					}
					c.refreshStatus()
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
