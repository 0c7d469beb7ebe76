package ui

import (
	"time"

	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The authenticator-app dialog's life once a token is on screen (split
// from reprovision_oath.go, which builds the dialog and issues the
// token): the countdown, the poll that notices a confirmation made
// outside the console (the user's first login through an agent), what
// became of the token, and the dialog's last status line.

// start runs the countdown for the token on screen.
func (d *oathDialog) start() { d.tickLoop.start(d.c.do, d.c.opts.tick, d.tick) }

// tick updates the countdown and notices a confirmation by the user's
// first login (an agent's), which happens outside the console.
func (d *oathDialog) tick() {
	if d.done {
		return
	}
	d.poll()
	if d.done {
		return // settled by the status, read at once on a console's own store
	}
	// The time left is on the console's clock, the deadline too
	// (localDeadline, countdownNow), so an attached console whose clock
	// is not the service's neither expires a token early nor shows
	// another time.
	left := d.deadline.Sub(d.c.countdownNow())
	if left <= 0 {
		d.finish(oathExpired, widget.WarningImportance, "Use New token to issue another.")
		return
	}
	d.countdown.SetText("Confirm within " + countdown(left) + " (until " + d.deadline.Local().Format("15:04") + ")")
}

// poll asks the service what became of the token on screen, one request
// at a time; an attached console asks off the UI thread (request.go), so
// a silent network does not hold the window at every tick. An answer for
// a token no longer on screen is dropped.
func (d *oathDialog) poll() {
	if d.polling {
		return
	}
	d.polling = true
	svc, user, shown := d.c.svc, d.user, d.shown
	request(d.c, nil, func() (core.OATHStatus, error) { return svc.OATHStatus(user) }, func(st core.OATHStatus, err error) {
		d.polling = false
		if err == nil && !d.done && !d.closed && d.shown == shown {
			d.settle(st)
		}
	})
}

// issuedAt is when the token on screen was issued, by the service's
// clock, like the confirmation time it is compared with.
func (d *oathDialog) issuedAt() time.Time {
	if !d.issued.Created.IsZero() {
		return d.issued.Created
	}
	// A service that does not say: the Self-Reset code validity the token
	// was issued with.
	return d.issued.Expires.Add(-time.Duration(d.c.svc.Settings().SelfReset.CodeValidity) * time.Second)
}

// Fates of the token on screen, as the service's OATHStatus tells them.
const (
	tokenWaiting   = iota // still the pending token
	tokenConfirmed        // confirmed, by the dialog or a first login
	tokenReplaced         // another console (or the CLI) issued a newer one
	tokenGone             // expired, revoked, or ended by a provisioned phone
)

// fate says what became of the token on screen. The service names the
// pending and the confirmed token (OATHStatus.ID, PendingID); a service
// too old to say is judged by the confirmation time, as before.
func (d *oathDialog) fate(st core.OATHStatus) int {
	mine := d.issued.ID
	confirmed := st.State == core.OATHStateConfirmed && st.Kind != "strings"
	if mine != "" && (st.ID != "" || st.PendingID != "") {
		switch {
		case st.ID == mine:
			return tokenConfirmed // by a first login, perhaps another issued since
		case st.Pending != "" && st.PendingID == mine:
			return tokenWaiting
		case st.Pending != "":
			return tokenReplaced // another token waits in its place
		case confirmed && !st.Confirmed.Before(d.issuedAt()):
			return tokenReplaced // another was confirmed in its place
		}
		return tokenGone
	}
	switch {
	case st.Pending != "":
		return tokenWaiting
	case confirmed && !st.Confirmed.Before(d.issuedAt()):
		return tokenConfirmed
	}
	return tokenGone
}

// settle ends the dialog's token when the service says it has ended, and
// reports whether it did.
func (d *oathDialog) settle(st core.OATHStatus) bool {
	switch d.fate(st) {
	case tokenConfirmed:
		d.finish(oathConfirmed+" by the user's first login.", widget.SuccessImportance, "The token is in use.")
	case tokenReplaced:
		d.finish(oathReplaced, widget.WarningImportance, "Use New token to issue another here.")
	case tokenGone:
		// The service expires a token on its own clock, a moment before
		// the countdown here may end.
		if d.deadline.Sub(d.c.countdownNow()) < 2*time.Second {
			d.finish(oathExpired, widget.WarningImportance, "Use New token to issue another.")
		} else {
			d.finish(oathGone, widget.WarningImportance, "Use New token to issue another.")
		}
	default:
		return false
	}
	return true
}

// finish ends the token's life in the dialog. Its key leaves the screen:
// a confirmed token's QR code and key would let anyone passing add the
// user's token to their own phone, and a dead one's only mislead.
func (d *oathDialog) finish(status string, imp widget.Importance, countdown string) {
	d.done = true
	d.stop()
	d.qrImage.Image = nil // its minimum size stays, so nothing moves
	d.qrImage.Refresh()
	if imp == widget.SuccessImportance {
		d.secret.SetText("Hidden now that the token is in use.")
	} else {
		d.secret.SetText("This key no longer works; do not add it to an app.")
	}
	d.note.SetText(noteHow) // the status says what became of the old token
	d.setStatus(status, imp)
	d.countdown.SetText(countdown)
	d.c.setEnabled(false, d.confirm) // and stays so when Confirm's request ends
	if d.dlg != nil {
		relayout(d.dlg) // the status may take more lines than before
	}
}

func (d *oathDialog) setStatus(text string, imp widget.Importance) {
	d.status.Importance = imp
	d.status.SetText(text)
}
