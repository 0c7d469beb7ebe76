package ui

import (
	"sort"
	"strings"

	"provisio/core"
)

// The users list of the attached console: the rows, the selection and
// its reload off the UI thread (split from attached.go, which builds the
// window).

// selectedUser is the user selected in the list.
func (at *Attached) selectedUser() (core.AdminUser, bool) {
	if at.selected < 0 || at.selected >= len(at.users) {
		return core.AdminUser{}, false
	}
	return at.users[at.selected], true
}

// refreshUsers reloads the users off the UI thread.
func (at *Attached) refreshUsers() {
	go func() {
		users, err := at.api.Users()
		at.do(func() {
			if err != nil {
				// Cut off, the status line already says so and that
				// the window reconnects; a read that failed on the
				// way would replace that with less.
				if !at.down {
					at.say(core.ErrorMessage(err))
				}
				return
			}
			sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
			// Keep the selected user selected across a reload: events
			// arrive at any moment.
			sel := ""
			if at.selected >= 0 && at.selected < len(at.users) {
				sel = at.users[at.selected].Name
			}
			at.users = users
			if d := at.reprov; d != nil && !d.done && !listed(users, d.user) {
				d.userGone() // deleted elsewhere: the code died with the user
			}
			at.catchUp(users)
			at.userList.UnselectAll()
			for i, u := range users {
				if sel != "" && u.Name == sel {
					at.userList.Select(i)
				}
			}
			at.userList.Refresh()
			at.updateButtons()
		})
	}()
}

// catchUp tells an open Reprovision dialog that its code provisioned a
// phone, when the list says so: the "provisioned" event is lost when the
// phone provisions while this console is cut off from the service, and
// the list reread on reconnecting still tells.
func (at *Attached) catchUp(users []core.AdminUser) {
	d := at.reprov
	if d == nil || d.done {
		return
	}
	for _, u := range users {
		if core.Key(u.Name) == core.Key(d.user) {
			d.provisionedSince(u.ProvisionedAt, u.DeviceOS)
		}
	}
}

// listed says whether users holds the user called name.
func listed(users []core.AdminUser, name string) bool {
	for _, u := range users {
		if core.Key(u.Name) == core.Key(name) {
			return true
		}
	}
	return false
}

// attachedUserLine is one row of the users list.
func attachedUserLine(u core.AdminUser) string {
	s := u.Name
	if u.FullName != "" {
		s += " · " + u.FullName
	}
	switch {
	case u.PendingUntil != nil:
		s += " · code pending until " + u.PendingUntil.Local().Format("15:04")
	case u.ProvisionedAt != nil:
		s += " · provisioned " + u.ProvisionedAt.Local().Format("2006-01-02")
		if u.DeviceOS != "" {
			s += " (" + u.DeviceOS + ")"
		}
	case u.App == "" && u.AppPending == "":
		s += " · no device"
	}
	// An authenticator app is what such a user logs in with: "no device"
	// sent the helpdesk to reprovision someone whose app works.
	if u.App != "" {
		s += " · authenticator app (" + strings.ToUpper(u.App) + ")"
	}
	if u.AppPending != "" {
		s += " · authenticator app (" + strings.ToUpper(u.AppPending) + ") waiting for confirmation"
	}
	if u.Locked {
		s += " · " + u.LockText
	}
	if u.Disabled {
		s += " · disabled"
	}
	return s
}

// SelectUser selects the user called name in the list, as a click does;
// false when the list does not hold them (yet).
func (at *Attached) SelectUser(name string) bool {
	for i, u := range at.users {
		if u.Name == name {
			at.userList.Select(i)
			return true
		}
	}
	return false
}
