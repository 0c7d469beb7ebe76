package core_test

import (
	"testing"

	"provisio/core"
)

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 users"},
		{1, "1 user"},
		{2, "2 users"},
		{1000, "1000 users"},
	}
	for _, tt := range tests {
		if got := core.Plural(tt.n, "user", "users"); got != tt.want {
			t.Errorf("Plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
