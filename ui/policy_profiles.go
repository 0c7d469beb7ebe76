package ui

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// profileColumns are the widths of name, customer service email, groups
// and users.
var profileColumns = columns{0.22, 0.3, 0.3, 0.18}

// profilesScreen is Policy → Profiles (#14): the provisioning profiles,
// the groups each is the default of and how many users each reaches.
type profilesScreen struct {
	c *Console

	list *widget.List

	add, edit, del, assign *widget.Button

	profiles []core.Profile
	counts   map[string]int // users per profile
	selected string
	// problem says why the list is empty when the profiles could not be
	// read; hidden otherwise.
	problem *widget.Label

	form    *profileForm
	opening bool       // New profile's reads are on their way (openForm)
	confirm *askDialog // the Delete question
	// reassign is the Delete question's choice for a profile still
	// assigned; assignDlg is the Assign to group dialog.
	reassign   *choice
	assignDlg  *dialog.CustomDialog
	assignTo   *selectEntry
	assignSave *button

	content fyne.CanvasObject
}

func newProfilesScreen(c *Console) *profilesScreen {
	s := &profilesScreen{c: c}
	s.list = widget.NewList(
		func() int { return len(s.profiles) },
		func() fyne.CanvasObject {
			return container.New(profileColumns, newCells(len(profileColumns))...)
		},
		s.updateRow,
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.profiles) {
			s.selected = s.profiles[id].Name
		}
		s.updateButtons()
	}
	s.list.OnUnselected = func(widget.ListItemID) { s.selected = ""; s.updateButtons() }
	s.add = widget.NewButtonWithIcon("New profile", theme.ContentAddIcon(), func() { s.openForm(nil) })
	s.add.Importance = widget.HighImportance
	s.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() {
		if p, ok := s.selectedProfile(); ok {
			s.openForm(&p)
		}
	})
	s.del = widget.NewButtonWithIcon("Delete…", theme.DeleteIcon(), s.confirmDelete)
	s.assign = widget.NewButtonWithIcon("Assign to group…", theme.AccountIcon(), s.openAssign)

	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, s.add, newHeading("Policy → Profiles")),
		newNote("A profile is the configuration phones receive. Everyone gets the Default profile, unless their group "+
			"has a profile or they have their own (User Management → Edit). A change reaches each phone at its next "+
			"provision or security string download."),
		newHeader(profileColumns, "Profile", core.ProfileKeyLabel("support_email"), "Default of groups", "Users"),
		widget.NewSeparator(),
	)
	s.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	s.problem.Hide()
	top.Add(s.problem)
	bottom := container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, nil, container.NewHBox(s.assign, s.edit, s.del)))
	s.content = container.NewBorder(top, bottom, nil, nil, s.list)
	s.refresh()
	return s
}

// refresh reloads the profiles and their user counts, keeping the
// selection.
func (s *profilesScreen) refresh() {
	all, err := s.c.svc.Profiles()
	if err != nil {
		_ = s.c.svc.Log(core.LevelError, "", "Profiles could not be read: %v", err)
		// An empty list alone would read as "there are none".
		s.problem.SetText("The profiles could not be read, so none are shown. " + core.ErrorMessage(err))
		s.problem.Show()
	} else if s.problem.Visible() {
		s.problem.SetText("")
		s.problem.Hide()
	}
	s.profiles = all
	s.counts = map[string]int{}
	for _, p := range all {
		n, _ := s.c.svc.ProfileImpact(p.Name)
		s.counts[p.Name] = n
	}
	s.list.Refresh()
	for i, p := range s.profiles {
		if p.Name == s.selected {
			s.list.Select(i)
			s.updateButtons()
			return
		}
	}
	s.list.UnselectAll()
	s.selected = ""
	s.updateButtons()
}

func (s *profilesScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.profiles) {
		return
	}
	p := s.profiles[id]
	groups := strings.Join(p.Groups, ", ")
	if p.IsDefault() {
		groups = "everyone else"
	}
	setCells(o.(*fyne.Container).Objects, []string{p.Name, p.SupportEmail, groups, fmt.Sprint(s.counts[p.Name])}, nil)
}

func (s *profilesScreen) selectedProfile() (core.Profile, bool) {
	for _, p := range s.profiles {
		if s.selected != "" && p.Name == s.selected {
			return p, true
		}
	}
	return core.Profile{}, false
}

func (s *profilesScreen) updateButtons() {
	p, ok := s.selectedProfile()
	for _, b := range []*widget.Button{s.edit, s.del, s.assign} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	// The Default is what a group without a profile gets already.
	if ok && p.IsDefault() {
		s.assign.Disable()
	}
}

// confirmDelete asks before deleting; for a profile still assigned it
// offers the profile its groups and users move to. Without one, core's
// refusal sentence says why nothing was deleted.
func (s *profilesScreen) confirmDelete() {
	p, ok := s.selectedProfile()
	if !ok {
		return
	}
	if p.IsDefault() {
		// core refuses in a sentence that says why.
		requestErr(s.c, []fyne.Disableable{s.del}, func() error { return s.c.svc.DeleteProfile(p.Name, "") }, s.c.showError)
		return
	}
	var others []string
	for _, o := range s.profiles {
		if o.Name != p.Name {
			others = append(others, o.Name)
		}
	}
	s.reassign = newChoice(s.c, others, nil)
	s.reassign.PlaceHolder = "(keep them: refuse if assigned)"
	msg := &widget.Label{Wrapping: fyne.TextWrapWord,
		Text: fmt.Sprintf("Delete profile %s? Its %s another profile at their next provision or string download.", p.Name, plural(s.counts[p.Name], "user gets", "users get"))}
	content := container.NewVBox(msg, newFormGrid(formRow("Reassign its groups and users to", s.reassign)))
	s.confirm = s.c.ask(askSpec{title: "Delete profile", content: content, confirm: "Delete", dismiss: "Cancel", danger: true, answer: func(yes bool) {
		s.confirm = nil
		if !yes {
			return
		}
		to := s.reassign.Selected
		// Off the UI thread when attached (request.go), Delete…
		// disabled until the answer comes.
		requestErr(s.c, []fyne.Disableable{s.del}, func() error { return s.c.svc.DeleteProfile(p.Name, to) }, func(err error) {
			s.refresh()
			// Off the Delete button the deletion disabled.
			leaveDisabled(s.c.win.Canvas(), s.list, len(s.profiles), s.add)
			if err != nil {
				s.c.showError(err)
			}
		})
	}})
	fitWidth(s.confirm, 520)
}

// groups are the groups of users, for the Assign to group choice.
func groups(users []core.User) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range users {
		if u.Group != "" && !seen[strings.ToLower(u.Group)] {
			seen[strings.ToLower(u.Group)] = true
			out = append(out, u.Group)
		}
	}
	sort.Strings(out)
	return out
}

// openAssign makes the selected profile the default of a group. The
// groups offered are read as it opens and the users a group reaches are
// counted as it is typed: an attached console asks both off the UI thread
// (request.go), the dialog opening when the groups come (Assign to
// group… disabled meanwhile) and the count asked for the newest text only
// (latest), so a late count for an older text does not overwrite it.
func (s *profilesScreen) openAssign() {
	p, ok := s.selectedProfile()
	if !ok || p.IsDefault() {
		return
	}
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.assign}, svc.Users, func(users []core.User, _ error) {
		if q, still := s.selectedProfile(); !still || q.Name != p.Name {
			return // another profile selected meanwhile: this one is not what they see
		}
		s.showAssign(p, groups(users))
	})
}

// showAssign is openAssign once the groups came.
func (s *profilesScreen) showAssign(p core.Profile, groups []string) {
	svc := s.c.svc
	s.assignTo = s.c.newSelectEntry(groups)
	s.assignTo.SetPlaceHolder("group, e.g. Sales")
	note := &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.LowImportance}
	counts := &latest[string]{c: s.c, show: func(text string, err error) {
		if err != nil {
			text = "The users of this group could not be counted: " + core.ErrorMessage(err)
		}
		note.SetText(text)
	}}
	s.assignTo.OnChanged = func(g string) {
		if strings.TrimSpace(g) == "" {
			// Nothing to count; an answer still on its way for an older
			// text is dropped as one for a newer text would be.
			counts.ask(func() (string, error) { return "", nil })
			return
		}
		counts.ask(func() (string, error) {
			users, err := svc.Users()
			if err != nil {
				return "", err
			}
			return assignNote(users, g), nil
		})
	}
	cancel := newButton(s.c, "Cancel", nil, func() { s.assignDlg.Hide() })
	closed := false
	s.assignSave = newButton(s.c, "Assign", nil, nil)
	s.assignSave.OnTapped = func() {
		if s.assignSave.Disabled() {
			return // Enter while the request is on its way
		}
		group := s.assignTo.Text
		// Off the UI thread when attached (request.go).
		requestErr(s.c, []fyne.Disableable{s.assignSave}, func() error { return s.c.svc.AssignProfileToGroup(p.Name, group) }, func(err error) {
			if closed {
				// Closed meanwhile: it is not shown again.
				if err == nil {
					s.refresh()
				}
				return
			}
			if err != nil {
				note.SetText(core.ErrorMessage(err))
				note.Importance = widget.DangerImportance
				note.Refresh()
				return
			}
			s.assignDlg.Hide()
			s.refresh()
		})
	}
	s.assignSave.Importance = widget.HighImportance
	s.assignDlg = dialog.NewCustomWithoutButtons("Assign profile "+p.Name+" to a group",
		container.NewVBox(newFormGrid(formRow("Group", s.assignTo)), note), s.c.win)
	s.assignDlg.SetOnClosed(func() { closed = true })
	s.assignDlg.SetButtons([]fyne.CanvasObject{cancel, s.assignSave})
	s.c.pushModal(s.assignDlg, s.assignSave.OnTapped)
	fitWidth(s.assignDlg, 480)
	s.assignDlg.Show()
}

// assignNote says how many of users, those of group g, the assignment
// reaches.
func assignNote(users []core.User, g string) string {
	if strings.TrimSpace(g) == "" {
		return ""
	}
	n := 0
	for _, u := range users {
		if strings.EqualFold(u.Group, strings.TrimSpace(g)) && u.Profile == "" {
			n++
		}
	}
	who := plural(n, "user", "users") + " of group " + strings.TrimSpace(g) + " without a profile of their own"
	if n == 1 {
		return who + " gets this profile at their next provision or string download."
	}
	return who + " get this profile at their next provision or string download."
}

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
	if p != nil {
		s.showForm(*p, "Edit profile "+p.Name, p.Name)
		return
	}
	if s.opening {
		return // New profile re-enabled by a refresh while the reads are on their way
	}
	s.opening = true
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.add, s.edit}, func() (core.Profile, error) {
		base := core.Profile{ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
		if def, err := svc.Profile(core.DefaultProfileName); err == nil {
			base.ClientPolicies = def.ClientPolicies
		}
		base.SupportEmail = ""
		return base, nil
	}, func(base core.Profile, _ error) {
		s.opening = false
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
// way; a form closed meanwhile is not shown again.
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
		requestErr(c, hold, func() error { return svc.AddProfile(p) }, func(err error) {
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
			requestErr(c, []fyne.Disableable{f.save}, func() error {
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

func (f *profileForm) done(name string) {
	f.s.selected = name
	f.dlg.Hide()
	f.s.refresh()
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
