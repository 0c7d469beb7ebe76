package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// settingsSpec describes a policy screen by core's dotted setting keys.
type settingsSpec struct {
	title   string      // screen heading
	what    string      // how the audit log names a save, e.g. "Policy Mobile Client"
	note    string      // what admins should know before they apply
	checks  []string    // Yes/No keys
	entries []entrySpec // text keys

	// explain says in one line what the phone or server does with each
	// Yes/No key; it shows under the check box.
	explain map[string]string

	// check, when set, runs on the settings about to be saved after each
	// field parsed: rules that need the file system or an adapter (the
	// backup folder is writable). A *core.Error naming a field marks it.
	check func(core.Settings) error
	// extra is shown below the fields (Server → Backups: the last backup
	// and "Back up now").
	extra fyne.CanvasObject
}

// entrySpec is a text setting with a placeholder and a hint. A
// placeholder is an example and reads as one ("e.g. …"), or is empty: it
// must never look like a value.
type entrySpec struct {
	key, placeholder, hint string
	// label replaces core's setting help as the field's label where that
	// help is a whole sentence written for the command line, which would
	// widen the label column of the whole form; "" uses the help.
	label string
}

// labelText is the field's label.
func (e entrySpec) labelText() string {
	if e.label != "" {
		return e.label
	}
	return core.SettingHelp(e.key)
}

// settingsForm edits a group of settings through core's own parsing and
// validation (Settings.Set), so the console accepts exactly what the CLI
// accepts and shows the same sentences. Labels are core's setting help.
type settingsForm struct {
	c    *Console
	spec settingsSpec
	// note shows spec.note under the heading; a screen may reword it
	// (Server → Backups on an etcd site).
	note *widget.Label

	checks  map[string]*widget.Check
	entries map[string]*field
	loaded  map[string]string // values as last loaded, to tell edits apart

	apply, reset *widget.Button
	result       *widget.Label // outcome of the last Apply

	// reads asks for the saved settings, one trip at a time
	// (configChanged); reading is set until an attached console's first
	// answer comes, the form disabled meanwhile.
	reads   *reread[core.Settings]
	reading bool

	content fyne.CanvasObject
}

// readingSettings is what a settings screen of an attached console says
// until its first read comes.
const readingSettings = "Reading the saved settings from the service…"

func newSettingsForm(c *Console, spec settingsSpec) *settingsForm {
	f := &settingsForm{c: c, spec: spec, checks: map[string]*widget.Check{}, entries: map[string]*field{}}

	var checks []fyne.CanvasObject
	for _, k := range spec.checks {
		f.checks[k] = widget.NewCheck(core.SettingHelp(k), func(bool) { f.edited() })
		checks = append(checks, f.checks[k])
		if e := spec.explain[k]; e != "" {
			checks = append(checks, indented(&widget.Label{Text: e, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}))
		}
	}
	var rows [][]fyne.CanvasObject
	for _, e := range spec.entries {
		en := c.newEntry()
		en.SetPlaceHolder(e.placeholder)
		en.OnSubmitted = func(string) { f.applyChanges() }
		fl := newInputField(en)
		onChanged := en.OnChanged
		en.OnChanged = func(s string) { onChanged(s); f.edited() }
		f.entries[e.key] = fl
		cell := fl.box
		if e.hint != "" {
			cell = container.NewVBox(fl.box, &widget.Label{Text: e.hint, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord})
		}
		rows = append(rows, formRow(e.labelText(), cell))
	}

	f.result = &widget.Label{Wrapping: fyne.TextWrapWord}
	f.apply = widget.NewButton("Apply", f.applyChanges)
	f.apply.Importance = widget.HighImportance
	f.reset = widget.NewButton("Reset", f.resetChanges)

	form := container.NewVBox(container.NewVBox(checks...), widget.NewSeparator(), newFormGrid(rows...))
	if len(checks) == 0 {
		form = container.NewVBox(newFormGrid(rows...))
	}
	if spec.extra != nil {
		form.Add(widget.NewSeparator())
		form.Add(spec.extra)
	}
	buttons := container.NewBorder(nil, nil, nil, container.NewHBox(f.reset, f.apply), f.result)
	f.note = newNote(spec.note)
	top := container.NewVBox(newHeading(spec.title), f.note, widget.NewSeparator())
	f.content = container.NewBorder(top, container.NewVBox(widget.NewSeparator(), buttons), nil, nil,
		newFormScroll(container.NewVBox(form, layout.NewSpacer())))
	for _, fl := range f.entries {
		fl.relayout = func() { relayout(f.content) }
	}
	f.reads = &reread[core.Settings]{c: c, show: f.settingsRead}
	if c.attached() {
		// The first read crosses the network. Until it comes the form
		// is disabled: typed into an empty form and applied, it would
		// replace every saved value with what the form shows.
		f.reading = true
		f.setInputs(false)
		f.showResult(readingSettings, widget.MediumImportance)
	}
	f.reread()
	return f
}

// setInputs enables or disables every field and Apply and Reset.
func (f *settingsForm) setInputs(on bool) { f.c.setEnabled(on, f.hold()...) }

// hold is every field and Apply and Reset: what waits disabled while an
// attached console's Apply or Reset is on its way (request.go). Its
// answer puts the saved values in the fields, so a field typed into
// meanwhile would lose what was typed without a word.
func (f *settingsForm) hold() []fyne.Disableable {
	var ws []fyne.Disableable
	for _, ch := range f.checks {
		ws = append(ws, ch)
	}
	for _, fl := range f.entries {
		ws = append(ws, fl.entry)
	}
	return append(ws, f.apply, f.reset)
}

// reread asks for the saved settings again. An attached console asks off
// the UI thread (reread), so a burst of events holds one request; the
// form keeps what it shows until the answer comes.
func (f *settingsForm) reread() {
	svc := f.c.svc
	f.reads.ask(func() (core.Settings, error) { return svc.Settings(), nil })
}

// settingsRead shows the saved settings read, unless the admin is in the
// middle of editing: a change typed and not yet applied stays.
func (f *settingsForm) settingsRead(set core.Settings, _ error) {
	if f.reading {
		f.reading = false
		f.setInputs(true)
		f.showResult("", widget.MediumImportance)
		f.show(set)
		return
	}
	if !f.dirty() {
		f.show(set)
	}
}

// values returns what the form shows, as setting text.
func (f *settingsForm) values() map[string]string {
	v := map[string]string{}
	for k, ch := range f.checks {
		v[k] = map[bool]string{true: "Yes", false: "No"}[ch.Checked]
	}
	for k, fl := range f.entries {
		v[k] = fl.entry.Text
	}
	return v
}

// show shows set, as saved, and clears errors.
func (f *settingsForm) show(set core.Settings) {
	f.loaded = nil // edited ignores the changes load makes
	loaded := map[string]string{}
	for k, ch := range f.checks {
		v, _ := set.Get(k)
		ch.SetChecked(v == "Yes")
		loaded[k] = v
	}
	for k, fl := range f.entries {
		v, _ := set.Get(k)
		fl.entry.SetText(v)
		fl.setError("")
		loaded[k] = v
	}
	f.loaded = loaded
}

// dirty reports whether the admin has edited the form since it loaded.
// Before the first load there is nothing to edit.
func (f *settingsForm) dirty() bool {
	if f.loaded == nil {
		return false
	}
	for k, v := range f.values() {
		if f.loaded[k] != v {
			return true
		}
	}
	return false
}

// applyChanges sets the fields the admin changed on a copy of the
// settings at once, so rules between fields (the shortest PIN is not
// longer than the longest) are checked on the values the form ends with
// (core's Settings.SetValues); it marks each field that is wrong and
// saves only if all are right. Only the changed keys are saved
// (changedSince), so a key another console saved meanwhile stays.
//
// An attached console reads the saved settings for that check, and
// saves, off the UI thread (request.go), the form disabled with Apply and
// Reset until the answer comes: its copy of the settings is a request
// once a change made it stale. What is saved is the form as it stood
// when Apply was pressed.
func (f *settingsForm) applyChanges() {
	if f.apply.Disabled() {
		return // Enter in a field while a save is on its way
	}
	if !f.dirty() {
		// Saving the same values would only add a line to the audit log.
		f.showResult("Nothing to apply: the form shows the saved values.", widget.MediumImportance)
		return
	}
	for _, fl := range f.entries {
		fl.setError("")
	}
	changes := changedSince(f.loaded, f.values())
	svc := f.c.svc
	request(f.c, f.hold(), func() (core.Settings, error) { return svc.Settings(), nil },
		func(set core.Settings, _ error) { f.checkAndSave(set, changes) })
}

// checkAndSave checks changes on set, the saved settings just read, marks
// each field that is wrong and saves them if all are right.
func (f *settingsForm) checkAndSave(set core.Settings, changes map[string]string) {
	if err := set.SetValues(changes); err != nil {
		marked := core.FieldErrors(err)
		if len(marked) == 0 {
			f.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		for _, ce := range marked {
			if fl, found := f.entries[ce.Field]; found {
				fl.setError(ce.Message)
				continue
			}
			// A Yes/No key, or a rule naming no field of this form.
			f.showResult("Not saved: "+ce.Message, widget.DangerImportance)
			return
		}
		f.showResult("Not saved: correct the fields marked in red.", widget.DangerImportance)
		return
	}
	svc, what, check := f.c.svc, f.spec.what, f.spec.check
	own := map[string]bool{}
	for k := range f.entries {
		own[k] = true
	}
	request(f.c, f.hold(), func() (core.Settings, error) {
		// The screen's own rule (the backup folder is writable) asks the
		// service too, so it runs here. An error naming no field of
		// this form does not stop the save, as the form cannot mark it.
		if check != nil {
			var ce *core.Error
			if err := check(set); errors.As(err, &ce) && own[ce.Field] {
				return core.Settings{}, err
			}
		}
		if err := svc.ChangeSettings(changes, what); err != nil {
			return core.Settings{}, err
		}
		// Read the saved values here, to show them as core normalised
		// them.
		return svc.Settings(), nil
	}, func(saved core.Settings, err error) {
		if err != nil {
			if !f.markFieldError(err) {
				f.showResult("Not saved: correct the fields marked in red.", widget.DangerImportance)
				return
			}
			f.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		f.show(saved)
		f.showResult("Saved.", widget.SuccessImportance)
		f.c.markUnsaved(f.content, false)
	})
}

// markFieldError shows err under the field it names and reports whether
// there was nothing to show (err nil, or naming no field of this form).
func (f *settingsForm) markFieldError(err error) bool {
	var ce *core.Error
	if err == nil || !errors.As(err, &ce) {
		return true
	}
	fl, ok := f.entries[ce.Field]
	if !ok {
		return true
	}
	fl.setError(ce.Message)
	return false
}

// resetChanges puts back the saved values, read again (off the UI thread
// when attached, the form disabled with Reset and Apply until they come).
func (f *settingsForm) resetChanges() {
	if f.reset.Disabled() {
		return
	}
	svc := f.c.svc
	request(f.c, f.hold(), func() (core.Settings, error) { return svc.Settings(), nil },
		func(set core.Settings, _ error) {
			f.show(set)
			f.showResult("", widget.MediumImportance)
			f.c.markUnsaved(f.content, false)
		})
}

// edited follows every change the admin makes: a footer about errors
// that are all corrected goes, and a form that differs from the saved
// settings is marked unsaved, here and in the navigation, so leaving it
// loses nothing silently (the draft stays until Apply or Reset).
func (f *settingsForm) edited() {
	if f.loaded == nil {
		return // still loading
	}
	for _, fl := range f.entries {
		if fl.msg.Visible() {
			return // the footer still points at a red field
		}
	}
	dirty := f.dirty()
	switch {
	case dirty:
		f.showResult(unsavedNote, widget.WarningImportance)
	case f.result.Importance != widget.SuccessImportance:
		f.showResult("", widget.MediumImportance)
	}
	f.c.markUnsaved(f.content, dirty)
}

// unsavedNote is the footer of a form with changes not yet applied.
const unsavedNote = "Unsaved changes: Apply saves them, Reset puts back the saved values."

func (f *settingsForm) showResult(msg string, imp widget.Importance) {
	f.result.Importance = imp
	f.result.SetText(msg)
}

// configChanged follows settings saved elsewhere (the CLI, the other
// policy screen) unless the admin is in the middle of editing
// (settingsRead), which is decided when the answer comes.
func (f *settingsForm) configChanged() { f.reread() }
