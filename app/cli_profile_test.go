package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"provisio/core"
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
		// The column is named as `profile show` and the console name the
		// field, after the Provisioning profile seed.
		{[]string{"profile", "list"}, 0, "PROFILE  CUSTOMER SERVICE EMAIL  GROUPS", ""},
		{[]string{"profile", "show", "Default"}, 0, "pin_cache_timeout", ""},
		{[]string{"profile", "show", "Default"}, 0, "allow_pin_entry", ""},
		// A missing flag is a usage error, exit 2, naming it (it was
		// exit 1 with the field's rule).
		{[]string{"profile", "add", "Sales"}, 2, "", "profile add needs --email E, the customer-service email every profile must have"},
		{[]string{"profile", "add", "Sales", "--email", ""}, 2, "", "profile add needs --email E"},
		{[]string{"profile", "add", "Sales", "--email"}, 2, "", "flag needs an argument: -email"},
		{[]string{"profile", "add", "Sales", "--email", "sales@example.org", "Extra"}, 2, "", "expected 1 argument"},
		{[]string{"profile", "add", "Sales", "--email", "sales@example.org"}, 0, "Profile Sales created", ""},
		{[]string{"profile", "add", "sales", "--email", "sales@example.org"}, 1, "", `A profile called "sales" already exists.`},
		{[]string{"profile", "add", "VIP", "--email", "vip@example.org"}, 0, "Profile VIP created", ""},
		{[]string{"profile", "set", "Sales", "pin_cache_timeout", "600"}, 0, "This affects 0 users", ""},
		{[]string{"profile", "set", "Sales", "pin_mode", "sometimes"}, 1, "", `Enter optional or mandatory, not "sometimes".`},
		{[]string{"profile", "set", "Sales", "messaging", "on"}, 1, "", `There is no profile key "messaging"`},
		// No profile field takes a negative number; one given without
		// "--" reaches the field's rule, which says the range.
		{[]string{"profile", "set", "Sales", "pin_lock_time", "-5"}, 1, "", "Enter a whole number from 0 to 86,400."},
		{[]string{"profile", "set", "Sales", "pin_max_retries", "-1"}, 1, "", "Enter a whole number from 1 to 100."},
		{[]string{"profile", "set", "Sales", "pin_cache_timeout", "--", "-60"}, 1, "", "Enter a whole number from 0 to 86,400."},
		{[]string{"profile", "set", "Sales", "pin_lock_time", "-x"}, 2, "", "provisio profile set: unknown option -x (see provisio profile set --help)"},
		{[]string{"profile", "assign", "Sales"}, 2, "", "give exactly one of --group G or --user U"},
		{[]string{"profile", "assign", "Sales", "--group", "Sales"}, 0, "Group Sales now uses profile Sales.", ""},
		{[]string{"profile", "assign", "VIP", "--user", "bob"}, 0, "User bob now uses profile VIP (user).", ""},
		{[]string{"profile", "effective", "alice"}, 0, "PIN cache timeout (seconds): 600 — group Sales (profile Sales)", ""},
		{[]string{"profile", "effective", "bob"}, 0, "User bob: profile VIP (user)", ""},
		{[]string{"profile", "effective", "nobody"}, 1, "", `There is no user "nobody".`},
		{[]string{"profile", "list"}, 0, "Sales    sales@example.org       Sales            1", ""},
		{[]string{"profile", "set", "Sales", "logging", "yes"}, 0, "This affects 1 user,", ""},
		{[]string{"profile", "delete", "Default"}, 1, "", "The Default profile cannot be deleted"},
		// The refusal names the flag that does it.
		{[]string{"profile", "delete", "VIP"}, 1, "", `Profile "VIP" is still assigned to 1 user (bob); assign them another profile first, or add --reassign OTHER to the command to move them to profile OTHER.`},
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

// TestCLI_NegativeNumberIsAnArgument: runCommand takes a negative number
// for an argument where the flag parser would read a flag, leaves one
// that is a flag's value to that flag, and still refuses an unknown flag.
func TestCLI_NegativeNumberIsAnArgument(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantN   int
		wantB   bool
		wantErr string
	}{
		{args: []string{"Sales", "pin_lock_time", "-5"}, wantPos: []string{"Sales", "pin_lock_time", "-5"}},
		{args: []string{"-5", "a"}, wantPos: []string{"-5", "a"}},
		{args: []string{"-0.5"}, wantPos: []string{"-0.5"}},
		{args: []string{"-.5"}, wantPos: []string{"-.5"}},
		{args: []string{"a", "--n", "-3", "-4"}, wantPos: []string{"a", "-4"}, wantN: -3},
		{args: []string{"--n=-3", "-4"}, wantPos: []string{"-4"}, wantN: -3},
		{args: []string{"--b", "-4"}, wantPos: []string{"-4"}, wantB: true},
		{args: []string{"-4", "--b", "a"}, wantPos: []string{"-4", "a"}, wantB: true},
		{args: []string{"a", "--", "-x"}, wantPos: []string{"a", "-x"}},
		{args: []string{"a", "-x"}, wantErr: "unknown option -x"},
		{args: []string{"a", "--bogus", "-5"}, wantErr: "unknown option --bogus"},
		{args: []string{"-5x"}, wantErr: "unknown option -5x"},
		{args: []string{"-Inf"}, wantErr: "unknown option -Inf"},
		{args: []string{"--n", "-x"}, wantErr: `invalid value "-x" for flag -n`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var gotPos []string
			var n *int
			var b *bool
			cmd := command{usage: "test ARGS", args: len(tt.wantPos), setup: func(fs *flag.FlagSet) action {
				n, b = fs.Int("n", 0, ""), fs.Bool("b", false, "")
				return func(_ *cli, pos []string) error { gotPos = pos; return nil }
			}}
			err := (&cli{out: io.Discard, errOut: io.Discard}).runCommand("test", cmd, tt.args)
			if tt.wantErr != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(ue.msg, tt.wantErr) {
					t.Fatalf("error %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(gotPos, tt.wantPos) || *n != tt.wantN || *b != tt.wantB {
				t.Fatalf("args %q, n %d, b %v, %v; want %q, %d, %v", gotPos, *n, *b, err, tt.wantPos, tt.wantN, tt.wantB)
			}
		})
	}
}

// TestReassignAdvice: the refusal to delete a profile still assigned
// names --reassign, also from a server whose sentence ends otherwise.
func TestReassignAdvice(t *testing.T) {
	tests := []struct{ server, want string }{
		{`Profile "VIP" is still assigned to group Sales; assign them another profile first, or delete it with another profile to reassign them to.`,
			`Profile "VIP" is still assigned to group Sales; assign them another profile first, or add --reassign OTHER to the command to move them to profile OTHER.`},
		{`Profile "VIP" is in use.`,
			`Profile "VIP" is in use. Add --reassign OTHER to the command to move them to profile OTHER.`},
	}
	for _, tt := range tests {
		err := reassignAdvice(core.Errorf(core.CodeConflict, "%s", tt.server))
		if core.ErrorCode(err) != core.CodeConflict || core.ErrorMessage(err) != tt.want {
			t.Errorf("%q: %v, want %q", tt.server, err, tt.want)
		}
	}
}
