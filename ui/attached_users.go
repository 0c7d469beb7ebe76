package ui

import (
	"sort"
	"strings"

	"provisio/core"
)

// The users list of the attached console: the rows, the search, the
// selection and its reload off the UI thread (split from attached.go,
// which builds the window).

// selectedUser is the user selected in the list, if the search shows
// them.
func (at *Attached) selectedUser() (core.AdminUser, bool) {
	if at.selected == "" {
		return core.AdminUser{}, false
	}
	for _, j := range at.shown {
		if at.userKeys[j] == at.selected {
			return at.users[j], true
		}
	}
	return core.AdminUser{}, false
}

// refreshUsers reloads the users off the UI thread, keeping the search
// and the selected user.
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
			at.users = users
			at.texts = make([]string, len(users))
			at.userKeys = make([]string, len(users))
			for i, u := range users {
				at.texts[i] = searchText(u.Name, u.FullName, u.Email)
				at.userKeys[i] = core.Key(u.Name)
			}
			if d := at.reprov; d != nil && !d.done && !listed(users, d.user) {
				d.userGone() // deleted elsewhere: the code died with the user
			}
			at.catchUp(users)
			// Events arrive at any moment: the search stays as typed and
			// the selected user selected, if it still finds them.
			at.applyFilter()
		})
	}()
}

// searchChanged shows the rows the search finds, with the list's
// keyboard highlight on the first, as the full console does
// (usersScreen.highlightTop).
func (at *Attached) searchChanged() {
	at.applyFilter()
	highlightFirst(at.userList, at.mostRows)
	at.mostRows = len(at.shown)
	for i, j := range at.shown {
		if at.userKeys[j] == at.selected {
			at.userList.ScrollTo(i)
			break
		}
	}
}

// applyFilter recomputes the rows shown from the search text, and keeps
// the selection on the same user if they are still shown; otherwise
// nothing is selected, so no action applies to a user the search hides
// or to whoever took their row.
func (at *Attached) applyFilter() {
	q := newUserQuery(at.search.Text)
	at.shown = at.shown[:0]
	for i := range at.texts {
		if q.matches(at.texts[i]) {
			at.shown = append(at.shown, i)
		}
	}
	at.mostRows = max(at.mostRows, len(at.shown))
	if len(at.shown) == 0 && q != "" {
		at.noMatch.SetText(noUserMatches(at.search.Text))
		at.noMatch.Show()
		// Laid out while hidden, it had no room: its box places it again.
		at.noMatchBox.Refresh()
	} else {
		at.noMatch.Hide()
	}
	at.userList.Refresh()
	if sel := at.selected; sel != "" {
		for i, j := range at.shown {
			if at.userKeys[j] == sel {
				at.userList.Select(i)
				at.updateButtons()
				return
			}
		}
	}
	at.userList.UnselectAll()
	at.selected = ""
	at.updateButtons()
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
// false when the list does not show them (not yet read, or hidden by the
// search).
func (at *Attached) SelectUser(name string) bool {
	for i, j := range at.shown {
		if at.users[j].Name == name {
			at.userList.Select(i)
			return true
		}
	}
	return false
}
