package ui

import "testing"

// TestUserQuery_Matches is the users search's rule, which the full
// console and the helpdesk window share: username, full name or email
// contains what was typed, in any case, spaces around it ignored, and
// never across two fields.
func TestUserQuery_Matches(t *testing.T) {
	alice := searchText("alice", "Alice Smith", "Alice.Smith@Example.org")
	for _, tt := range []struct {
		typed string
		want  bool
	}{
		{"", true},
		{"   ", true},
		{"ali", true},
		{"SMITH", true},
		{" smith ", true},
		{"alice smith", true},
		{"example.ORG", true},
		{"smith@", true},
		{"alicealice", false}, // username and full name are apart
		{"smithalice", false}, // full name and email too
		{"bob", false},
	} {
		if got := newUserQuery(tt.typed).matches(alice); got != tt.want {
			t.Errorf("%q matches alice: %v, want %v", tt.typed, got, tt.want)
		}
	}
	if got := noUserMatches("  bob "); got != "No user matches “bob”." {
		t.Errorf("no match says %q", got)
	}
}
