package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// userColumns are the widths of username, full name, email, device and
// account state.
var userColumns = columns{0.14, 0.18, 0.22, 0.32, 0.14}

// usersScreen is User Management: the searchable list of users and the
// actions on the selected one.
type usersScreen struct {
	c *Console

	search *widget.Entry
	list   *widget.List
	empty  *widget.Label // shown instead of rows when there are none

	add, edit, del, lock, reprovision *widget.Button

	all      []userRow
	shown    []userRow // all, filtered by search
	selected string    // core.Key of the selected user; "" for none

	form    *userForm             // the open Add/Edit dialog, if any
	confirm *dialog.ConfirmDialog // the open Delete confirmation, if any

	content fyne.CanvasObject
}

// userRow is a user with the expiry of their pending provision code.
type userRow struct {
	core.User
	pending time.Time // zero when no code is pending
}

func newUsersScreen(c *Console) *usersScreen {
	s := &usersScreen{c: c}
	s.search = widget.NewEntry()
	s.search.SetPlaceHolder("Search username, full name or email")
	s.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	s.search.OnChanged = func(string) { s.applyFilter() }

	s.list = widget.NewList(
		func() int { return len(s.shown) },
		func() fyne.CanvasObject { return container.New(userColumns, newCells(len(userColumns))...) },
		s.updateRow,
	)
	s.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(s.shown) {
			s.selected = core.Key(s.shown[id].Name)
		}
		s.updateButtons()
	}
	s.list.OnUnselected = func(widget.ListItemID) {
		s.selected = ""
		s.updateButtons()
	}
	s.empty = &widget.Label{Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord}

	s.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() { s.openForm(nil) })
	s.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() {
		if r, ok := s.selectedRow(); ok {
			s.openForm(&r.User)
		}
	})
	s.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), s.confirmDelete)
	s.lock = widget.NewButton("Lock", s.toggleLock)
	s.reprovision = widget.NewButtonWithIcon("Reprovision", theme.ViewRefreshIcon(), func() {
		if r, ok := s.selectedRow(); ok {
			c.openReprovision(r.Name)
		}
	})
	s.add.Importance = widget.HighImportance

	buttons := container.NewHBox(s.add, s.edit, s.del, s.lock, s.reprovision)
	top := container.NewVBox(
		newHeading("User Management"),
		container.NewBorder(nil, nil, nil, buttons, s.search),
		newHeader(userColumns, "Username", "Full name", "Email", "Device", "Account"),
		widget.NewSeparator(),
	)
	s.content = container.NewBorder(top, nil, nil, nil, container.NewStack(s.list, container.NewCenter(s.empty)))
	s.refresh()
	return s
}

// refresh reloads users and pending codes from the service, keeping the
// search and the selection.
func (s *usersScreen) refresh() {
	users, err := s.c.svc.Users()
	if err != nil {
		s.all = nil
		s.empty.SetText("The users could not be read: " + core.ErrorMessage(err))
		s.applyFilter()
		return
	}
	pending, err := s.c.svc.PendingCodes()
	if err != nil {
		pending = nil // the device column just won't mention codes
	}
	s.all = make([]userRow, len(users))
	for i, u := range users {
		s.all[i] = userRow{User: u, pending: pending[u.Name]}
	}
	s.empty.SetText("")
	s.applyFilter()
}

// applyFilter recomputes the shown rows from the search text.
func (s *usersScreen) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(s.search.Text))
	s.shown = s.shown[:0]
	for _, r := range s.all {
		if matches(q, r.Name, r.FullName, r.Email) {
			s.shown = append(s.shown, r)
		}
	}
	switch {
	case len(s.shown) > 0:
		s.empty.Hide()
	case len(s.all) == 0 && s.empty.Text == "":
		s.empty.SetText("No users yet. Add one to get started.")
		s.empty.Show()
	case len(s.all) == 0:
		s.empty.Show() // an error message from refresh
	default:
		s.empty.SetText(fmt.Sprintf("No user matches “%s”.", strings.TrimSpace(s.search.Text)))
		s.empty.Show()
	}
	s.list.Refresh()

	// Keep the selection on the same user if they are still shown.
	for i, r := range s.shown {
		if core.Key(r.Name) == s.selected {
			s.list.Select(i)
			s.updateButtons()
			return
		}
	}
	s.list.UnselectAll()
	s.selected = ""
	s.updateButtons()
}

func (s *usersScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(s.shown) {
		return
	}
	r := s.shown[id]
	cells := o.(*fyne.Container).Objects
	cells[0].(*widget.Label).SetText(r.Name)
	cells[1].(*widget.Label).SetText(r.FullName)
	cells[2].(*widget.Label).SetText(r.Email)
	cells[3].(*widget.Label).SetText(deviceState(r, s.c.svc.Now()))
	state := cells[4].(*widget.Label)
	state.Importance = widget.MediumImportance
	if r.Locked || r.Disabled {
		state.Importance = widget.DangerImportance
	}
	state.SetText(accountState(r.User))
}

// deviceState describes a user's phone: none, provisioned (when, which
// OS) and any provision code still waiting to be used.
func deviceState(r userRow, now time.Time) string {
	var parts []string
	if r.Provisioned() {
		p := "provisioned at " + r.ProvisionedAt.Local().Format(dateTimeFormat)
		if r.DeviceOS != "" {
			p += " (" + r.DeviceOS + ")"
		}
		parts = append(parts, p)
	}
	// PendingCodes was read at the last refresh; codes expire silently.
	if now.Before(r.pending) {
		parts = append(parts, "pending code until "+r.pending.Local().Format(dateTimeFormat))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// accountState lists what stops a user from signing in.
func accountState(u core.User) string {
	var parts []string
	if u.Locked {
		parts = append(parts, "locked")
	}
	if u.Disabled {
		parts = append(parts, "disabled")
	}
	if !u.MobileAllowed {
		parts = append(parts, "no mobile client")
	}
	if len(parts) == 0 {
		return "active"
	}
	return strings.Join(parts, ", ")
}

func (s *usersScreen) selectedRow() (userRow, bool) {
	for _, r := range s.shown {
		if core.Key(r.Name) == s.selected && s.selected != "" {
			return r, true
		}
	}
	return userRow{}, false
}

func (s *usersScreen) updateButtons() {
	r, ok := s.selectedRow()
	for _, b := range []*widget.Button{s.edit, s.del, s.lock, s.reprovision} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if ok && r.Locked {
		s.lock.SetText("Unlock")
	} else {
		s.lock.SetText("Lock")
	}
}

func (s *usersScreen) confirmDelete() {
	r, ok := s.selectedRow()
	if !ok {
		return
	}
	name := r.Name
	msg := fmt.Sprintf("Delete %s? Their phone stops working and any pending provision code is cancelled. This cannot be undone.", name)
	s.confirm = dialog.NewConfirm("Delete user", msg, func(yes bool) {
		s.confirm = nil
		if !yes {
			return
		}
		if err := s.c.svc.DeleteUser(name); err != nil {
			s.c.showError(err)
		}
		s.refresh()
	}, s.c.win)
	s.confirm.SetConfirmText("Delete")
	s.confirm.SetConfirmImportance(widget.DangerImportance)
	s.confirm.Show()
}

func (s *usersScreen) toggleLock() {
	r, ok := s.selectedRow()
	if !ok {
		return
	}
	_, err := s.c.svc.UpdateUser(r.Name, func(u *core.User) error {
		u.Locked = !r.Locked
		return nil
	})
	if err != nil {
		s.c.showError(err)
	}
	s.refresh()
}
