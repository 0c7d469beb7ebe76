package ui

import (
	"errors"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// agentForm is the Add or Edit agent dialog.
type agentForm struct {
	s       *agentsScreen
	editing string // name of the agent being edited; "" when adding
	// hidden: the console was not given the edited agent's secret but its
	// keyed hash (a sealed store, #13) or core.SecretMask (an attached
	// console), so the form can neither show nor copy it. Left empty, the
	// field keeps the stored secret (Service.ChangeAgent).
	hidden bool
	dlg    *dialog.CustomDialog

	name, host, secret, group *field
	modes                     map[string]*check
	modesMsg                  *widget.Label // error about the modes
	repository                *check
	helpdesk                  *check

	generate, copySecret *button
	copied               *widget.Label
	general              *widget.Label
	save, cancel         *button

	// opened is what the Edit form showed when it opened: a save changes
	// only what differs from it (changedSince), on the agent as stored
	// when the save's transaction runs (Service.ChangeAgent).
	opened map[string]string
}

// openForm shows the Add dialog, or the Edit dialog for a.
func (s *agentsScreen) openForm(a *core.Agent) {
	c := s.c
	f := &agentForm{s: s, modes: map[string]*check{}}
	entry := func(placeholder string) *field { return c.newSubmitField(placeholder, f.submit) }
	f.name = entry("e.g. office-vpn")
	f.host = entry("e.g. 192.168.1.20, a range such as 192.168.1.0/24, or a host name")
	secret := c.newPasswordEntry()
	secret.SetPlaceHolder("(at least 8 characters)")
	secret.OnSubmitted = func(string) { f.submit() }
	f.secret = newInputField(secret)
	group := c.newSelectEntry(s.groups())
	group.SetPlaceHolder("(empty: " + core.GroupAny + ")")
	group.OnSubmitted = func(string) { f.submit() }
	f.group = newInputField(group)

	f.copied = &widget.Label{Importance: widget.LowImportance}
	f.generate = newButton(c, "Generate", theme.ViewRefreshIcon(), func() {
		f.secret.entry.SetText(core.NewAgentSecret())
		f.secretNote("A new secret: enter it in the agent too.")
	})
	f.copySecret = newButton(c, "Copy", theme.ContentCopyIcon(), func() {
		if f.secret.entry.Text == "" && f.hidden {
			f.secretNote("The saved secret cannot be shown or copied: Provisio keeps only a hash of it. If the agent's copy is lost, generate a new one and enter it in the agent too.")
			return
		}
		c.app.Clipboard().SetContent(f.secret.entry.Text)
		f.secretNote("Copied to the clipboard.")
	})
	var modeChecks []fyne.CanvasObject
	for _, m := range core.AgentModes {
		ch := newCheck(c, modeNames[m], func(bool) { f.setModesError("") })
		f.modes[m] = ch
		modeChecks = append(modeChecks, ch)
	}
	f.modesMsg = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.modesMsg.Hide()
	f.repository = newCheck(c, "Can act as repository", nil)
	f.helpdesk = newCheck(c, "Helpdesk", nil)
	f.general = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.general.Hide()

	title := "Add agent"
	if a == nil {
		f.modes[core.AgentModeMobile].SetChecked(true)
		f.secret.entry.SetText(core.NewAgentSecret())
	} else {
		title = "Edit agent " + a.Name
		f.editing = a.Name
		f.name.entry.SetText(a.Name)
		// The name is how the log and AdminXML know the agent.
		f.name.entry.Disable()
		f.host.entry.SetText(a.Host)
		if core.IsHashedSecret(a.Secret) || a.Secret == core.SecretMask {
			f.hidden = true
			f.secret.entry.SetPlaceHolder("(unchanged and not shown: type or generate a new one to replace it)")
		} else {
			f.secret.entry.SetText(a.Secret)
		}
		f.group.entry.SetText(a.Group)
		for m, ch := range f.modes {
			ch.SetChecked(a.AllowsMode(m))
		}
		f.repository.SetChecked(a.Repository)
		f.helpdesk.SetChecked(a.Helpdesk)
		f.opened = f.values()
	}
	f.copied.Hide()

	hint := func(text string) fyne.CanvasObject {
		return &widget.Label{Text: text, Importance: widget.LowImportance, Wrapping: fyne.TextWrapWord}
	}
	secretRow := container.NewBorder(nil, nil, nil, container.NewHBox(f.generate, f.copySecret), f.secret.box)
	grid := newFormGrid(
		formRow("Name", f.name.box),
		formRow("Host or range", container.NewVBox(f.host.box, hint("The address the agent's requests come from."))),
		formRow("Shared secret", container.NewVBox(secretRow, f.copied)),
		formRow("Group", container.NewVBox(f.group.box, hint("ANY, or the group whose users the agent may sign in."))),
		formRow("Authentication", container.NewVBox(container.NewHBox(modeChecks...), f.modesMsg)),
		formRow("", container.NewVBox(f.repository,
			hint("Lets the agent add, change and delete users through AdminXML."))),
		formRow("", container.NewVBox(f.helpdesk,
			hint("Lets the agent set PINs, lock and unlock users of every repository (HelpdeskRequest) and read reports."))),
	)
	content := container.NewVBox(grid, f.general)

	f.save = newButton(c, "Save", nil, f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = newButton(c, "Cancel", nil, func() { f.dlg.Hide() })
	f.dlg = dialog.NewCustomWithoutButtons(title, content, c.win)
	for _, fl := range f.fields() {
		fl.relayout = func() { relayout(f.dlg) }
	}
	f.dlg.SetButtons([]fyne.CanvasObject{f.cancel, f.save})
	f.dlg.SetOnClosed(func() {
		if s.form == f {
			s.form = nil
		}
	})
	c.pushModal(f.dlg, f.submit)
	s.form = f
	fitWidth(f.dlg, 680)
	f.dlg.Show()
	if a == nil {
		c.win.Canvas().Focus(f.name.input)
	} else {
		c.win.Canvas().Focus(f.host.input)
	}
}

// groups offers ANY and every group users are in.
func (s *agentsScreen) groups() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.c.users.all {
		if g := r.Group; g != "" && !seen[core.Key(g)] {
			seen[core.Key(g)] = true
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return append([]string{core.GroupAny}, out...)
}

func (f *agentForm) fields() map[string]*field {
	return map[string]*field{"name": f.name, "host": f.host, "secret": f.secret, "group": f.group}
}

// secretNote says what just happened to the secret, under it.
func (f *agentForm) secretNote(msg string) {
	f.copied.SetText(msg)
	if !f.copied.Visible() {
		f.copied.Show()
		relayout(f.dlg)
	}
}

func (f *agentForm) setModesError(msg string) {
	f.modesMsg.SetText(msg)
	if f.modesMsg.Visible() != (msg != "") {
		f.modesMsg.Hidden = msg == ""
		relayout(f.dlg)
	}
}

// values is what the form shows, by field; modes are the ticked ones,
// space-separated in the order of core.AgentModes.
func (f *agentForm) values() map[string]string {
	var modes []string
	for _, m := range core.AgentModes {
		if f.modes[m].Checked {
			modes = append(modes, m)
		}
	}
	return map[string]string{
		"host": f.host.entry.Text, "secret": f.secret.entry.Text, "group": f.group.entry.Text,
		"modes": strings.Join(modes, " "), "repository": yesNo(f.repository.Checked), "helpdesk": yesNo(f.helpdesk.Checked),
	}
}

// agent is the agent Add saves: the form's values.
func (f *agentForm) agent() core.Agent {
	vals := f.values()
	return core.Agent{Name: f.name.entry.Text, Host: vals["host"], Secret: vals["secret"], Group: vals["group"],
		Modes: strings.Fields(vals["modes"]), Repository: vals["repository"] == "Yes", Helpdesk: vals["helpdesk"] == "Yes"}
}

// change is what Edit saves: the fields the form changed since it
// opened (changedSince), which core sets on the agent as stored at the
// save (Service.ChangeAgent). A secret left as it was, or emptied, is
// not sent, which keeps the stored one.
func (f *agentForm) change() core.AgentChange {
	var c core.AgentChange
	for k, v := range changedSince(f.opened, f.values()) {
		switch k {
		case "host":
			c.Host = &v
		case "secret":
			if v != "" {
				c.Secret = &v
			}
		case "group":
			c.Group = &v
		case "modes":
			m := strings.Fields(v)
			c.Modes = &m
		case "repository":
			b := v == "Yes"
			c.Repository = &b
		case "helpdesk":
			b := v == "Yes"
			c.Helpdesk = &b
		}
	}
	return c
}

// submit saves the agent. On an error the dialog stays open with every
// value as typed and the sentence next to the field at fault. An
// attached console saves off the UI thread (request.go), the form and
// Save disabled until the answer comes; a form closed meanwhile is not
// shown again.
func (f *agentForm) submit() {
	if f.save.Disabled() {
		return // Enter while a save is on its way
	}
	for _, fl := range f.fields() {
		fl.setError("")
	}
	f.setModesError("")
	f.general.Hide()
	if f.values()["modes"] == "" {
		f.showError(core.FieldError("modes", "Choose at least one authentication mode."))
		return
	}
	svc, editing := f.s.c.svc, f.editing
	name := editing
	var save func() error
	if editing != "" {
		change := f.change()
		save = func() error {
			err := svc.ChangeAgent(editing, change)
			if core.ErrorCode(err) == core.CodeNotFound {
				err = core.Errorf(core.CodeNotFound, "The agent %s was deleted while this form was open, so nothing was saved.", editing)
			}
			return err
		}
	} else {
		a := f.agent()
		name = a.Name
		save = func() error {
			if _, ok := storedAgent(svc, a.Name); ok {
				return core.FieldError("name", "An agent called %q already exists.", a.Name)
			}
			return svc.PutAgent(a)
		}
	}
	requestErr(f.s.c, f.hold(), save, func(err error) {
		if f.s.form != f {
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
		// Selected once the list shows it: selected before, a read asked
		// before the save and answered after it would drop the selection.
		s := f.s
		s.refreshThen(func() {
			s.selected = name
			s.keepSelection()
		})
	})
}

// hold is Save and every value of the form: what waits disabled while an
// attached console's save is on its way (request.go). The form closes
// when it went through, so a value changed meanwhile would be dropped
// without a word.
func (f *agentForm) hold() []fyne.Disableable {
	ws := []fyne.Disableable{f.save, f.generate, f.repository, f.helpdesk}
	for _, fl := range f.fields() {
		// The group's list button goes with it (widget.SelectEntry).
		if d, ok := fl.input.(fyne.Disableable); ok {
			ws = append(ws, d)
		}
	}
	for _, ch := range f.modes {
		ws = append(ws, ch)
	}
	return ws
}

// stored is the agent called name as the service holds it.
func (f *agentForm) stored(name string) (core.Agent, bool) { return storedAgent(f.s.c.svc, name) }

// storedAgent is the agent called name as svc holds it.
func storedAgent(svc core.ConsoleAPI, name string) (core.Agent, bool) {
	for _, a := range svc.Agents() {
		if core.Key(a.Name) == core.Key(name) {
			return a, true
		}
	}
	return core.Agent{}, false
}

func (f *agentForm) showError(err error) {
	msg := core.ErrorMessage(err)
	var ce *core.Error
	if errors.As(err, &ce) {
		if ce.Field == "modes" {
			f.setModesError(msg)
			return
		}
		if fl, ok := f.fields()[ce.Field]; ok {
			fl.setError(msg)
			return
		}
	}
	f.general.SetText(msg)
	f.general.Show()
	relayout(f.dlg)
}
