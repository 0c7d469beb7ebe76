package core

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAttributes(t *testing.T) {
	many := map[string]string{}
	for i := 0; i <= MaxAttributes; i++ {
		many["a"+strings.Repeat("x", i)] = "v"
	}
	tests := []struct {
		name  string
		attrs map[string]string
		ok    bool
	}{
		{"none", nil, true},
		{"simple", map[string]string{"upn": "alice@corp", "employee.id": "E1", "cost_centre-2": "x y"}, true},
		{"upper case name", map[string]string{"UPN": "x"}, false},
		{"name starts with digit", map[string]string{"1st": "x"}, false},
		{"space in name", map[string]string{"a b": "x"}, false},
		{"field name", map[string]string{"email": "a@b.c"}, false},
		{"empty value", map[string]string{"upn": ""}, false},
		{"control in value", map[string]string{"upn": "a\nb"}, false},
		{"invalid utf-8", map[string]string{"upn": "a\xffb"}, false},
		{"long value", map[string]string{"upn": strings.Repeat("x", 257)}, false},
		{"longest value", map[string]string{"upn": strings.Repeat("x", 256)}, true},
		{"long name", map[string]string{strings.Repeat("a", 65): "x"}, false},
		{"too many", many, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAttributes(tt.attrs)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateAttributes = %v, want ok %v", err, tt.ok)
			}
			if err != nil && ErrorCode(err) != CodeInvalid {
				t.Fatalf("code %q, want invalid", ErrorCode(err))
			}
		})
	}
}

func TestUserSpec_Apply(t *testing.T) {
	str := func(s string) *string { return &s }
	yes := true
	u := User{Name: "alice", Email: "old@example.org", Attributes: map[string]string{"upn": "a@corp", "keep": "k"}}
	old := u.Attributes
	sp := UserSpec{Email: str("new@example.org"), Locked: &yes,
		Attributes: map[string]string{" UPN ": " b@corp ", "Mobile": "+44 20 7946 0001", "fullname": "Alice", "keep": ""}}
	if err := sp.apply(&u); err != nil {
		t.Fatal(err)
	}
	want := User{Name: "alice", Email: "new@example.org", Mobile: "+44 20 7946 0001", FullName: "Alice", Locked: true,
		Attributes: map[string]string{"upn": "b@corp"}}
	if u.Email != want.Email || u.Mobile != want.Mobile || u.FullName != want.FullName || !u.Locked ||
		len(u.Attributes) != 1 || u.Attributes["upn"] != "b@corp" {
		t.Fatalf("applied = %+v, want %+v", u, want)
	}
	if old["upn"] != "a@corp" || old["keep"] != "k" {
		t.Fatal("apply changed the original attribute map")
	}
	if err := (&UserSpec{Attributes: map[string]string{"bad name": "x"}}).apply(&u); ErrorCode(err) != CodeInvalid {
		t.Fatalf("bad attribute name: %v", err)
	}
	// Removing the last attribute leaves no empty map behind.
	if err := (&UserSpec{Attributes: map[string]string{"upn": ""}}).apply(&u); err != nil || u.Attributes != nil {
		t.Fatalf("remove last: %v %v", err, u.Attributes)
	}
}

func TestUser_Attribute(t *testing.T) {
	u := User{Name: "alice", Email: "Alice@Example.org", Mobile: "+44 20 7946 0001", FullName: "Alice Smith",
		Attributes: map[string]string{"upn": "alice@corp.example.org"}}
	tests := []struct {
		name, value string
		match       bool
	}{
		{"email", "alice@example.org", true},
		{"EMAIL", " ALICE@EXAMPLE.ORG ", true},
		{"mobile", "+442079460001", true},
		{"mobile", "+44 (20) 7946-0001", true},
		{"mobile", "+442079460002", false},
		{"fullname", "alice smith", true},
		{"upn", "Alice@Corp.Example.org", true},
		{"upn", "bob@corp.example.org", false},
		{"employee", "", false},
	}
	for _, tt := range tests {
		v, ok := u.Attribute(tt.name)
		if got := ok && attributeMatches(tt.name, v, tt.value); got != tt.match {
			t.Errorf("%s = %q matches %q: %v, want %v", tt.name, v, tt.value, got, tt.match)
		}
	}
	if _, ok := (User{}).Attribute("mobile"); ok {
		t.Error("an empty field is an attribute")
	}
	if attributeMatches("mobile", "", "") {
		t.Error("two empty phone numbers match")
	}
}

func TestParseNewOTC(t *testing.T) {
	tests := []struct {
		in     string
		index  int
		want   string
		wantOK bool
	}{
		{"5432", 2, "5432", true},
		{" 5432 ", 2, "5432", true},
		{"5432,02", 2, "5432", true},
		{"543202", 2, "543202", true}, // never read as carrying an index
		{"5432,03", 2, "", false},     // another string's index
		{"5432,2", 2, "", false},
		{"54", 2, "", false},
		{"54321098765", 2, "", false},
		{"54a2", 2, "", false},
		{"", 2, "", false},
		{",02", 2, "", false},
	}
	for _, tt := range tests {
		got, ok := parseNewOTC(tt.in, tt.index, 4, 10)
		if ok != tt.wantOK || ok && got != tt.want {
			t.Errorf("parseNewOTC(%q, %d) = %q, %v; want %q, %v", tt.in, tt.index, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSessionTable_Bounded(t *testing.T) {
	var st memSessions
	now := systemClock{}.Now()
	for i := 0; i < MaxSessions; i++ {
		if err := st.Add(NewDeviceID(), Session{User: "a", Agent: "vpn", Expires: now.Add(SessionTTL)}, now); err != nil {
			t.Fatalf("session %d refused: %v", i, err)
		}
	}
	if err := st.Add(NewDeviceID(), Session{User: "a", Agent: "vpn", Expires: now.Add(SessionTTL)}, now); !errors.Is(err, ErrTooManySessions) {
		t.Fatalf("the table grew past its bound: %v", err)
	}
	// Once they expire, their room is reused.
	later := now.Add(SessionTTL)
	if err := st.Add("fresh", Session{User: "a", Agent: "vpn", Expires: later.Add(SessionTTL)}, later); err != nil {
		t.Fatalf("expired sessions were not pruned: %v", err)
	}
	if _, ok, _ := st.Take("fresh", "other", later); ok {
		t.Fatal("another agent took the session")
	}
	if _, ok, _ := st.Take("fresh", "vpn", later); !ok {
		t.Fatal("the owner could not take the session")
	}
}
