package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The users search, one for the full console's User Management
// (users.go) and the helpdesk's attached window (attached_users.go): a
// user matches when their username, full name or email contains what
// was typed, in any case; spaces around it do not count, and nothing
// typed matches everyone. Both lists make each user's searchText once
// per read and a userQuery once per keystroke, so a keystroke at 10,000
// users is a scan of short lower-cased strings. The search box and its
// keys are made here too, so the two lists' boxes read and work alike.

// searchText is what the search looks in for a user: the three fields,
// lower-cased, apart so that a query cannot match across two of them.
func searchText(name, fullName, email string) string {
	return strings.ToLower(name + "\x00" + fullName + "\x00" + email)
}

// userQuery is a typed search as it is matched.
type userQuery string

// newUserQuery makes the query for what was typed in a search box.
func newUserQuery(typed string) userQuery {
	return userQuery(strings.ToLower(strings.TrimSpace(typed)))
}

// matches reports whether the user whose searchText is text matches q.
func (q userQuery) matches(text string) bool {
	return q == "" || strings.Contains(text, string(q))
}

// noUserMatches is what a list says when the search typed finds no one.
func noUserMatches(typed string) string {
	return fmt.Sprintf("No user matches “%s”.", strings.TrimSpace(typed))
}

// userSearchHint is the search box's placeholder.
const userSearchHint = "Search username, full name or email (Ctrl+F)"

// newUserSearch makes a users search box whose keys the box does not use
// go to k; changed runs at every edit.
func newUserSearch(k keyTarget, changed func()) *entry {
	e := newKeyEntry(k)
	e.SetPlaceHolder(userSearchHint)
	e.ActionItem = widget.NewIcon(theme.SearchIcon())
	e.OnChanged = func(string) { changed() }
	return e
}

// searchKeys gives a search box over list, in w, list-like keys: Escape
// clears it, Down moves into the list (selecting the first row when none
// is), and Enter picks the first row, so a helpdesk can type a name,
// press Enter and act on the user. rows is how many rows the list shows,
// selected whether one of them is selected.
func searchKeys(search *entry, list *widget.List, w fyne.Window, rows func() int, selected func() bool) {
	search.onKey = func(ev *fyne.KeyEvent) bool {
		switch ev.Name {
		case fyne.KeyEscape:
			if search.Text == "" {
				return false
			}
			search.SetText("")
			return true
		case fyne.KeyDown:
			if rows() == 0 {
				return false
			}
			if !selected() {
				list.Select(0)
			}
			w.Canvas().Focus(list)
			return true
		}
		return false
	}
	search.OnSubmitted = func(string) {
		if rows() > 0 {
			list.Select(0)
			w.Canvas().Focus(list)
		}
	}
}
