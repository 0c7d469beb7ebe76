package ui

import (
	"io"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/qr"
)

// spentQRTranslucency fades the QR code of a code that was used, refused,
// replaced or has expired.
const spentQRTranslucency = 0.85

// QR sizing: big enough to scan at arm's length, and never less than
// qr.MinPixelsPerModule pixels per module.
const minQRSide = 360

// Status lines of the Reprovision dialog.
const (
	statusWaiting     = "Waiting for the phone…"
	statusProvisioned = "Device provisioned"
	statusFailed      = "Provision failed: "
	statusExpired     = "Code expired"
	statusSuperseded  = "A newer code was created elsewhere; this one no longer works."
	statusDeleted     = "The user has been deleted; this code no longer works."
	statusReplaced    = "New code made; the previous code no longer works. Waiting for the phone…"
	statusWithdrawn   = "Code withdrawn for the authenticator-app set-up; it no longer works."
)

// reprovisionDialog issues a provision code for one user and shows it as a
// QR code and as text, with a countdown and the phone's progress. The full
// console and the helpdesk console (attached.go) show this same dialog,
// each through its reprovisionHost.
type reprovisionDialog struct {
	host   reprovisionHost
	user   string
	issued core.IssuedCode
	// deadline is when the code expires on host.now's clock: the code's
	// validity by the service's clock (Expires − Created) counted from
	// when it arrived, so a console whose clock is not the service's
	// counts down right (docs/decisions.md).
	deadline time.Time
	// tickLoop's gen changes with every code and on close, so a tick
	// queued for an older code does nothing.
	tickLoop
	done   bool // the code was used, refused, replaced or has expired
	closed bool // the dialog was closed: a code that arrives late is not shown

	dlg       *dialog.CustomDialog
	qrImage   *canvas.Image
	qrCode    *qr.Code // the code on screen, nil if it could not be made
	modules   int      // side of the QR code in modules, quiet zone included
	full      bool     // shown full screen (reprovision_actions.go)
	userLabel *widget.Label
	code      *widget.Label
	where     *widget.Label
	countdown *widget.Label
	status    *widget.Label

	// The buttons take Enter and pass Escape on to the window (keys.go).
	newCode, sendMail, closeBtn *button
	// userDeleted: the user was deleted, and the buttons that make or
	// send a code stay disabled.
	userDeleted bool
	// fullScreen, copyURL and savePNG are in reprovision_actions.go; note
	// says how the last of them went.
	fullScreen, copyURL, savePNG *button
	note                         *widget.Label
}

// reprovisionHost is what the Reprovision dialog needs from the window
// that shows it: the full console's (Console.reprovisionHost) or the
// helpdesk console's (Attached.reprovisionHost).
type reprovisionHost struct {
	win fyne.Window
	// keys are the window's dialogs, which Escape closes (keys.go).
	keys      keyTarget
	theme     fyne.Theme // the window's, for the large code
	clipboard fyne.Clipboard
	// do runs fn on the window's UI thread; the countdown ticks every
	// tick on the clock now.
	do   func(fn func())
	tick time.Duration
	now  func() time.Time
	// create makes a new code for user, replacing any pending one, and
	// hands it to done on the UI thread: at once, or later when it asks
	// the service over the network.
	create func(user string, done func(core.IssuedCode, error))
	// mail queues a message carrying the code on screen and hands what
	// core reported to done on the UI thread: at once, or later when it
	// asks the service over the network. nil when the window cannot, and
	// Send by email is not offered.
	mail func(ic core.IssuedCode, done func(core.IssuedCode, error))
	// saveAs saves a file (files.go).
	saveAs    func(name string, write func(io.Writer, string) error, done func(string, error))
	showError func(error)
	// header is put above the details (the full console's token
	// choice); nil for none.
	header func(d *reprovisionDialog) fyne.CanvasObject
	// gone asks whether user was deleted, on a users-changed event, and
	// hands the answer to done on the UI thread: at once, or later when
	// it asks the service over the network. nil when the window notices
	// otherwise (Attached.refreshUsers).
	gone func(user string, done func(gone bool))
	// opened is called once the dialog is built, before it shows, and
	// closed when it closes.
	opened, closed func(d *reprovisionDialog)
}

// oldPhoneNote is the Reprovision dialog's reminder for a user who
// already has a phone.
const oldPhoneNote = "The user's current phone stops working once the new one provisions."

// oldAppNote is oldPhoneNote for a user whose authenticator app works.
const oldAppNote = "The user's authenticator app stops working once the phone provisions."

// reprovisionNow creates the code and shows the dialog.
func (c *Console) reprovisionNow(name string) {
	if c.reprov != nil {
		c.reprov.dlg.Hide()
	}
	request(c, c.reprovisionButton(), func() (core.IssuedCode, error) { return c.svc.CreateProvisionCode(name) },
		func(ic core.IssuedCode, err error) {
			if err != nil {
				c.showError(err)
				return
			}
			if c.reprov != nil {
				// Another opened meanwhile: one at a time.
				c.reprov.dlg.Hide()
			}
			openReprovisionDialog(c.reprovisionHost(), ic)
		})
}

// reprovisionHost is the full console as the Reprovision dialog's window:
// it asks the service (off the UI thread when attached, request.go),
// mails, saves, offers the authenticator app (which withdraws the code on
// screen), and takes Escape (keys.go).
func (c *Console) reprovisionHost() reprovisionHost {
	asking := &reread[bool]{c: c} // whether the user is gone (gone)
	return reprovisionHost{
		win: c.win, keys: c, theme: c.app.Settings().Theme(), clipboard: c.app.Clipboard(),
		do: c.do, tick: c.opts.tick, now: c.countdownNow,
		// Off the UI thread when attached (request.go).
		create: func(user string, done func(core.IssuedCode, error)) {
			request(c, nil, func() (core.IssuedCode, error) { return c.svc.CreateProvisionCode(user) }, done)
		},
		mail: func(ic core.IssuedCode, done func(core.IssuedCode, error)) {
			request(c, nil, func() (core.IssuedCode, error) { return c.svc.MailIssuedCode(ic) }, done)
		},
		saveAs: c.saveAs, showError: c.showError,
		header: func(d *reprovisionDialog) fyne.CanvasObject {
			// The choice's radio buttons are the console's, which
			// pass Escape and Enter on (keys_widgets.go).
			return keyRadio(c, c.tokenChoice(d.user, choiceStrings, func() *withdrawal { // reprovision_oath.go
				w := c.withdrawal(d)
				d.dlg.Hide()
				return w
			}))
		},
		// Off the UI thread when attached (request.go); a burst of
		// events asks once more when the answer comes, not once each.
		gone: func(user string, done func(bool)) {
			asking.show = func(gone bool, _ error) { done(gone) }
			asking.ask(func() (bool, error) {
				_, err := c.svc.User(user)
				return core.ErrorCode(err) == core.CodeNotFound, nil
			})
		},
		opened: func(d *reprovisionDialog) {
			// Escape leaves full screen first, then closes.
			c.pushDialog(d.dlg, d.escape, nil)
			c.reprov = d
		},
		closed: func(d *reprovisionDialog) {
			if c.reprov == d {
				c.reprov = nil
			}
		},
	}
}

// withdrawal is a request to withdraw a code: work asks the service,
// off the UI thread when attached, and done shows its answer on it.
type withdrawal struct {
	work func() error
	done func(error)
}

// withdrawal withdraws the code d shows, when the admin turns to the
// authenticator app instead: a mobile-client code nobody is going to use
// must not stay pending for its whole validity. It is nil when nothing
// is pending. The authenticator app's dialog runs it before issuing its
// token (openReprovisionOATH), so the two reach the service in order.
func (c *Console) withdrawal(d *reprovisionDialog) *withdrawal {
	if d.done || d.issued.Code == "" {
		return nil // used, refused, replaced or expired: nothing pending
	}
	svc, user, code := c.svc, d.user, d.issued.Code
	return &withdrawal{
		work: func() error { _, err := svc.WithdrawProvisionCode(user, code); return err },
		done: func(err error) {
			if err != nil {
				c.showError(err)
				return
			}
			d.finish(statusWithdrawn, widget.MediumImportance, "")
		},
	}
}

// openReprovisionDialog shows ic, a code just made, in a new Reprovision
// dialog in h's window.
func openReprovisionDialog(h reprovisionHost, ic core.IssuedCode) *reprovisionDialog {
	d := &reprovisionDialog{host: h, user: ic.User}
	// Every widget is made before the code is shown: showing it ticks
	// the countdown, which may end the code's life at once.
	d.qrImage = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScalePixels}
	d.userLabel = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	d.code = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameHeadingText, Selectable: true}
	d.where = &widget.Label{Wrapping: fyne.TextWrapWord}
	d.countdown = &widget.Label{}
	d.status = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
	d.closeBtn = newButton(h.keys, "Close", nil, func() { d.dlg.Hide() })
	d.newCode = newButton(h.keys, "New code", theme.ViewRefreshIcon(), d.replaceCode)
	d.sendMail = newButton(h.keys, "Send by email", theme.MailSendIcon(), d.sendByEmail)

	caption := func(s string) *widget.Label { return &widget.Label{Text: s, Importance: widget.LowImportance} }
	var details []fyne.CanvasObject
	if h.header != nil {
		details = append(details, h.header(d))
	}
	details = append(details,
		caption("User"), d.userLabel,
		caption("Provision code"), largeText(h.theme, d.code), d.countdown,
		widget.NewSeparator(),
		d.status,
		widget.NewSeparator(),
		d.where,
		d.actions(),
	)
	content := container.NewBorder(nil, nil, container.NewCenter(d.qrImage), nil, container.NewVBox(details...))
	d.dlg = dialog.NewCustomWithoutButtons("Reprovision "+ic.User, content, h.win)
	buttons := []fyne.CanvasObject{d.newCode, d.closeBtn}
	if h.mail != nil {
		buttons = append([]fyne.CanvasObject{d.sendMail}, buttons...)
	}
	d.dlg.SetButtons(buttons)
	d.show(ic)
	d.dlg.SetOnClosed(func() {
		d.closed = true
		d.stop()
		if h.closed != nil {
			h.closed(d)
		}
	})
	if h.opened != nil {
		h.opened(d)
	}
	d.dlg.Resize(d.normalSize())
	d.dlg.Show()
	return d
}

// replaceCode is New code: a new code replaces the one on screen, which
// stops working (core withdraws any message still carrying it), and the
// status line says so.
//
// New code waits disabled while the request is on its way (over the
// network it is asked off the UI thread), so a second tap does not make
// a second code.
func (d *reprovisionDialog) replaceCode() {
	if d.newCode.Disabled() {
		return
	}
	d.newCode.Disable()
	d.host.create(d.user, func(ic core.IssuedCode, err error) {
		if d.closed {
			return
		}
		if !d.userDeleted {
			d.newCode.Enable()
		}
		if err != nil {
			d.host.showError(err)
			return
		}
		d.show(ic)
		d.setStatus(statusReplaced, widget.MediumImportance)
		// A new code may be longer (the numeric policy changed) and so
		// need a bigger QR code.
		relayout(d.dlg)
	})
}

// sendByEmail queues a message carrying the code already on screen: same
// code, same expiry, same QR, so a phone that has scanned it still
// works. The status line says where the message goes, or core's sentence
// when it cannot go. Send by email waits disabled while the request is on
// its way (an attached console asks off the UI thread).
func (d *reprovisionDialog) sendByEmail() {
	if d.done {
		d.setStatus("This code can no longer be used, so it is not sent; use New code first.", widget.WarningImportance)
		relayout(d.dlg)
		return
	}
	if d.sendMail.Disabled() {
		return // Enter on a focused button while a send is on its way
	}
	d.sendMail.Disable()
	sent := d.issued
	d.host.mail(sent, func(ic core.IssuedCode, err error) {
		if d.closed {
			return // the dialog is not shown again
		}
		if !d.userDeleted {
			d.sendMail.Enable()
		}
		if err != nil {
			// Nothing was queued: the code on screen is as it was.
			d.setStatus(core.ErrorMessage(err), widget.DangerImportance)
			relayout(d.dlg) // the sentence may take more lines
			return
		}
		if d.issued.Code != sent.Code {
			// New code replaced it meanwhile: the message carries a
			// code that no longer works, which core withdraws; the
			// status line keeps saying so.
			return
		}
		d.issued = ic // the same code: the deadline stays
		d.setStatus(mailStatus(ic, "Queued", "; it goes out once mail is set up in Mail Transport."), widget.MediumImportance)
		relayout(d.dlg)
	})
}

// show puts ic, a code just made, on screen and starts its countdown.
func (d *reprovisionDialog) show(ic core.IssuedCode) {
	d.stop()
	d.issued, d.done = ic, false
	d.deadline = localDeadline(d.host.now(), ic.Created, ic.Expires)

	d.qrCode = nil
	if qc, err := qr.Encode(ic.URL); err == nil {
		d.qrCode, d.modules = qc, qc.Modules()
	}
	d.drawQR()

	d.userLabel.SetText(ic.User)
	d.code.SetText(groupCode(ic.Code))
	where := "Scan the QR code with the phone's camera"
	if ic.Server != "" {
		where += ", or enter server " + ic.Server + ", Site ID " + ic.SiteID + " and the code in the mobile client"
	}
	where += "."
	if ic.ReplacesDevice {
		where += " " + oldPhoneNote
	}
	if ic.ReplacesApp != "" {
		where += " " + oldAppNote
	}
	d.where.SetText(where)
	d.qrImage.Translucency = 0
	d.copyURL.Enable()
	d.savePNG.Enable()
	d.setStatus(statusWaiting, widget.MediumImportance)
	d.tick()
	d.start()
}

// localDeadline is when a code expires on the console's clock: it was
// made at created and expires at expires, both by the service's clock,
// and arrived at now by the console's. The code's validity is counted
// from its arrival, so the two clocks need not agree (the answer's
// journey makes it a moment late, never early by the clocks' skew). A
// service that does not say when it made the code (created zero) leaves
// its expiry as it is.
func localDeadline(now, created, expires time.Time) time.Time {
	if created.IsZero() {
		return expires
	}
	return now.Add(expires.Sub(created))
}

// countdownNow is the clock the full console's Reprovision dialogs count
// a code down on (localDeadline). On its own service it is the service's.
// Attached, it is this machine's, as in the compact window (attached.go):
// the console's estimate of the service's clock may be corrected by
// seconds while a code is on screen (adminapi's serverClock), which would
// move a countdown up; a code's validity counted from its arrival needs
// no estimate.
func (c *Console) countdownNow() time.Time {
	if c.attached() {
		return time.Now()
	}
	return c.svc.Now()
}

// start runs the countdown for the code on screen.
func (d *reprovisionDialog) start() { d.tickLoop.start(d.host.do, d.host.tick, d.tick) }

// tick updates the countdown from the window's clock.
func (d *reprovisionDialog) tick() {
	if d.done {
		return
	}
	left := d.deadline.Sub(d.host.now())
	if left <= 0 {
		d.finish(statusExpired, widget.WarningImportance, "Use New code to make another.")
		return
	}
	d.countdown.SetText("Expires in " + countdown(left))
}

// finish ends the code's life in the dialog: the countdown stops and the
// status says why.
func (d *reprovisionDialog) finish(status string, imp widget.Importance, countdown string) {
	d.done = true
	d.stop()
	// Nobody must scan a spent code: the QR fades and the instruction
	// under it goes.
	d.qrImage.Translucency = spentQRTranslucency
	d.qrImage.Refresh()
	d.where.SetText("This QR code no longer works; do not scan it.")
	// Nor must it leave the console as a URL or a picture to pass on.
	d.copyURL.Disable()
	d.savePNG.Disable()
	d.setStatus(status, imp)
	d.countdown.SetText(countdown)
	// The status may now take more lines than the dialog gave it (a
	// long device description): without a new layout it ran over the
	// line below, as the authenticator-app dialog's did.
	relayout(d.dlg)
}

func (d *reprovisionDialog) setStatus(text string, imp widget.Importance) {
	d.status.Importance = imp
	d.status.SetText(text)
}

// onEvent follows what happens to this user's code. It runs on the UI
// thread, called by the bridge (or the helpdesk console's apply).
func (d *reprovisionDialog) onEvent(e core.Event) {
	if core.Key(e.User) != core.Key(d.issued.User) {
		return
	}
	switch e.Kind {
	case core.EventProvisioned:
		s := statusProvisioned
		if e.DeviceOS != "" {
			s += " (" + e.DeviceOS + ")"
		}
		d.finish(s, widget.SuccessImportance, "The code has been used.")
	case core.EventProvisionFailed:
		if d.done {
			return
		}
		// Every attempt spends the code, right or wrong.
		d.finish(statusFailed+e.Reason, widget.DangerImportance, "This code can no longer be used; use New code.")
	case core.EventCodeCreated:
		if e.Issued != nil && e.Issued.Code != d.issued.Code && !d.done {
			d.finish(statusSuperseded, widget.WarningImportance, "Use New code to make another.")
		}
	case core.EventUsersChanged:
		if d.host.gone != nil {
			d.host.gone(d.issued.User, func(gone bool) {
				// A dialog closed meanwhile is not touched.
				if gone && !d.closed {
					d.userGone()
				}
			})
		}
	}
}

// provisionedSince shows "Device provisioned" when the user's phone
// provisioned at at (the service's clock), after this dialog's code was
// made: the code on screen did it, since a newer code would have been
// announced. It is how a console that was cut off from the service
// learns what its lost events said; nil or zero at, or a code of a
// server that does not say when it was made, is nothing to tell.
func (d *reprovisionDialog) provisionedSince(at *time.Time, deviceOS string) {
	if d.done || at == nil || at.IsZero() || d.issued.Created.IsZero() || at.Before(d.issued.Created) {
		return
	}
	d.onEvent(core.Event{Kind: core.EventProvisioned, User: d.issued.User, DeviceOS: deviceOS})
}

// userGone says the user was deleted: the code died with them.
func (d *reprovisionDialog) userGone() {
	d.userDeleted = true
	d.finish(statusDeleted, widget.DangerImportance, "")
	d.newCode.Disable()
	d.sendMail.Disable()
}

// mailStatus says where a mailed code went, from what core reported:
// what ("Queued") for the address, and held when mail is not set up yet.
func mailStatus(ic core.IssuedCode, what, held string) string {
	status := what + " in the outbox"
	if ic.MailTo != "" {
		status = what + " for " + ic.MailTo
	}
	if ic.MailHeld {
		status += held
	}
	return status
}

// codeNotice shows a provision code that an agent created.
type codeNotice struct {
	dlg     *askDialog
	user    *widget.Label
	code    *widget.Label
	expires *widget.Label
}

// showAgentCode tells the admin about a code created outside the console,
// with what they need to pass it on.
func (c *Console) showAgentCode(ic core.IssuedCode) {
	n := &codeNotice{
		user:    &widget.Label{Text: ic.User, TextStyle: fyne.TextStyle{Bold: true}},
		code:    &widget.Label{Text: groupCode(ic.Code), TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameHeadingText, Selectable: true},
		expires: &widget.Label{Text: ic.Expires.Local().Format(dateTimeFormat) + " (in " + countdown(ic.Expires.Sub(c.svc.Now())) + ")"},
	}
	content := container.NewVBox(
		newNote("An agent created a provision code. Until Provisio can send mail, pass it on to the user yourself."),
		newFormGrid(
			formRow("User", n.user),
			formRow("Code", n.code),
			formRow("Expires", n.expires),
		),
	)
	// It opens by itself, over whatever the admin is typing in: Enter
	// alone must not close it unread (askSpec.guarded).
	n.dlg = c.ask(askSpec{title: "Provision code for " + ic.User, content: content, dismiss: "Close", guarded: true})
	fitWidth(n.dlg, 520)
	c.notice = n
}
