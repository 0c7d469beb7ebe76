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

func TestGroupDigits(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{90000, "90,000"},
		{100000, "100,000"},
		{1234567, "1,234,567"},
		{-100, "-100"},
		{-1000, "-1,000"},
		{-123456, "-123,456"},
	}
	for _, tt := range tests {
		if got := core.GroupDigits(tt.n); got != tt.want {
			t.Errorf("GroupDigits(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPluralGrouped(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 users"},
		{1, "1 user"},
		{2, "2 users"},
		{999, "999 users"},
		{1000, "1,000 users"},
		{90000, "90,000 users"},
	}
	for _, tt := range tests {
		if got := core.PluralGrouped(tt.n, "user", "users"); got != tt.want {
			t.Errorf("PluralGrouped(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
