package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// profileForm is the New or Edit profile dialog. Each key of the profile
// is a check box (Yes/No values), a choice (PIN mode) or an entry.
type profileForm struct {
	s       *profilesScreen
	editing string
	dlg     *dialog.CustomDialog
	name    *field
	entries map[string]*field
	checks  map[string]*check
	pinMode *choice
	general *widget.Label
	save    *button
	// confirm asks before saving a change that reaches users.
	confirm *askDialog
	// opened is what the form showed when it opened: Edit saves only the
	// keys that differ from it (changedSince), onto the profile as
	// stored when the save's transaction runs.
	opened map[string]string
}

func isYesNo(v string) bool { return v == "Yes" || v == "No" }

// openForm shows New profile (starting from the Default's values) or
// Edit for p.
//
// New reads the Default profile (and the Mobile Client settings, should
// it be missing); an attached console reads them off the UI thread
// (request.go) and opens the form when they come, New profile and Edit
// disabled meanwhile so a second tap opens no second form. Edit starts
// from p as listed and reads nothing, so it opens at once.
func (s *profilesScreen) openForm(p *core.Profile) {
	if s.c.holding(s.add) {
		// New profile's reads are on their way (Edit held with it): its
		// form opens when they come.
		return
	}
	if p != nil {
		s.showForm(*p, "Edit profile "+p.Name, p.Name)
		return
	}
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.add, s.edit}, func() (core.Profile, error) {
		base := core.Profile{ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
		if def, err := svc.Profile(core.DefaultProfileName); err == nil {
			base.ClientPolicies = def.ClientPolicies
		}
		base.SupportEmail = ""
		return base, nil
	}, func(base core.Profile, _ error) {
		s.showForm(base, "New profile", "")
	})
}

// showForm shows the profile form with base's values, titled title;
// editing names the profile edited, "" for New.
func (s *profilesScreen) showForm(base core.Profile, title, editing string) {
	c := s.c
	f := &profileForm{s: s, entries: map[string]*field{}, checks: map[string]*check{}, editing: editing}
	p := &base
	if editing == "" {
		p = nil
	}
	nameEntry := c.newEntry()
	nameEntry.SetPlaceHolder("e.g. Sales phones")
	f.name = newInputField(nameEntry)
	f.name.entry.SetText(base.Name)
	if p != nil {
		f.name.entry.Disable()
	}
	rows := [][]fyne.CanvasObject{formRow("Name", f.name.box)}
	var checks []fyne.CanvasObject
	for _, k := range core.ProfileKeys() {
		v, _ := base.Get(k)
		switch {
		case k == "pin_mode":
			f.pinMode = newChoice(c, []string{core.PINModeOptional, core.PINModeMandatory}, nil)
			f.pinMode.SetSelected(v)
			rows = append(rows, formRow(core.ProfileKeyLabel(k), f.pinMode))
		case isYesNo(v):
			ch := newCheck(c, core.ProfileKeyLabel(k), nil)
			ch.SetChecked(v == "Yes")
			f.checks[k] = ch
			checks = append(checks, ch)
		default:
			e := c.newEntry()
			e.SetText(v)
			e.OnSubmitted = func(string) { f.submit() }
			f.entries[k] = newInputField(e)
			rows = append(rows, formRow(core.ProfileKeyLabel(k), f.entries[k].box))
		}
	}
	f.general = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.general.Hide()
	content := container.NewVBox(newFormGrid(rows...), container.NewGridWithColumns(2, checks...), f.general)
	f.save = newButton(c, "Save", nil, f.submit)
	f.save.Importance = widget.HighImportance
	cancel := newButton(c, "Cancel", nil, func() { f.dlg.Hide() })
	f.dlg = dialog.NewCustomWithoutButtons(title, newFormScroll(content), c.win)
	for _, fl := range f.entries {
		fl.relayout = func() { relayout(f.dlg) }
	}
	f.name.relayout = func() { relayout(f.dlg) }
	f.dlg.SetButtons([]fyne.CanvasObject{cancel, f.save})
	f.dlg.SetOnClosed(func() {
		if s.form == f {
			s.form = nil
		}
	})
	c.pushModal(f.dlg, f.submit)
	s.form = f
	f.opened = f.values()
	f.dlg.Resize(fyne.NewSize(720, 640))
	f.dlg.Show()
}

// values is what the form shows, by profile key.
func (f *profileForm) values() map[string]string {
	v := map[string]string{"pin_mode": f.pinMode.Selected}
	for k, fl := range f.entries {
		v[k] = fl.entry.Text
	}
	for k, ch := range f.checks {
		v[k] = yesNo(ch.Checked)
	}
	return v
}

// profile reads the form into a profile; a value that does not parse
// is shown next to its field. For Edit it is cur, the profile as stored
// when the save asked, with the keys the form changed since it opened
// (changedSince), which are what the save sends: core sets them on the
// profile as stored when the save's transaction runs
// (Service.ChangeProfile), so a key another console saved meanwhile
// stays. The profile made here only checks the form.
func (f *profileForm) profile(cur core.Profile) (p core.Profile, changes map[string]string, ok bool) {
	p = core.Profile{Name: f.name.entry.Text, ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{})}
	vals := f.values()
	if f.editing != "" {
		p, vals = cur, changedSince(f.opened, vals)
	}
	ok = true
	for k, v := range vals {
		if err := p.Set(k, v); err != nil {
			f.showError(err)
			ok = false
		}
	}
	return p, vals, ok
}

// gone says a profile deleted while the form was open in a sentence.
func (f *profileForm) gone(err error) error {
	if core.ErrorCode(err) == core.CodeNotFound {
		return core.Errorf(core.CodeNotFound, "The profile %s was deleted while this form was open, so nothing was saved.", f.editing)
	}
	return err
}

// submit validates, says how many users the change reaches and saves
// once the admin confirms. An attached console asks the service off the
// UI thread (request.go), with Save disabled while a request is on its
// way, and the form with it while the save is; a form closed meanwhile
// is not shown again.
func (f *profileForm) submit() {
	if f.save.Disabled() {
		return // Enter while a request is on its way
	}
	f.clearErrors()
	c, svc, editing := f.s.c, f.s.c.svc, f.editing
	hold := []fyne.Disableable{f.save}
	if editing == "" {
		p, _, ok := f.profile(core.Profile{})
		if !ok {
			return
		}
		if err := core.ValidateProfile(&p); err != nil {
			f.showError(err)
			return
		}
		requestErr(c, f.hold(), func() error { return svc.AddProfile(p) }, func(err error) {
			if f.closed() {
				if err == nil {
					f.s.refresh()
				}
				return
			}
			if err != nil {
				f.showError(err)
				return
			}
			f.done(p.Name)
		})
		return
	}
	type stored struct {
		cur core.Profile
		n   int
	}
	request(c, hold, func() (stored, error) {
		cur, err := svc.Profile(editing)
		if err != nil {
			return stored{}, f.gone(err)
		}
		n, err := svc.ProfileImpact(editing)
		return stored{cur, n}, err
	}, func(st stored, err error) {
		if f.closed() {
			return
		}
		if err != nil {
			f.showError(err)
			return
		}
		p, _, ok := f.profile(st.cur)
		if !ok {
			return
		}
		if err := core.ValidateProfile(&p); err != nil {
			f.showError(err)
			return
		}
		f.askSave(p.Name, st.cur, st.n)
	})
}

// askSave asks before saving the Edit form's changes to the profile name,
// which reach n users, and saves them onto cur, the profile as stored
// when submit asked (core applies them to the profile as stored then).
func (f *profileForm) askSave(name string, cur core.Profile, n int) {
	c, svc, editing := f.s.c, f.s.c.svc, f.editing
	spec := confirmSpec("Save profile "+name,
		fmt.Sprintf("This change affects %s: each phone receives it at its next provision or security string download. Save?", plural(n, "user", "users")),
		func(yes bool) {
			f.confirm = nil
			if !yes || f.closed() {
				return
			}
			// The form as it stands now: the question may have been
			// open a while.
			p, changes, ok := f.profile(cur)
			if !ok {
				return
			}
			requestErr(c, f.hold(), func() error {
				return f.gone(svc.ChangeProfile(editing, changes))
			}, func(err error) {
				if f.closed() {
					if err == nil {
						f.s.refresh()
					}
					return
				}
				if err != nil {
					f.showErrors(err)
					return
				}
				f.done(p.Name)
			})
		})
	// Enter alone does not save: the change reaches every phone listed.
	spec.confirm, spec.guarded = "Save", true
	f.confirm = c.ask(spec)
}

// hold is Save and every value of the form: what waits disabled while an
// attached console's save is on its way (request.go). The form closes
// when it went through, so a value changed meanwhile would be dropped
// without a word.
func (f *profileForm) hold() []fyne.Disableable {
	ws := []fyne.Disableable{f.save, f.name.entry, f.pinMode}
	for _, fl := range f.entries {
		ws = append(ws, fl.entry)
	}
	for _, ch := range f.checks {
		ws = append(ws, ch)
	}
	return ws
}

// closed says whether the form was closed (Cancel, Escape, or a save).
func (f *profileForm) closed() bool { return f.s.form != f }

// showErrors shows each field's refusal next to it (core joins them).
func (f *profileForm) showErrors(err error) {
	fe := core.FieldErrors(err)
	if len(fe) < 2 {
		f.showError(err)
		return
	}
	for _, e := range fe {
		f.showError(e)
	}
}

// done closes the form after a save of the profile name, which is
// selected once the list shows it (refreshThen): selected before, a read
// asked before the save and answered after it would drop the selection.
func (f *profileForm) done(name string) {
	f.dlg.Hide()
	s := f.s
	s.refreshThen(func() {
		s.selected = name
		s.keepSelection()
	})
}

func (f *profileForm) clearErrors() {
	f.name.setError("")
	for _, fl := range f.entries {
		fl.setError("")
	}
	f.general.SetText("")
	f.general.Hide()
}

func (f *profileForm) showError(err error) {
	msg := core.ErrorMessage(err)
	var ce *core.Error
	if errors.As(err, &ce) {
		field := ce.Field
		if ce.Code == core.CodeConflict {
			field = "name"
		}
		if field == "name" {
			f.name.setError(msg)
			return
		}
		if fl, ok := f.entries[field]; ok {
			fl.setError(msg)
			return
		}
	}
	f.general.SetText(msg)
	f.general.Show()
	relayout(f.dlg)
}
