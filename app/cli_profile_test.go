package main

import (
	"strings"
	"testing"
)

// TestCLI_Profile drives "provisio profile …" as the issue spells it,
// against a real data directory.
func TestCLI_Profile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"alice", "bob"} {
		if code, out, errOut := runCLIIn(t, dir, "9132\n", "user", "add", name, "--group", "Sales", "--pin", "-"); code != 0 || !strings.Contains(out, `User "`+name+`" added.`) {
			t.Fatalf("user add %s: exit %d, stdout %q, stderr %q", name, code, out, errOut)
		}
	}
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"profile", "list"}, 0, "Default", ""},
		{[]string{"profile", "show", "Default"}, 0, "pin_cache_timeout", ""},
		{[]string{"profile", "show", "Default"}, 0, "allow_pin_entry", ""},
		{[]string{"profile", "add", "Sales"}, 1, "", "Enter the customer-service email"},
		{[]string{"profile", "add", "Sales", "--email", "sales@example.org"}, 0, "Profile Sales created", ""},
		{[]string{"profile", "add", "sales", "--email", "sales@example.org"}, 1, "", `A profile called "sales" already exists.`},
		{[]string{"profile", "add", "VIP", "--email", "vip@example.org"}, 0, "Profile VIP created", ""},
		{[]string{"profile", "set", "Sales", "pin_cache_timeout", "600"}, 0, "This affects 0 user(s)", ""},
		{[]string{"profile", "set", "Sales", "pin_mode", "sometimes"}, 1, "", `Enter optional or mandatory, not "sometimes".`},
		{[]string{"profile", "set", "Sales", "messaging", "on"}, 1, "", `There is no profile key "messaging"`},
		{[]string{"profile", "assign", "Sales"}, 2, "", "give exactly one of --group G or --user U"},
		{[]string{"profile", "assign", "Sales", "--group", "Sales"}, 0, "Group Sales now uses profile Sales.", ""},
		{[]string{"profile", "assign", "VIP", "--user", "bob"}, 0, "User bob now uses profile VIP (user).", ""},
		{[]string{"profile", "effective", "alice"}, 0, "PIN cache timeout (seconds): 600 — group Sales (profile Sales)", ""},
		{[]string{"profile", "effective", "bob"}, 0, "User bob: profile VIP (user)", ""},
		{[]string{"profile", "effective", "nobody"}, 1, "", `There is no user "nobody".`},
		{[]string{"profile", "list"}, 0, "Sales    sales@example.org  Sales            1", ""},
		{[]string{"profile", "set", "Sales", "logging", "yes"}, 0, "This affects 1 user(s)", ""},
		{[]string{"profile", "delete", "Default"}, 1, "", "The Default profile cannot be deleted"},
		{[]string{"profile", "delete", "VIP"}, 1, "", `Profile "VIP" is still assigned to 1 user (bob)`},
		{[]string{"profile", "delete", "VIP", "--reassign", "Default"}, 0, "Profile VIP deleted.", ""},
		// Reassigned to Default, bob follows his group's profile again.
		{[]string{"profile", "effective", "bob"}, 0, "User bob: profile Sales (group Sales)", ""},
		{[]string{"profile", "assign", "none", "--user", "bob"}, 0, "User bob now uses profile Sales (group Sales).", ""},
		{[]string{"settings", "set", "policy.mobile.support_email", "desk@example.org"}, 0, "", ""},
		{[]string{"profile", "show", "Default"}, 0, "desk@example.org", ""},
		{[]string{"profile", "--help"}, 0, "profile effective USER", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q",
					code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}
