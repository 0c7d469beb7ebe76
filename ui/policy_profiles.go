package ui

import (
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

	// reads asks for the profiles and their counts, one trip at a time
	// (refresh).
	reads *reread[profilesRead]

	form    *profileForm
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
	s.reads = &reread[profilesRead]{c: c, show: s.show}
	if c.attached() {
		// The first read crosses the network: an empty list meanwhile
		// would read as "there are none".
		s.problem.Importance = widget.MediumImportance
		s.problem.SetText(profilesReading)
		s.problem.Show()
	}
	s.refresh()
	return s
}

// profilesReading is what an attached console's Profiles screen says
// until its first read comes.
const profilesReading = "Reading the profiles from the service…"

// profilesRead is what the Profiles screen shows, read in one trip: the
// profiles, the Default among them, and how many users each reaches.
type profilesRead struct {
	all    []core.Profile
	counts map[string]int
}

// refresh reads the profiles and their user counts again. An attached
// console asks off the UI thread (reread), so a burst of events holds
// one request; the list stays as it is until the answer comes.
func (s *profilesScreen) refresh() { s.reads.ask(s.read()) }

// refreshThen is refresh, and then, once the answer to a read asked now
// or later has been shown, fn: what acts on the rows a change made (the
// profile saved selected, the focus moved off Delete… once the profile
// is gone) waits for them (reread.askThen).
func (s *profilesScreen) refreshThen(fn func()) { s.reads.askThen(s.read(), fn) }

// read is the request refresh sends.
func (s *profilesScreen) read() func() (profilesRead, error) {
	svc := s.c.svc
	return func() (profilesRead, error) {
		all, err := svc.Profiles()
		if err != nil {
			// Logged here, as it is a request too.
			_ = svc.Log(core.LevelError, "", "Profiles could not be read: %v", err)
			return profilesRead{}, err
		}
		r := profilesRead{all: all, counts: map[string]int{}}
		for _, p := range all {
			n, _ := svc.ProfileImpact(p.Name)
			r.counts[p.Name] = n
		}
		return r, nil
	}
}

// show puts a read on screen, keeping the selection.
func (s *profilesScreen) show(r profilesRead, err error) {
	if err != nil {
		// An empty list alone would read as "there are none".
		s.problem.Importance = widget.DangerImportance
		s.problem.SetText("The profiles could not be read, so none are shown. " + core.ErrorMessage(err))
		s.problem.Show()
	} else if s.problem.Visible() {
		s.problem.SetText("")
		s.problem.Hide()
	}
	s.profiles = r.all
	s.counts = r.counts
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.list.Refresh()
	s.keepSelection()
}

// keepSelection selects the selected profile again, or none when it is
// gone.
func (s *profilesScreen) keepSelection() {
	selectNamed(s.list, len(s.profiles), func(i int) string { return s.profiles[i].Name }, &s.selected)
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

// updateButtons enables the actions that fit the selected profile,
// through setEnabled: one whose request is on its way stays disabled.
func (s *profilesScreen) updateButtons() {
	p, ok := s.selectedProfile()
	s.c.setEnabled(ok, s.edit, s.del)
	// The Default is what a group without a profile gets already.
	s.c.setEnabled(ok && !p.IsDefault(), s.assign)
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
			// Off the Delete button the deletion disabled, once the
			// list shows the profile gone.
			s.refreshThen(func() { leaveDisabled(s.c.win.Canvas(), s.list, len(s.profiles), s.add) })
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
// group… held disabled meanwhile, a read of the list landing meanwhile
// too, so a second ask opens nothing more) and the count asked for the
// newest text only (latest), so a late count for an older text does not
// overwrite it.
func (s *profilesScreen) openAssign() {
	p, ok := s.selectedProfile()
	if !ok || p.IsDefault() || s.c.holding(s.assign) {
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
