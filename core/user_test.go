package core

import (
	"net/netip"
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
