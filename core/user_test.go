package core

import (
	"net/netip"
	"strings"
	"testing"
)

func mustAddr(tb testing.TB, s string) netip.Addr {
	tb.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestValidateUser(t *testing.T) {
	tests := []struct {
		name  string
		u     User
		field string
	}{
		{"ok", User{Name: "alice", Email: "alice@example.org", Mobile: "+44 7700 900123", PIN: "1234"}, ""},
		{"no name", User{}, "name"},
		{"space in name", User{Name: "al ice"}, "name"},
		{"name only dots", User{Name: ".."}, "name"},
		{"name with dots", User{Name: "a..b"}, ""},
		{"bad email", User{Name: "a", Email: "alice"}, "email"},
		{"bad phone", User{Name: "a", Mobile: "12"}, "mobile"},
		{"short pin", User{Name: "a", PIN: "123"}, "pin"},
		{"long pin", User{Name: "a", PIN: "12345678901"}, "pin"},
		{"letters in pin", User{Name: "a", PIN: "12a4"}, "pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUser(&tt.u, 4, 10)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Field != tt.field {
				t.Fatalf("error = %v, want a field error on %s", err, tt.field)
			}
		})
	}
}

// TestValidateUsername: what a username may hold and the sentence for what
// it may not. A name must also survive as one segment of the admin API's
// paths (/v1/users/{name}): "/" would split it, and a segment of only dots
// is removed by URL resolution and redirected by net/http's mux.
func TestValidateUsername(t *testing.T) {
	const (
		chars = "A username cannot contain spaces or any of \" < > & ' / \\."
		dots  = "A username cannot be only dots."
	)
	tests := []struct {
		name, username, want string
	}{
		{"plain", "alice", ""},
		{"longest", strings.Repeat("a", MaxUsernameLen), ""},
		{"too long", strings.Repeat("a", MaxUsernameLen+1), "A username can have at most 64 characters."},
		{"empty", "", "Enter a username."},
		{"one dot", ".", dots},
		{"two dots", "..", dots},
		{"three dots", "...", dots},
		{"leading dot", ".alice", ""},
		{"trailing dot", "alice.", ""},
		{"dots inside", "a..b", ""},
		{"dots and a letter", "..a", ""},
		{"slash", "a/b", chars},
		{"only a slash", "/", chars},
		{"backslash", `a\b`, chars},
		{"space", "a b", chars},
		{"escaped slash as text", "a%2Fb", ""},
		{"escaped dots as text", "%2e%2e", ""},
		{"query and fragment marks", "q?x#y", ""},
		{"other punctuation", "+;:@=,$!*()[]{}|^`~%", ""},
		{"letters of other scripts", "jürgen.müller", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUsername(tt.username)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Field != "name" || e.Message != tt.want {
				t.Fatalf("error = %#v, want %q on the name", err, tt.want)
			}
		})
	}
}
