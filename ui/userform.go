package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// userForm is the Add or Edit user dialog.
type userForm struct {
	s       *usersScreen
	editing string // name of the user being edited; "" when adding
	dlg     *dialog.CustomDialog

	name, fullName, email, mobile, group, pin *field
	stringsEmail                              *field // security-string transport
	mobileAllowed, locked, disabled           *check
	// opened is the user as the Edit form showed them when it opened: a
	// save writes only the fields that differ from it (core.EditSince),
	// so what another console changed meanwhile stays, and a temporary
	// lock that runs out while the form is open does not come back as a
	// permanent one (only a change of the box locks or unlocks).
	opened core.User

	// profile is the user's own provisioning profile ("" follows the
	// group); effective previews the profile that applies and where each
	// value comes from, as the form stands (#14).
	profile      *choice
	effective    *widget.Label
	effectiveBox *disclosure // its title names the profile and source

	// clientLog summarises the diagnostic logs the user's phone uploaded
	// (#14); its button opens them (clientlog.go). Edit only.
	clientLog    *widget.Label
	clientLogBtn *button
	// clientLogs reads the client log again as the phone uploads more
	// (reloadClientLog), one request at a time.
	clientLogs reread[[]core.ClientLogEntry]

	general      *widget.Label // errors that belong to no field
	save, cancel *button

	// previews asks for the effective profile as the group and profile
	// change (preview).
	previews *latest[core.EffectiveProfile]
}

// formReads is what the user form reads from the service as it opens.
type formReads struct {
	set      core.Settings
	profiles []core.Profile
	eff      core.EffectiveProfile
	effErr   error
	logs     []core.ClientLogEntry // Edit only
	logsErr  error
}

// openForm shows the Add dialog, or the Edit dialog for u. An attached
// console reads what the form shows (the PIN rule, the profiles, the
// effective profile, the client log) off the UI thread (request.go) and
// opens the form when it comes, Add user and Edit disabled meanwhile so
// a second tap opens no second form.
func (s *usersScreen) openForm(u *core.User) {
	if s.c.holding(s.add) {
		return // the shortcut while a form's reads are on their way
	}
	svc := s.c.svc
	var editing string
	var group, profile string
	if u != nil {
		editing, group, profile = u.Name, u.Group, u.Profile
	}
	request(s.c, []fyne.Disableable{s.add, s.edit}, func() (formReads, error) {
		r := formReads{set: svc.Settings()}
		r.profiles, _ = svc.Profiles()
		if !slices.ContainsFunc(r.profiles, func(p core.Profile) bool { return p.Name == profile }) {
			// The form's choice cannot show it either and shows the
			// group's (showForm): the preview matches the choice.
			profile = ""
		}
		r.eff, r.effErr = svc.EffectiveProfileFor(core.User{Group: strings.TrimSpace(group), Profile: profile})
		if editing != "" {
			r.logs, r.logsErr = svc.ClientLogs(editing)
		}
		return r, nil
	}, func(r formReads, _ error) {
		s.showForm(u, r)
	})
}

// showForm is openForm once its reads came.
func (s *usersScreen) showForm(u *core.User, r formReads) {
	f := &userForm{s: s}
	f.previews = &latest[core.EffectiveProfile]{c: s.c, show: f.showPreview}
	f.clientLogs = reread[[]core.ClientLogEntry]{c: s.c, show: func(entries []core.ClientLogEntry, err error) {
		if s.form == f { // a form closed meanwhile is left as it was
			f.showClientLog(entries, err)
		}
	}}
	entry := func(placeholder string) *field { return s.c.newSubmitField(placeholder, f.submit) }
	f.name = entry("e.g. alice")
	f.fullName = entry("")
	f.email = entry("e.g. name@example.org")
	f.stringsEmail = entry("(optional)")
	f.mobile = entry("e.g. +44 20 7946 0000")
	f.group = entry("")
	pin := s.c.newPasswordEntry()
	pin.OnSubmitted = func(string) { f.submit() }
	f.pin = newInputField(pin)
	// The console's check, choice and button pass Escape and Enter on
	// to the dialog (keys.go).
	f.mobileAllowed = newCheck(s.c, "Mobile client allowed", nil)
	f.locked = newCheck(s.c, "Locked", nil)
	f.disabled = newCheck(s.c, "Disabled", nil)
	f.general = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.general.Hide()
	f.profile = newChoice(s.c, profileChoices(r.profiles), nil)
	f.profile.SetSelected(profileFollowGroup)
	f.effective = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.LowImportance}

	set := r.set
	pinRule := fmt.Sprintf("%d to %d digits", set.PINMin, set.PINMax)
	title := "Add user"
	if u == nil {
		f.mobileAllowed.SetChecked(true)
		pin.SetPlaceHolder("(optional, " + pinRule + ")")
	} else {
		title = "Edit " + u.Name
		f.editing = u.Name
		f.name.entry.SetText(u.Name)
		// The name is the key phones and agents know the user by.
		f.name.entry.Disable()
		f.fullName.entry.SetText(u.FullName)
		f.email.entry.SetText(u.Email)
		f.stringsEmail.entry.SetText(u.StringsEmail)
		f.mobile.entry.SetText(u.Mobile)
		f.group.entry.SetText(u.Group)
		pin.SetPlaceHolder("(unchanged; a new one is " + pinRule + ")")
		f.mobileAllowed.SetChecked(u.MobileAllowed)
		f.locked.SetChecked(u.Locked)
		if u.Locked && !u.LockedUntil.IsZero() {
			// A temporary lock says when it ends; clearing the box
			// lifts it now, as Unlock does.
			f.locked.SetText("Locked until " + u.LockedUntil.Local().Format("15:04"))
		}
		f.disabled.SetChecked(u.Disabled)
		if u.Profile != "" {
			f.profile.SetSelected(u.Profile)
		}
		f.opened = f.edited(*u)
	}
	// Set after the values above, which the reads already previewed.
	f.group.entry.OnChanged = func(string) { f.preview() }
	f.profile.OnChanged = func(string) { f.preview() }

	grid := newFormGrid(
		formRow("Username", f.name.box),
		formRow("Full name", f.fullName.box),
		formRow("Email", f.email.box),
		formRow("Security-string email", f.stringsEmail.box),
		formRow("Mobile", f.mobile.box),
		formRow("Group", f.group.box),
		formRow("PIN", f.pin.box),
		formRow("Profile", f.profile),
	)
	checks := container.NewHBox(f.mobileAllowed, f.locked, f.disabled)
	// Sixteen values do not fit a dialog on a laptop screen: they scroll.
	f.effectiveBox = newDisclosure(s.c, "Effective profile",
		container.New(fixedHeight(200), container.NewVScroll(f.effective)))
	f.showPreview(r.eff, r.effErr)
	content := container.NewVBox(grid, checks, f.effectiveBox, f.general)
	if u != nil {
		name := u.Name
		f.clientLog = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.LowImportance}
		f.showClientLog(r.logs, r.logsErr)
		f.clientLogBtn = newButton(s.c, "Client log…", nil, func() {
			s.c.openClientLog(name, []fyne.Disableable{f.clientLogBtn}, func() bool { return s.form == f })
		})
		content.Objects = append(content.Objects[:3], container.NewBorder(nil, nil, nil, f.clientLogBtn, f.clientLog), f.general)
	}

	f.save = newButton(s.c, "Save", nil, f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = newButton(s.c, "Cancel", nil, func() { f.dlg.Hide() })
	f.dlg = dialog.NewCustomWithoutButtons(title, content, s.c.win)
	for _, fl := range f.fields() {
		fl.relayout = func() { relayout(f.dlg) }
	}
	f.dlg.SetButtons([]fyne.CanvasObject{f.cancel, f.save})
	f.dlg.SetOnClosed(func() {
		if s.form == f {
			s.form = nil
		}
	})
	s.c.pushModal(f.dlg, f.submit)
	s.form = f
	// Height 0: the dialog takes its content's height and grows when an
	// error message appears.
	fitWidth(f.dlg, 560)
	f.dlg.Show()
	if u == nil {
		s.c.win.Canvas().Focus(f.name.input)
	} else {
		s.c.win.Canvas().Focus(f.fullName.input)
	}
}

// submit saves the user. On an error the dialog stays open with every
// value as typed and core's sentence next to the field at fault. An
// attached console saves off the UI thread (request.go), with the form
// and Save disabled until the answer comes.
func (f *userForm) submit() {
	if f.save.Disabled() {
		// A save is on its way: Enter in a field or on the dialog
		// does not send it twice.
		return
	}
	f.clearErrors()
	svc := f.s.c.svc
	u := core.User{
		Name:          f.name.entry.Text,
		FullName:      f.fullName.entry.Text,
		Email:         f.email.entry.Text,
		StringsEmail:  f.stringsEmail.entry.Text,
		Mobile:        f.mobile.entry.Text,
		Group:         f.group.entry.Text,
		PIN:           f.pin.entry.Text,
		MobileAllowed: f.mobileAllowed.Checked,
		Locked:        f.locked.Checked,
		Disabled:      f.disabled.Checked,
		Profile:       f.ownProfile(),
	}
	editing := f.editing
	// The edit is worked out here, from the form as it stands now, not
	// on the goroutine while the person may be typing.
	edit := core.EditSince(f.opened, f.edited(f.opened))
	request(f.s.c, f.hold(), func() (core.User, error) {
		if editing == "" {
			return svc.AddUser(u)
		}
		saved, err := svc.UpdateUser(editing, edit)
		if core.ErrorCode(err) == core.CodeNotFound {
			err = core.Errorf(core.CodeNotFound, "%s was deleted while this form was open, so nothing was saved.", editing)
		}
		return saved, err
	}, func(saved core.User, err error) {
		if f.s.form != f {
			// Cancelled while the save was on its way: the dialog stays
			// closed. A save that failed left nothing to show, as the
			// person wanted; one that went through shows in the list.
			if err == nil {
				f.s.refresh()
			}
			return
		}
		if err != nil {
			f.showError(err)
			return
		}
		f.dlg.Hide()
		// The user saved is selected once the list holds them (an
		// attached console reads it off the UI thread), not before: a
		// search typed meanwhile would drop a selection of a row not
		// listed yet.
		s, key := f.s, core.Key(saved.Name)
		s.refreshThen(func() { s.selectKey(key) })
	})
}

// hold is Save and every value of the form: what waits disabled while an
// attached console's save is on its way (request.go). The form closes
// when it went through, so a value changed meanwhile would be dropped
// without a word.
func (f *userForm) hold() []fyne.Disableable {
	ws := []fyne.Disableable{f.save, f.mobileAllowed, f.locked, f.disabled, f.profile}
	for _, fl := range f.fields() {
		ws = append(ws, fl.entry)
	}
	return ws
}

// edited is u with the Edit form's values, as core would store them
// (trimmed), so spaces typed around a value do not count as a change. An
// empty PIN keeps u's.
func (f *userForm) edited(u core.User) core.User {
	text := func(fl *field) string { return strings.TrimSpace(fl.entry.Text) }
	u.FullName, u.Email, u.StringsEmail = text(f.fullName), text(f.email), text(f.stringsEmail)
	u.Mobile, u.Group, u.Profile = text(f.mobile), text(f.group), f.ownProfile()
	u.MobileAllowed, u.Locked, u.Disabled = f.mobileAllowed.Checked, f.locked.Checked, f.disabled.Checked
	if pin := text(f.pin); pin != "" {
		u.PIN = pin
	}
	return u
}

// fields maps core's field names to the entries they describe.
func (f *userForm) fields() map[string]*field {
	return map[string]*field{
		"name": f.name, "full_name": f.fullName, "email": f.email, "strings_email": f.stringsEmail,
		"mobile": f.mobile, "group": f.group, "pin": f.pin,
	}
}

func (f *userForm) clearErrors() { clearFormErrors(f.fields(), f.general, f.dlg) }

// showError shows core's sentence next to the field at fault; "A user
// called … already exists." belongs to the name.
//
// On Edit the name is fixed, so a conflict (the user was deleted and
// added again meanwhile) goes under the form.
func (f *userForm) showError(err error) {
	conflict := "name"
	if f.editing != "" {
		conflict = ""
	}
	showFormError(err, f.fields(), f.general, f.dlg, conflict)
}

// profileFollowGroup is the profile choice of a user without their own.
const profileFollowGroup = "(group's profile or Default)"

// profileChoices are the choices of the user form's Profile, all being
// the profiles stored.
func profileChoices(all []core.Profile) []string {
	out := []string{profileFollowGroup}
	for _, p := range all {
		out = append(out, p.Name)
	}
	return out
}

// ownProfile is the user's own profile as chosen, "" to follow the group.
func (f *userForm) ownProfile() string {
	if f.profile.Selected == profileFollowGroup {
		return ""
	}
	return f.profile.Selected
}

// preview asks for the profile that applies with the form's group and
// profile as they stand. An attached console asks off the UI thread, the
// newest question only (latest), so typing a group does not wait on the
// network at each key and a late answer for an older text is not shown.
func (f *userForm) preview() {
	if f.effective == nil || f.group == nil {
		return
	}
	svc := f.s.c.svc
	u := core.User{Group: strings.TrimSpace(f.group.entry.Text), Profile: f.ownProfile()}
	f.previews.ask(func() (core.EffectiveProfile, error) { return svc.EffectiveProfileFor(u) })
}

// showPreview shows e, the profile that applies, naming where each value
// comes from.
func (f *userForm) showPreview(e core.EffectiveProfile, err error) {
	if err != nil {
		f.effective.SetText(core.ErrorMessage(err))
		return
	}
	f.effective.SetText(fmt.Sprintf("Profile %s (%s)\n%s", e.Profile.Name, e.Source, strings.TrimSuffix(withUnset(e).String(), "\n")))
	if f.effectiveBox != nil {
		f.effectiveBox.SetTitle(fmt.Sprintf("Effective profile: %s (%s)", e.Profile.Name, e.Source))
	}
}

// unsetValue stands in the preview for a value the profile leaves empty,
// which read as a gap before the dash ("Customer Service Phone:  — …").
const unsetValue = "(not set)"

// withUnset is e with unsetValue for its empty values.
func withUnset(e core.EffectiveProfile) core.EffectiveProfile {
	e.Values = slices.Clone(e.Values)
	for i := range e.Values {
		if strings.TrimSpace(e.Values[i].Value) == "" {
			e.Values[i].Value = unsetValue
		}
	}
	return e
}

// showClientLog says what the user's phone uploaded (#14): entries, or
// err if they could not be read.
func (f *userForm) showClientLog(entries []core.ClientLogEntry, err error) {
	if f.clientLog == nil {
		return
	}
	if err != nil {
		f.clientLog.SetText("Client log: " + core.ErrorMessage(err))
		return
	}
	f.clientLog.SetText("Client log: " + clientLogSummary(entries))
}

// reloadClientLog reads the client log again when the phone uploaded
// more; off the UI thread when attached, one request at a time (reread):
// two on their way at once could be answered in either order, and the
// older count shown last.
func (f *userForm) reloadClientLog() {
	svc, user := f.s.c.svc, f.editing
	f.clientLogs.ask(func() ([]core.ClientLogEntry, error) { return svc.ClientLogs(user) })
}
