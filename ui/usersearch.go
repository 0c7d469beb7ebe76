package ui

import (
	"fmt"
	"strings"
)

// The users search's rule, one for the full console's User Management
// (users.go) and the helpdesk's attached window (attached_users.go): a
// user matches when their username, full name or email contains what
// was typed, in any case; spaces around it do not count, and nothing
// typed matches everyone. Both lists make each user's searchText once
// per read and a userQuery once per keystroke, so a keystroke at 10,000
// users is a scan of short lower-cased strings.

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
