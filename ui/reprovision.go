package ui

import (
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
)

// reprovisionDialog issues a provision code for one user and shows it as a
// QR code and as text, with a countdown and the phone's progress.
type reprovisionDialog struct {
	c      *Console
	user   string
	issued core.IssuedCode
	// tickLoop's gen changes with every code and on close, so a tick
	// queued for an older code does nothing.
	tickLoop
	done bool // the code was used, refused, replaced or has expired

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

	newCode, sendMail, closeBtn *widget.Button
	// fullScreen, copyURL and savePNG are in reprovision_actions.go; note
	// says how the last of them went.
	fullScreen, copyURL, savePNG *widget.Button
	note                         *widget.Label
}

// openReprovision creates a provision code for name and shows the dialog.
// One Reprovision dialog is open at a time. A user who already has a
// phone is asked about first: that phone stops working once the new one
// provisions, and nothing is made until the admin says so.
func (c *Console) openReprovision(name string) {
	u, err := c.svc.User(name)
	if err != nil || !u.Provisioned() || u.Disabled {
		// Errors and disabled users get core's sentence at once.
		c.reprovisionNow(name)
		return
	}
	phone := "a phone"
	if u.DeviceOS != "" {
		phone += " (" + u.DeviceOS + ")"
	}
	if !u.ProvisionedAt.IsZero() {
		phone += ", provisioned " + u.ProvisionedAt.Local().Format(dateTimeFormat)
	}
	msg := newNote(u.Name + " already has " + phone + ". It keeps working until the new phone provisions; " +
		"then it stops working and its security strings are revoked.")
	confirm := dialog.NewCustomConfirm("Reprovision "+u.Name+"?", "Make a code", "Cancel", msg, func(ok bool) {
		if ok {
			c.reprovisionNow(name)
		}
	}, c.win)
	c.oldPhone = confirm
	c.pushModal(confirm, func() { confirm.Confirm() })
	confirm.Resize(fyne.NewSize(480, 0))
	confirm.Show()
}

// oldPhoneNote is the Reprovision dialog's reminder for a user who
// already has a phone.
const oldPhoneNote = "The user's current phone stops working once the new one provisions."

// reprovisionNow creates the code and shows the dialog.
func (c *Console) reprovisionNow(name string) {
	if c.reprov != nil {
		c.reprov.dlg.Hide()
	}
	d := &reprovisionDialog{c: c, user: name}
	d.qrImage = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScalePixels}
	d.userLabel = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	d.code = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, SizeName: theme.SizeNameHeadingText, Selectable: true}
	d.where = &widget.Label{Wrapping: fyne.TextWrapWord}
	d.countdown = &widget.Label{}
	d.status = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
	if err := d.issue(); err != nil {
		c.showError(err)
		return
	}

	caption := func(s string) *widget.Label { return &widget.Label{Text: s, Importance: widget.LowImportance} }
	details := container.NewVBox(
		c.tokenChoice(name, choiceStrings, func() { d.dlg.Hide() }), // reprovision_oath.go
		caption("User"), d.userLabel,
		caption("Provision code"), largeText(c, d.code), d.countdown,
		widget.NewSeparator(),
		d.status,
		widget.NewSeparator(),
		d.where,
		d.actions(),
	)
	content := container.NewBorder(nil, nil, container.NewCenter(d.qrImage), nil, details)

	d.closeBtn = widget.NewButton("Close", func() { d.dlg.Hide() })
	d.newCode = widget.NewButtonWithIcon("New code", theme.ViewRefreshIcon(), d.replaceCode)
	d.sendMail = widget.NewButtonWithIcon("Send by email", theme.MailSendIcon(), d.sendByEmail)
	d.dlg = dialog.NewCustomWithoutButtons("Reprovision "+d.issued.User, content, c.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.sendMail, d.newCode, d.closeBtn})
	d.dlg.SetOnClosed(func() {
		d.stop()
		if c.reprov == d {
			c.reprov = nil
		}
	})
	// Escape leaves full screen first, then closes.
	c.pushDialog(d.dlg, d.escape, nil)
	d.dlg.Resize(d.normalSize())
	c.reprov = d
	d.dlg.Show()
}

// issue creates a new code, replacing any pending one, and shows it.
func (d *reprovisionDialog) issue() error { return d.issueWith(d.c.svc.CreateProvisionCode) }

// replaceCode is New code: a new code replaces the one on screen, which
// stops working (core withdraws any message still carrying it), and the
// status line says so.
func (d *reprovisionDialog) replaceCode() {
	if err := d.issue(); err != nil {
		d.c.showError(err)
		return
	}
	d.setStatus(statusReplaced, widget.MediumImportance)
	relayout(d.dlg)
}

// sendByEmail queues a message carrying the code already on screen: same
// code, same expiry, same QR, so a phone that has scanned it still
// works. The status line says where the message goes, or core's sentence
// when it cannot go.
func (d *reprovisionDialog) sendByEmail() {
	if d.done {
		d.setStatus("This code can no longer be used, so it is not sent; use New code first.", widget.WarningImportance)
		relayout(d.dlg)
		return
	}
	ic, err := d.c.svc.MailIssuedCode(d.issued)
	if err != nil {
		// Nothing was queued: the code on screen is as it was.
		d.setStatus(core.ErrorMessage(err), widget.DangerImportance)
		relayout(d.dlg) // the sentence may take more lines
		return
	}
	d.issued = ic
	d.setStatus(mailStatus(ic, "Queued", "; it goes out once mail is set up in Mail Transport."), widget.MediumImportance)
	relayout(d.dlg)
}

// issueWith creates a code with create and shows it.
func (d *reprovisionDialog) issueWith(create func(user string) (core.IssuedCode, error)) error {
	ic, err := create(d.user)
	if err != nil {
		return err
	}
	d.stop()
	d.issued, d.done = ic, false

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
	d.where.SetText(where)
	d.qrImage.Translucency = 0
	d.setStatus(statusWaiting, widget.MediumImportance)
	d.tick()
	d.start()
	if d.dlg != nil {
		// A new code may be longer (the numeric policy changed) and so
		// need a bigger QR code.
		relayout(d.dlg)
	}
	return nil
}

// start runs the countdown for the code on screen.
func (d *reprovisionDialog) start() { d.tickLoop.start(d.c, d.tick) }

// tick updates the countdown from the service clock.
func (d *reprovisionDialog) tick() {
	if d.done {
		return
	}
	left := d.issued.Expires.Sub(d.c.svc.Now())
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
	d.setStatus(status, imp)
	d.countdown.SetText(countdown)
}

func (d *reprovisionDialog) setStatus(text string, imp widget.Importance) {
	d.status.Importance = imp
	d.status.SetText(text)
}

// onEvent follows what happens to this user's code. It runs on the UI
// thread, called by the bridge.
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
		if _, err := d.c.svc.User(d.issued.User); core.ErrorCode(err) == core.CodeNotFound {
			d.finish(statusDeleted, widget.DangerImportance, "")
			d.newCode.Disable()
			d.sendMail.Disable()
		}
	}
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
	dlg     *dialog.CustomDialog
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
	n.dlg = dialog.NewCustom("Provision code for "+ic.User, "Close", content, c.win)
	n.dlg.Resize(fyne.NewSize(520, 0))
	c.notice = n
	n.dlg.Show()
}
