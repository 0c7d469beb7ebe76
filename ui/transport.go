package ui

import (
	"crypto/tls"
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// passwordUnchanged is the password placeholder while one is saved.
const passwordUnchanged = "(unchanged)"

// Setting keys of the Mail Transport screen.
const (
	keySMTPHost     = "smtp.host"
	keySMTPPort     = "smtp.port"
	keySMTPSecurity = "smtp.security"
	keySMTPUser     = "smtp.username"
	keySMTPPassword = "smtp.password"
	keySMTPFrom     = "smtp.from"
	keySMTPFromName = "smtp.from_name"
	keySMTPPin      = "smtp.tls_fingerprint"

	keyTemplateSubject = "template.provision.subject"
	keyTemplateText    = "template.provision.text"
	keyTemplateHTML    = "template.provision.html"
)

// transportEntryKeys are the text settings of the form in screen order, so
// error messages read top to bottom. The password is handled apart: the
// form never shows it.
var transportEntryKeys = []string{keySMTPHost, keySMTPPort, keySMTPUser, keySMTPFrom, keySMTPFromName}

// Texts of the Mail Transport screen that tests look for.
const (
	msgNothingToApply = "Nothing to apply: the form shows the saved values."
	msgFixFields      = "Not saved: correct the fields marked in red."
	msgSending        = "Sending…"
	msgNoPin          = "Checked against the authorities this computer trusts."
	pinPrefix         = "Only this one is trusted, SHA-256 "
	msgTrusted        = "Trusted. Provisio now accepts this one certificate from the mail server; send the test message again to check."
)

// transportScreen is Mail Transport: the SMTP server provision codes go
// out through, a test message to prove the settings, and the provision
// message template.
type transportScreen struct {
	c *Console
	// tlsConfig is handed to the test message; nil trusts the system's
	// roots. Tests set RootCAs for the capture server's certificate.
	tlsConfig *tls.Config

	host, port, username, password, from, fromName *field
	security                                       *widget.Select
	clearPassword                                  *widget.Check

	// loaded holds the values as last loaded, to tell edits apart;
	// hasPassword says whether a password is saved.
	loaded      map[string]string
	hasPassword bool

	apply, reset *widget.Button
	result       *widget.Label // outcome of the last Apply
	// retryFailed, shown after a save while the Outbox holds failed
	// messages, queues them again: a relay fixed here (its password, its
	// certificate) is the usual reason they failed.
	retryFailed *widget.Button

	testTo     *field
	sendTest   *widget.Button
	testResult *widget.Label
	sending    bool

	// The certificate a test refused, shown to compare and trust
	// (showRefused): its fingerprint, names and validity.
	refused                     core.MailCertificate
	certBox                     *fyne.Container
	certFP, certNames, certDate *widget.Label
	copyCertFP, trustCert       *widget.Button

	// pin shows smtp.tls_fingerprint, the certificate trusted; forgetPin
	// clears it.
	pin       *widget.Label
	forgetPin *widget.Button
	// site is the store as last read (Console.askSite): on an etcd site
	// the pin's sentence names the server that sends the mail.
	site StoreInfo

	template *templateEditor

	// reads asks for the saved settings and the built-in template, one
	// trip at a time (reread); reading is set until an attached
	// console's first answer comes, the form disabled meanwhile.
	reads   *reread[transportRead]
	reading bool

	content fyne.CanvasObject
}

// transportRead is what Mail Transport shows of the service, read in one
// trip: the saved settings, and the built-in provision message that the
// template's empty parts stand for.
type transportRead struct {
	set core.Settings
	def core.MailTemplate
}

func newTransportScreen(c *Console) *transportScreen {
	s := &transportScreen{c: c}
	entry := func(placeholder string) *field { return c.newSubmitField(placeholder, s.applyChanges) }
	s.host = entry("e.g. smtp.example.org")
	s.port = entry("e.g. 587")
	s.username = entry("(optional)")
	pw := c.newPasswordEntry()
	pw.OnSubmitted = func(string) { s.applyChanges() }
	s.password = newInputField(pw)
	s.from = entry("e.g. provisio@example.org")
	s.fromName = entry("e.g. Provisio")

	s.security = widget.NewSelect([]string{core.MailSecurityNone, core.MailSecurityStartTLS, core.MailSecurityTLS}, nil)
	s.security.OnChanged = s.securityChanged
	s.clearPassword = widget.NewCheck("Clear password", func(on bool) {
		// The typed text stays, so unticking brings it back. Loading
		// saved values unticks it while Reset holds the form
		// (setEnabled).
		s.c.setEnabled(!on, s.password.entry)
	})

	s.result = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.apply = widget.NewButton("Apply", s.applyChanges)
	s.apply.Importance = widget.HighImportance
	s.reset = widget.NewButton("Reset", s.resetChanges)
	s.retryFailed = widget.NewButtonWithIcon("Retry failed messages", theme.ViewRefreshIcon(), s.retryFailedMail)
	s.retryFailed.Hide()

	to := c.newEntry()
	to.SetPlaceHolder("e.g. you@example.org")
	to.OnSubmitted = func(string) { s.sendTestMessage() }
	s.testTo = newInputField(to)
	s.sendTest = widget.NewButtonWithIcon("Send test message", theme.MailSendIcon(), s.sendTestMessage)
	s.testResult = &widget.Label{Wrapping: fyne.TextWrapWord}

	s.certFP = &widget.Label{TextStyle: fyne.TextStyle{Monospace: true}, Wrapping: fyne.TextWrapBreak, Selectable: true}
	s.certNames = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.certDate = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.copyCertFP = widget.NewButtonWithIcon("Copy fingerprint", theme.ContentCopyIcon(), func() {
		c.app.Clipboard().SetContent(s.refused.Fingerprint)
	})
	s.trustCert = widget.NewButton("Trust this certificate", s.trustRefused)
	s.certBox = container.NewVBox(
		newSection("The mail server's certificate"),
		newNote("Compare this fingerprint with the one the mail server shows for its certificate (on its admin page, say) before you trust it. "+
			"Provisio then accepts this one certificate from the mail server, whatever name it is for, and refuses any other."),
		newFormGrid(
			formRow("SHA-256", s.certFP),
			formRow("For", s.certNames),
			formRow("Valid", s.certDate),
		),
		container.NewHBox(layout.NewSpacer(), s.copyCertFP, s.trustCert),
	)
	s.certBox.Hide()

	s.pin = &widget.Label{Wrapping: fyne.TextWrapBreak, Selectable: true}
	s.forgetPin = widget.NewButton("Forget", s.forgetPinned)

	s.template = newTemplateEditor(c)

	hint := func(text string) *widget.Label {
		return &widget.Label{Text: text, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	}
	grid := newFormGrid(
		formRow("Server", s.host.box),
		formRow("Port", s.port.box),
		formRow("Security", container.NewVBox(s.security,
			hint("starttls is usually port 587, tls port 465 and none port 25."))),
		formRow("User name", container.NewVBox(s.username.box,
			hint("Leave empty if the server accepts mail without a login."))),
		formRow("Password", container.NewVBox(s.password.box, s.clearPassword)),
		formRow("From address", s.from.box),
		formRow("From name", s.fromName.box),
		formRow("Certificate", container.NewBorder(nil, nil, nil, container.NewVBox(s.forgetPin), s.pin)),
	)
	buttons := container.NewBorder(nil, nil, nil, container.NewHBox(s.retryFailed, s.reset, s.apply), s.result)

	testRow := container.NewBorder(nil, nil, nil, container.NewVBox(s.sendTest), s.testTo.box)
	testBox := container.NewVBox(
		newSection("Send test message"),
		newNote("Sends a short message through the server in the form above, saved or not, and reports the server's answer."),
		newFormGrid(formRow("Send to", testRow)),
		s.testResult,
		s.certBox,
	)

	body := container.NewVBox(
		grid, buttons,
		widget.NewSeparator(), testBox,
		widget.NewSeparator(), s.template.content,
		layout.NewSpacer(),
	)
	top := container.NewVBox(
		newHeading("Mail Transport"),
		newNote("The mail server Provisio sends provision codes through. Messages wait in the Outbox until it answers."),
		widget.NewSeparator(),
	)
	page := newFormScroll(body)
	for _, w := range s.template.wheels {
		w.page = page
	}
	s.content = container.NewBorder(top, nil, nil, nil, page)
	for _, fl := range append(s.fields(), s.testTo) {
		fl.relayout = func() { relayout(s.content) }
	}
	s.template.relayout = func() { relayout(s.content) }
	s.reads = &reread[transportRead]{c: c, show: s.showRead}
	if c.attached() {
		// The first read crosses the network. Until it comes the form
		// is disabled: typed into an empty form and applied, it would
		// replace every saved value with what the form shows.
		s.reading = true
		s.setInputs(false)
		s.showResult(readingSettings, widget.MediumImportance)
	}
	s.reread()
	return s
}

// setInputs enables or disables every field and button of the form, the
// test message and the template.
func (s *transportScreen) setInputs(on bool) {
	s.c.setEnabled(on, append(s.hold(), s.forgetPin, s.sendTest, s.testTo.entry)...)
	s.c.setEnabled(on, s.template.hold()...)
}

// hold is the form's every field and Apply and Reset: what waits disabled
// while an attached console's Apply or Reset is on its way (request.go).
// Its answer puts the saved values in the fields, so a field typed into
// meanwhile would lose what was typed without a word.
func (s *transportScreen) hold() []fyne.Disableable {
	ws := []fyne.Disableable{s.security, s.clearPassword, s.apply, s.reset}
	for _, fl := range s.fields() {
		ws = append(ws, fl.entry)
	}
	return ws
}

// reread asks for the saved settings and the built-in template again.
// An attached console asks off the UI thread (reread), so a burst of
// events holds one request; the screen keeps what it shows until the
// answer comes.
func (s *transportScreen) reread() {
	svc, mail := s.c.svc, s.c.mail()
	s.reads.ask(func() (transportRead, error) { return readTemplate(svc, mail), nil })
}

// showRead shows a read, the form and the template each unless the admin
// is in the middle of editing it: a change typed and not yet applied
// stays. The trusted certificate is not part of the form (Trust and
// Forget save it alone), so it follows even then.
func (s *transportScreen) showRead(r transportRead, _ error) {
	first := s.reading
	if first {
		s.reading = false
		s.setInputs(true)
		s.showResult("", widget.MediumImportance)
	}
	if first || !s.dirty() {
		s.show(r.set.Mail)
	} else {
		s.showPin(r.set.Mail.TLSFingerprint)
	}
	if first || !s.template.dirty() {
		s.template.show(r.set, r.def)
	}
}

// fieldFor maps core's field names (the setting keys) to the entries.
func (s *transportScreen) fieldFor(key string) *field {
	switch key {
	case keySMTPHost:
		return s.host
	case keySMTPPort:
		return s.port
	case keySMTPUser:
		return s.username
	case keySMTPPassword:
		return s.password
	case keySMTPFrom:
		return s.from
	case keySMTPFromName:
		return s.fromName
	}
	return nil
}

func (s *transportScreen) fields() []*field {
	return []*field{s.host, s.port, s.username, s.password, s.from, s.fromName}
}

// values returns what the form shows, as setting text. The password is
// not among them.
func (s *transportScreen) values() map[string]string {
	v := map[string]string{keySMTPSecurity: s.security.Selected}
	for _, k := range transportEntryKeys {
		v[k] = s.fieldFor(k).entry.Text
	}
	return v
}

// show shows m, as saved, and clears errors. The password entry stays
// empty: a saved password is only ever hinted at.
func (s *transportScreen) show(m core.MailSettings) {
	v := map[string]string{
		keySMTPHost:     m.Host,
		keySMTPPort:     strconv.Itoa(m.Port),
		keySMTPSecurity: m.Security,
		keySMTPUser:     m.Username,
		keySMTPFrom:     m.From,
		keySMTPFromName: m.FromName,
	}
	if m.Port == 0 {
		v[keySMTPPort] = ""
	}
	for _, k := range transportEntryKeys {
		s.fieldFor(k).entry.SetText(v[k])
	}
	s.security.OnChanged = nil // loading is not a choice to follow
	s.security.SetSelected(v[keySMTPSecurity])
	s.security.OnChanged = s.securityChanged
	s.loaded = v

	s.hasPassword = m.Password != ""
	s.password.entry.SetText("")
	s.clearPassword.SetChecked(false)
	if s.hasPassword {
		s.password.entry.SetPlaceHolder(passwordUnchanged)
	} else {
		s.password.entry.SetPlaceHolder("(none set)")
	}
	// A read that lands while Reset is on its way shows the saved values
	// too: the box stays held with the form (setEnabled).
	s.c.setEnabled(s.hasPassword, s.clearPassword)
	for _, fl := range s.fields() {
		fl.setError("")
	}
	s.showPin(m.TLSFingerprint)
	// As serverScreen.show: the navigation may mark the draft replaced.
	s.c.refreshUnsaved()
}

// dirty reports whether the admin has edited the form since it loaded.
func (s *transportScreen) dirty() bool {
	for k, v := range s.values() {
		if s.loaded[k] != v {
			return true
		}
	}
	return s.password.entry.Text != "" || s.clearPassword.Checked
}

// securityChanged moves the port along with the security mode while it
// still holds the usual port of the old mode, so choosing "tls" does not
// leave the form pointing at the STARTTLS port.
func (s *transportScreen) securityChanged(mode string) {
	usual := map[string]string{core.MailSecurityNone: "25", core.MailSecurityStartTLS: "587", core.MailSecurityTLS: "465"}
	switch strings.TrimSpace(s.port.entry.Text) {
	case "", "25", "587", "465":
		s.port.entry.SetText(usual[mode])
	}
}

// formValues is what the form shows as setting text, with the password
// when one was typed or the box to clear it ticked.
func (s *transportScreen) formValues() map[string]string {
	vals := s.values()
	switch {
	case s.clearPassword.Checked:
		vals[keySMTPPassword] = ""
	case s.password.entry.Text != "":
		vals[keySMTPPassword] = s.password.entry.Text
	}
	return vals
}

// changes is what the admin changed since the form loaded (changedSince),
// the password only when typed or cleared: all that Apply saves, so a
// setting another console saved meanwhile stays.
func (s *transportScreen) changes() map[string]string {
	ch := changedSince(s.loaded, s.values())
	if p, ok := s.formValues()[keySMTPPassword]; ok {
		ch[keySMTPPassword] = p
	}
	return ch
}

// formSettings is saved, the saved settings, with vals set through core
// at once (Settings.SetValues), which parses and validates them exactly
// as the CLI does.
// Each field that is wrong gets core's sentence; ok is false if any was.
func (s *transportScreen) formSettings(saved core.Settings, vals map[string]string) (set core.Settings, ok bool) {
	set, ok = saved, true
	for _, fl := range s.fields() {
		fl.setError("")
	}
	mark := func(key string, err error) {
		ok = false
		fl := s.fieldFor(key)
		var ce *core.Error
		if errors.As(err, &ce) && s.fieldFor(ce.Field) != nil {
			fl = s.fieldFor(ce.Field)
		}
		if fl == nil {
			s.showResult(core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		fl.setError(core.ErrorMessage(err))
	}
	// All at once, checked on the values the form ends with.
	if err := set.SetValues(vals); err != nil {
		marked := core.FieldErrors(err)
		if len(marked) == 0 {
			mark("", err)
		}
		for _, ce := range marked {
			mark(ce.Field, ce)
		}
	}
	return set, ok
}

// readSettings reads the saved settings and hands them to done: off the
// UI thread when attached (request), hold disabled meanwhile. The copy
// an attached console keeps is a request once a change made it stale.
func (s *transportScreen) readSettings(hold []fyne.Disableable, done func(core.Settings)) {
	svc := s.c.svc
	request(s.c, hold, func() (core.Settings, error) { return svc.Settings(), nil }, func(set core.Settings, _ error) { done(set) })
}

// transportSaved is what a save of the Mail Transport screen reads back
// on its way: the settings as saved, and how many messages in the
// Outbox failed (offerRetry).
type transportSaved struct {
	set    core.Settings
	failed int
}

// saveTransport saves changes and reads back what transportSaved holds,
// as work for request.
func saveTransport(svc core.ConsoleAPI, changes map[string]string) (transportSaved, error) {
	if err := svc.ChangeSettings(changes, "Mail transport"); err != nil {
		return transportSaved{}, err
	}
	r := transportSaved{set: svc.Settings()}
	if msgs, err := svc.Outbox(); err == nil {
		r.failed = countFailed(msgs, svc.Now())
	}
	return r, nil
}

// applyChanges saves the form if every field is right; otherwise it marks
// the fields at fault and keeps everything as typed.
//
// An attached console reads the saved settings for the checks, and
// saves, off the UI thread (request.go), the form disabled with Apply and
// Reset until the answer comes. What is saved is the form as it stood
// when Apply was pressed.
func (s *transportScreen) applyChanges() {
	if s.apply.Disabled() {
		return // Enter in a field while a save is on its way
	}
	if !s.dirty() {
		// Saving the same values would only add a line to the audit log.
		s.showResult(msgNothingToApply, widget.MediumImportance)
		return
	}
	s.showResult("", widget.MediumImportance)
	changes := s.changes()
	hold := s.hold()
	s.readSettings(hold, func(saved core.Settings) {
		set, ok := s.formSettings(saved, changes)
		if !ok {
			if s.result.Text == "" {
				s.showResult(msgFixFields, widget.DangerImportance)
			}
			return
		}
		s.save(hold, set, changes)
	})
}

// save saves changes, which set (the saved settings with them) passed,
// and shows the outcome.
func (s *transportScreen) save(hold []fyne.Disableable, set core.Settings, changes map[string]string) {
	svc := s.c.svc
	request(s.c, hold, func() (transportSaved, error) { return saveTransport(svc, changes) }, func(r transportSaved, err error) {
		if err != nil {
			var ce *core.Error
			if errors.As(err, &ce) && s.fieldFor(ce.Field) != nil {
				s.fieldFor(ce.Field).setError(ce.Message)
				s.showResult(msgFixFields, widget.DangerImportance)
				return
			}
			s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		s.show(r.set.Mail) // shows values as core normalised them
		if set.Mail.Configured() {
			s.showResult("Saved."+s.offerRetry(r.failed), widget.SuccessImportance)
		} else {
			s.showResult("Saved. Mail goes out once the server and the From address are filled in.", widget.WarningImportance)
		}
	})
}

// resetChanges puts back the saved values, read again (off the UI thread
// when attached, the form disabled with Reset and Apply until they come).
func (s *transportScreen) resetChanges() {
	if s.reset.Disabled() {
		return
	}
	s.readSettings(s.hold(), func(set core.Settings) {
		s.show(set.Mail)
		s.retryFailed.Hide()
		s.showResult("", widget.MediumImportance)
	})
}

func (s *transportScreen) showResult(msg string, imp widget.Importance) {
	s.result.Importance = imp
	s.result.SetText(msg)
}

// configChanged follows settings saved elsewhere (the CLI, first-run
// setup) unless the admin is in the middle of editing (showRead), which
// is decided when the answer comes.
func (s *transportScreen) configChanged() { s.reread() }
