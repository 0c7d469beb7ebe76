package ui

import (
	"strings"
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

// The Reprovision dialog's second kind of token (issue #11): an OATH
// token for an authenticator app. The choice between the two sits at the
// top of both dialogs; choosing the other kind closes one and opens the
// other for the same user.

// Choices of the token kind.
const (
	choiceStrings = "Mobile client (security strings)"
	choiceOATH    = "Authenticator app (OATH)"
)

// Labels of the OATH type choice.
const (
	oathTypeTOTP = "Time-based (TOTP)"
	oathTypeHOTP = "Counter-based (HOTP)"
)

// Status lines of the OATH panel.
const (
	oathWaiting   = "Waiting for a code from the app…"
	oathConfirmed = "Token confirmed"
	oathExpired   = "Token expired unconfirmed"
	oathGone      = "This token no longer works: it was revoked, the user was deleted, or they set up a phone meanwhile."
	oathReplaced  = "A newer token was issued for this user (by another console, the command line, or the set-up link sent by email); this one no longer works."
)

// tokenChoice is the "Mobile client / Authenticator app" choice for a
// user's Reprovision dialog, showing current; choosing the other closes
// the dialog (leave) and opens the other kind's. leave returns what to
// withdraw before the authenticator app's token is issued, or nil.
func (c *Console) tokenChoice(user, current string, leave func() *withdrawal) *widget.RadioGroup {
	r := widget.NewRadioGroup([]string{choiceStrings, choiceOATH}, nil)
	r.Horizontal = true
	r.Required = true
	r.SetSelected(current)
	// Whether authenticator apps are turned on is asked as the choice is
	// built, off the UI thread when attached (request.go): an attached
	// console asks for the settings again after a change was saved
	// anywhere, and the choice must not hold the window for it. Chosen
	// before the answer came, the token is asked for as if they were on;
	// the service refuses it with its own sentence if they are not.
	oathOn, known := false, false
	if current != choiceOATH {
		svc := c.svc
		request(c, nil, func() (bool, error) { return svc.Settings().OATH.Enabled, nil }, func(on bool, _ error) {
			oathOn, known = on, true
		})
	}
	r.OnChanged = func(v string) {
		if v == current || v == "" {
			return
		}
		if v == choiceOATH && known && !oathOn {
			c.offerOATH(func(on bool) {
				if !on {
					r.SetSelected(current)
					return
				}
				c.openReprovisionOATH(user, leave())
			})
			return
		}
		w := leave()
		if v == choiceOATH {
			c.openReprovisionOATH(user, w)
		} else {
			c.openReprovision(user)
		}
	}
	return r
}

// offerOATH asks whether to turn on OATH tokens (setting oath.enabled),
// which the console has no other screen for; then reports whether they
// are on.
func (c *Console) offerOATH(then func(on bool)) {
	spec := confirmSpec("Turn on authenticator apps?",
		"Authenticator-app (OATH) tokens are turned off. Turn them on? Agents will then accept "+
			"codes from authenticator apps, and phones looking up the Site ID are told so.",
		func(yes bool) {
			if !yes {
				then(false)
				return
			}
			// Off the UI thread when attached (request.go).
			svc := c.svc
			requestErr(c, c.reprovisionButton(), func() error { return svc.SetSetting("oath.enabled", "yes") }, func(err error) {
				if err != nil {
					c.showError(err)
					then(false)
					return
				}
				then(true)
			})
		})
	// Enter alone does not turn them on: it changes what every agent
	// accepts, and the console has no screen to turn them off.
	spec.confirm, spec.guarded = "Turn on", true
	c.offer = c.ask(spec)
}

// oathDialog issues an OATH token for one user and shows its otpauth://
// QR code, the secret in groups of four for typing, a countdown to the
// deadline for confirming it, and a "Code from the app" field.
type oathDialog struct {
	c      *Console
	user   string
	issued core.OATHIssued
	// deadline is when the token expires on the console's clock
	// (localDeadline, reprovision.go).
	deadline time.Time
	tickLoop
	done bool // confirmed or expired

	dlg    *dialog.CustomDialog
	choice *widget.RadioGroup
	// kind shows choice as the console's radio buttons (keys_widgets.go),
	// which pass Escape on as Fyne's do not.
	kind *radio
	// The choices and buttons are the console's (keys.go): Fyne's drop
	// Escape and Enter.
	oathType  *choice
	digits    *choice
	algorithm *choice
	qrImage   *canvas.Image
	qrCode    *qr.Code
	modules   int
	userLabel *widget.Label
	secret    *widget.Label
	countdown *widget.Label
	status    *widget.Label
	// compat warns of choices some apps ignore (compatNote).
	compat *widget.Label
	// note tells how to go on, naming the phone or app that confirming
	// ends (noteHow, showReplaces).
	note    *widget.Label
	appCode *entry

	confirm, newToken, sendMail, closeBtn *button

	// issues asks for a new token as New token is pressed or a choice
	// changes, the newest choices only (latest), so the QR code shown is
	// the one the choices describe.
	issues *latest[oathIssue]
	// shown counts the tokens shown, so a status asked for an older one
	// is not taken for the one on screen; polling is true while the
	// tick's status is on its way.
	shown   int
	polling bool
	// closed is true once the dialog is closed: an answer that comes
	// later is dropped, and the dialog is not shown again.
	closed bool
}

// oathIssue is what issuing a token answers: the token, and what the
// user logs in with now (showReplaces).
type oathIssue struct {
	is    core.OATHIssued
	st    core.OATHStatus
	stErr error
}

// issueOATH issues a token for user with o and reads the user's status,
// for the note; it is work for request.
func issueOATH(svc core.ConsoleAPI, user string, o core.OATHOptions) (oathIssue, error) {
	is, err := svc.IssueOATH(user, o)
	if err != nil {
		return oathIssue{}, err
	}
	st, stErr := svc.OATHStatus(user)
	return oathIssue{is, st, stErr}, nil
}

// openReprovisionOATH issues a pending OATH token for name and shows it,
// after w, when not nil, withdrew the mobile-client code the dialog left
// showed. An attached console asks both off the UI thread (request.go),
// in that order, and opens the dialog when the token comes, User
// Management's Reprovision disabled meanwhile.
func (c *Console) openReprovisionOATH(name string, w *withdrawal) {
	if c.oath != nil {
		c.oath.dlg.Hide()
	}
	d := &oathDialog{c: c, user: name}
	d.issues = &latest[oathIssue]{c: c, show: func(r oathIssue, err error) {
		if d.closed {
			return
		}
		if err != nil {
			d.setStatus(core.ErrorMessage(err), widget.DangerImportance)
			relayout(d.dlg)
			return
		}
		d.show(r)
	}}
	d.qrImage = &canvas.Image{FillMode: canvas.ImageFillContain, ScaleMode: canvas.ImageScalePixels}
	d.userLabel = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	d.secret = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Selectable: true, Wrapping: fyne.TextWrapWord}
	d.countdown = &widget.Label{}
	d.status = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
	d.compat = &widget.Label{Importance: widget.WarningImportance, Wrapping: fyne.TextWrapWord}
	d.note = newNote("")
	d.oathType = newChoice(c, []string{oathTypeTOTP, oathTypeHOTP}, nil)
	d.oathType.SetSelected(oathTypeTOTP)
	d.digits = newChoice(c, []string{"6", "8"}, nil)
	d.digits.SetSelected("6")
	d.algorithm = newChoice(c, []string{core.OATHSHA1, core.OATHSHA256, core.OATHSHA512}, nil)
	d.algorithm.SetSelected(core.OATHSHA1)
	d.appCode = c.newEntry()
	d.appCode.SetPlaceHolder("123456")
	// Every widget is made before the first token is issued: issuing
	// ticks the countdown, which may end the token's life at once and
	// disable Confirm.
	d.confirm = newButton(c, "Confirm", theme.ConfirmIcon(), d.confirmCode)
	d.appCode.OnSubmitted = func(string) { d.confirmCode() }
	d.confirm.Importance = widget.HighImportance
	svc, o := c.svc, d.options()
	type opened struct {
		oathIssue
		withdrawn error
	}
	request(c, c.reprovisionButton(), func() (opened, error) {
		var r opened
		if w != nil {
			r.withdrawn = w.work()
		}
		var err error
		r.oathIssue, err = issueOATH(svc, name, o)
		return r, err
	}, func(r opened, err error) {
		if w != nil {
			w.done(r.withdrawn)
		}
		if err != nil {
			c.showError(err)
			return
		}
		d.open(r.oathIssue)
	})
}

// open shows the dialog with r, the first token issued.
func (d *oathDialog) open(r oathIssue) {
	c, name := d.c, d.user
	if c.oath != nil {
		c.oath.dlg.Hide() // opened again while this one's token was on its way
	}
	d.show(r)
	d.choice = c.tokenChoice(name, choiceOATH, func() *withdrawal { d.dlg.Hide(); return nil })
	d.kind = keyRadio(c, d.choice)

	caption := func(s string) *widget.Label { return &widget.Label{Text: s, Importance: widget.LowImportance} }
	details := container.NewVBox(
		d.kind,
		// The name without its caption (the title says it too): the
		// column must fit 1280×800 with every note and a refused code.
		d.userLabel,
		newFormGrid(formRow("Type", d.oathType), formRow("Digits", d.digits), formRow("Algorithm", d.algorithm)),
		d.compat,
		caption("Secret, for typing into the app"), d.secret, d.countdown,
		widget.NewSeparator(),
		caption("Code from the app"),
		container.NewBorder(nil, nil, nil, d.confirm, d.appCode),
		d.status,
		widget.NewSeparator(),
		d.note,
	)
	content := container.NewBorder(nil, nil, container.NewCenter(d.qrImage), nil, details)

	d.closeBtn = newButton(c, "Close", nil, func() { d.dlg.Hide() })
	d.newToken = newButton(c, "New token", theme.ViewRefreshIcon(), d.issue)
	d.issues.hold = []fyne.Disableable{d.newToken}
	// A changed choice issues the token it describes at once, so the QR
	// and the secret never disagree with Type, Digits and Algorithm. Set
	// after the first token, so the initial choices issue nothing more.
	reissue := func(string) { d.newToken.OnTapped() }
	d.oathType.OnChanged, d.digits.OnChanged, d.algorithm.OnChanged = reissue, reissue, reissue
	d.sendMail = newButton(c, "Send by email", theme.MailSendIcon(), d.sendByEmail)
	d.dlg = dialog.NewCustomWithoutButtons("Reprovision "+d.issued.User+": authenticator app", content, c.win)
	d.dlg.SetButtons([]fyne.CanvasObject{d.sendMail, d.newToken, d.closeBtn})
	d.dlg.SetOnClosed(func() {
		d.closed = true
		d.stop()
		if c.oath == d {
			c.oath = nil
		}
	})
	c.pushDialog(d.dlg, func() { d.dlg.Hide() }, d.confirmCode)
	d.dlg.Resize(fyne.NewSize(d.qrImage.MinSize().Width+560, 0))
	c.oath = d
	d.dlg.Show()
}

// options reads the type, digits and algorithm choices.
func (d *oathDialog) options() core.OATHOptions {
	o := core.OATHOptions{Kind: core.OATHTOTP, Algorithm: d.algorithm.Selected, Digits: 6}
	if d.oathType.Selected == oathTypeHOTP {
		o.Kind = core.OATHHOTP
	}
	if d.digits.Selected == "8" {
		o.Digits = 8
	}
	return o
}

// issue makes a new pending token with the chosen options, replacing the
// pending one, and shows it; a refusal goes in the status line. An
// attached console asks off the UI thread, for the newest choices only
// (latest).
func (d *oathDialog) issue() {
	svc, user, o := d.c.svc, d.user, d.options()
	d.issues.ask(func() (oathIssue, error) { return issueOATH(svc, user, o) })
}

// show shows r, a token just issued.
func (d *oathDialog) show(r oathIssue) {
	is := r.is
	d.stop()
	d.shown++
	d.issued, d.done = is, false
	d.deadline = localDeadline(d.c.countdownNow(), is.Created, is.Expires) // reprovision.go
	d.qrCode = nil
	if qc, err := qr.Encode(is.URI); err == nil {
		d.qrCode, d.modules = qc, qc.Modules()
	}
	d.drawQR()
	d.userLabel.SetText(is.User)
	if note := compatNote(is.Options); note != "" {
		d.compat.SetText(note)
		d.compat.Show()
	} else {
		d.compat.Hide()
	}
	d.showReplaces(r.st, r.stErr)
	d.secret.SetText(is.SecretText)
	d.appCode.SetText("")
	d.setStatus(oathWaiting, widget.MediumImportance)
	// A token issued while Confirm's request for the last one is on its
	// way (a changed Type) leaves Confirm held until its answer.
	d.c.setEnabled(true, d.confirm)
	d.tick()
	d.start()
	if d.dlg != nil {
		relayout(d.dlg)
	}
}

// noteHow is the note's instruction; noteWiped ends it.
const (
	noteHow = "Scan the QR code with the authenticator app (Google or Microsoft Authenticator, Aegis, FreeOTP…), " +
		"then type the code it shows. The user's first login with the app confirms it too."
	noteWiped = "A token not confirmed in time is wiped."
)

// showReplaces puts in the note what the user logs in with now, which
// keeps working until this token is confirmed and then stops (one token
// per user), as the mobile-client dialog names the phone a new one
// replaces. It said "their current device" for every user, with a phone
// or without.
//
// st is the user's status as read with the token (err if it could not
// be).
func (d *oathDialog) showReplaces(st core.OATHStatus, err error) {
	now := ""
	switch {
	case err != nil || st.State != core.OATHStateConfirmed:
	case st.Kind == "strings":
		now = d.issued.User + "'s phone with security strings"
	default:
		now = d.issued.User + "'s authenticator app (" + strings.ToUpper(st.Kind) + ")"
	}
	if now == "" {
		d.note.SetText(noteHow + " " + noteWiped)
		return
	}
	d.note.SetText(noteHow + " Until then " + now + " keeps working; then it stops. " + noteWiped)
}

// drawQR draws the otpauth:// QR code at the provision QR's size: at
// least minQRSide pixels and whole pixels per module.
func (d *oathDialog) drawQR() {
	if d.qrCode == nil {
		d.qrImage.Image = nil
		d.qrImage.Refresh()
		return
	}
	ppm := max(qr.MinPixelsPerModule, (minQRSide+d.modules-1)/d.modules)
	d.qrImage.Image = d.qrCode.Image(ppm)
	side := float32(d.modules * ppm)
	d.qrImage.SetMinSize(fyne.NewSize(side, side))
	d.qrImage.Refresh()
}

// confirmCode checks the typed code against the pending token. An
// attached console asks off the UI thread (request.go), Confirm disabled
// meanwhile.
func (d *oathDialog) confirmCode() {
	if d.done || d.confirm.Disabled() {
		return // Enter while the code is on its way
	}
	code := strings.TrimSpace(d.appCode.Text)
	svc, user, shown := d.c.svc, d.user, d.shown
	type confirmed struct {
		before, after core.OATHStatus
		afterErr      error
	}
	request(d.c, []fyne.Disableable{d.confirm}, func() (confirmed, error) {
		// What the user has now is what confirming revokes, for the
		// sentence.
		var r confirmed
		r.before, _ = svc.OATHStatus(user)
		err := svc.ConfirmOATH(user, code)
		if err != nil {
			r.after, r.afterErr = svc.OATHStatus(user)
		}
		return r, err
	}, func(r confirmed, err error) {
		if d.closed || d.shown != shown {
			return // closed, or another token issued, meanwhile
		}
		d.confirmed(r.before, r.after, r.afterErr, err)
	})
}

// confirmed shows the answer to confirmCode: err the refusal, with the
// user's status after it (serr if it could not be read); before the
// status before.
func (d *oathDialog) confirmed(before, after core.OATHStatus, serr, err error) {
	if d.done {
		// The tick found the token ended meanwhile; Confirm stayed
		// disabled (finish), and the end has the last word.
		return
	}
	if err != nil {
		// A token replaced by another console's refuses every code of
		// its own: say that, not "check the phone's clock".
		if serr == nil && d.settle(after) {
			return
		}
		// The typed code stays, so it can be corrected.
		msg := core.ErrorMessage(err)
		if ignored := ignoredChoices(d.issued.Options); ignored != "" && core.ErrorCode(err) == core.CodeInvalid {
			msg += " The app may not support " + ignored + ": try TOTP, SHA1, 6 digits."
		}
		d.setStatus(msg, widget.DangerImportance)
		relayout(d.dlg)
		return
	}
	revoked := ""
	switch {
	case before.State != core.OATHStateConfirmed:
	case before.Kind == "strings":
		revoked = "; " + d.issued.User + "'s phone with security strings was revoked"
	default:
		revoked = "; " + d.issued.User + "'s previous authenticator app (" + strings.ToUpper(before.Kind) + ") was revoked"
	}
	// The step the code belongs to is spent (a replay is refused), so the
	// user who tries the same code on the VPN at once needs to know.
	d.finish(oathConfirmed+" in the console"+revoked+". The user logs in with the app's next code (this one is used).",
		widget.SuccessImportance, "The token is in use.")
}

// sendByEmail mails the user the single-use Provision URL that reveals
// this kind of token once on the phone; the secret is not in the mail.
// The token on screen is left pending: whichever is confirmed first wins.
//
// An attached console sends it off the UI thread (request.go), Send by
// email disabled meanwhile.
func (d *oathDialog) sendByEmail() {
	if d.sendMail.Disabled() {
		return
	}
	svc, user, o := d.c.svc, d.user, d.options()
	request(d.c, []fyne.Disableable{d.sendMail}, func() (core.IssuedCode, error) { return svc.MailOATHProvisionCode(user, o) },
		func(ic core.IssuedCode, err error) {
			if !d.closed {
				d.mailed(ic, err)
			}
		})
}

// mailed shows the answer to sendByEmail.
func (d *oathDialog) mailed(ic core.IssuedCode, err error) {
	if err != nil {
		d.setStatus(core.ErrorMessage(err), widget.DangerImportance)
		relayout(d.dlg)
		return
	}
	status := mailStatus(ic, "Set-up link queued", "") + "; opening it on the phone shows this kind of QR code once."
	if ic.MailHeld {
		status += " It goes out once mail is set up in Mail Transport."
	}
	d.setStatus(status, widget.MediumImportance)
	relayout(d.dlg)
}
