package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// templateEditor edits the provision message. It shows the template in
// effect, defaults included, and saves a part that matches the built-in
// default as empty, so an improved default in a later version reaches
// every admin who never changed it.
type templateEditor struct {
	c *Console

	subject    *field
	text, html *entry
	loaded     core.MailTemplate
	// def is the built-in provision message as last read with the
	// settings (show): Restore default puts it in the form and Apply
	// compares with it, asking nothing.
	def core.MailTemplate

	restore, reset, apply *widget.Button
	result                *widget.Label
	// relayout is called when a message appears or goes.
	relayout func()

	content fyne.CanvasObject
	// wheels lie over the text and HTML boxes (wheelToPage).
	wheels []*wheelToPage
}

// templateRows is the least height of a template box, in rows.
const templateRows = 8

func newTemplateEditor(c *Console) *templateEditor {
	t := &templateEditor{c: c}
	t.subject = newInputField(c.newEntry())
	t.subject.relayout = func() {
		if t.relayout != nil {
			t.relayout()
		}
	}
	t.text = c.newMultiLineEntry()
	t.text.SetMinRowsVisible(8)
	t.html = c.newMultiLineEntry()
	t.html.TextStyle = fyne.TextStyle{Monospace: true}
	t.html.Wrapping = fyne.TextWrapOff
	t.html.SetMinRowsVisible(8)
	// The boxes grow with their text and pass the wheel to the page.
	for _, e := range []*entry{t.text, t.html} {
		onChanged := e.OnChanged
		e.OnChanged = func(s string) {
			growRows(&e.Entry, templateRows)
			if onChanged != nil {
				onChanged(s)
			}
		}
	}
	t.wheels = []*wheelToPage{newWheelToPage(), newWheelToPage()}

	t.result = &widget.Label{Wrapping: fyne.TextWrapWord}
	t.restore = widget.NewButton("Restore default", t.restoreDefault)
	t.reset = widget.NewButton("Reset", t.resetChanges)
	t.apply = widget.NewButton("Apply", t.applyChanges)
	t.apply.Importance = widget.HighImportance

	note := "Placeholders: {username}, {fullname} (the username when there is no full name), {email}, " +
		"{code} (the provision code), {url} (the Provision URL), {expires} (when the code expires) and " +
		"{fingerprint} (the server certificate's SHA-256 fingerprint, for the phone's certificate warning). " +
		"In the HTML, " + core.MailQRKeyword + " stands for the QR code image, as in <img src=\"" + core.MailQRKeyword + "\">. " +
		"An empty part uses the built-in default."
	buttons := container.NewBorder(nil, nil, nil, container.NewHBox(t.restore, t.reset, t.apply), t.result)
	t.content = container.NewVBox(
		newSection("Provision message"),
		newNote(note),
		newFormGrid(
			formRow("Subject", t.subject.box),
			formRow("Plain text", container.NewStack(t.text, t.wheels[0])),
			formRow("HTML", container.NewStack(t.html, t.wheels[1])),
		),
		buttons,
	)
	// The Mail Transport screen loads it with its own read
	// (transportScreen.reread).
	return t
}

// form returns the template the editor shows.
func (t *templateEditor) form() core.MailTemplate {
	return core.MailTemplate{Subject: t.subject.entry.Text, Text: t.text.Text, HTML: t.html.Text}
}

// put puts tpl in the entries.
func (t *templateEditor) put(tpl core.MailTemplate) {
	t.subject.entry.SetText(tpl.Subject)
	t.text.SetText(tpl.Text)
	t.html.SetText(tpl.HTML)
}

// hold is what waits disabled while the editor's request is on its way:
// its buttons and its parts, which the answer puts the template in effect
// in, so a part typed into meanwhile would lose what was typed without a
// word.
func (t *templateEditor) hold() []fyne.Disableable {
	return []fyne.Disableable{t.apply, t.reset, t.restore, t.subject.entry, t.text, t.html}
}

// readTemplate reads the saved settings and the built-in provision
// message in one trip, as work for request: attached, the built-in
// message is the service's (adminapi's MailTools), a request each time.
func readTemplate(svc core.ConsoleAPI, mail core.MailTools) transportRead {
	return transportRead{set: svc.Settings(), def: mail.DefaultProvisionTemplate()}
}

// show shows the template in effect in set, def standing for its empty
// parts, and clears errors.
func (t *templateEditor) show(set core.Settings, def core.MailTemplate) {
	t.def = def
	t.loaded = set.ProvisionTemplate.WithDefaults(def)
	t.put(t.loaded)
	t.subject.setError("")
	// As serverScreen.show: the navigation may mark the draft replaced.
	t.c.refreshUnsaved()
}

func (t *templateEditor) dirty() bool { return t.form() != t.loaded }

// stored is what the settings keep for one part: "" for the default.
func stored(v, def string) string {
	if strings.TrimSpace(v) == "" || strings.TrimSpace(v) == strings.TrimSpace(def) {
		return ""
	}
	return v
}

// applyChanges saves the parts of the template edited here. The saved
// settings they are checked on, the save and the template read back are
// asked off the UI thread when attached (request.go), the editor disabled
// with Apply, Reset and Restore default until the answer comes (hold);
// what is saved is the form as it stood when Apply was pressed.
func (t *templateEditor) applyChanges() {
	if t.apply.Disabled() {
		return // a save is on its way
	}
	if !t.dirty() {
		t.showResult(msgNothingToApply, widget.MediumImportance)
		return
	}
	t.subject.setError("")
	def := t.def
	values := func(tpl core.MailTemplate) map[string]string {
		return map[string]string{
			keyTemplateSubject: stored(tpl.Subject, def.Subject),
			keyTemplateText:    stored(tpl.Text, def.Text),
			keyTemplateHTML:    stored(tpl.HTML, def.HTML),
		}
	}
	// Only the parts edited here are saved (changedSince): a part another
	// console saved meanwhile stays.
	changes := changedSince(values(t.loaded), values(t.form()))
	svc, mail := t.c.svc, t.c.mail()
	request(t.c, t.hold(), func() (transportRead, error) {
		set := svc.Settings()
		if err := set.SetValues(changes); err != nil {
			return transportRead{}, err
		}
		// The service checks the placeholders (and, attached, is the
		// only one that can).
		if err := svc.ChangeSettings(changes, "Provision message template"); err != nil {
			return transportRead{}, err
		}
		return readTemplate(svc, mail), nil
	}, func(r transportRead, err error) {
		if err != nil {
			for _, ce := range core.FieldErrors(err) {
				if ce.Field == keyTemplateSubject {
					t.subject.setError(ce.Message)
				}
			}
			t.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		t.show(r.set, r.def)
		if !t.loaded.CarriesCode() {
			t.showResult("Saved, but the message shows neither {code} nor {url}, so it gives the user no way to provision.", widget.WarningImportance)
			return
		}
		t.showResult("Saved.", widget.SuccessImportance)
	})
}

// restoreDefault puts the built-in template in the form; Apply saves it.
//
// The built-in template is the one read with the settings (show), so
// this asks nothing.
func (t *templateEditor) restoreDefault() {
	t.put(t.def)
	t.subject.setError("")
	if t.dirty() {
		t.showResult("The built-in default is in the form; Apply saves it.", widget.MediumImportance)
	} else {
		t.showResult("", widget.MediumImportance)
	}
}

// resetChanges puts back the template in effect, read again with the
// built-in one (off the UI thread when attached, the editor disabled
// with its buttons until they come).
func (t *templateEditor) resetChanges() {
	if t.reset.Disabled() {
		return
	}
	svc, mail := t.c.svc, t.c.mail()
	request(t.c, t.hold(), func() (transportRead, error) { return readTemplate(svc, mail), nil }, func(r transportRead, _ error) {
		t.show(r.set, r.def)
		t.showResult("", widget.MediumImportance)
	})
}

func (t *templateEditor) showResult(msg string, imp widget.Importance) {
	t.result.Importance = imp
	t.result.SetText(msg)
	if t.relayout != nil {
		t.relayout()
	}
}
