package main

import (
	"strings"
	"testing"

	"provisio/core"
)

// TestCLI_ProfileAssignAttached: while a Provisio holds the data
// directory, "profile assign NAME --user U" attaches through the admin
// socket instead of failing with "in use"; the user's effective profile
// changes in the running server's store and the audit line names the
// operator.
func TestCLI_ProfileAssignAttached(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", "alice", "--group", "Sales", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, dir, "profile", "add", "VIP", "--email", "vip@example.org"); code != 0 {
		t.Fatal(errOut)
	}
	e := heldWithAdmin(t, dir)

	effective := func() string {
		eff, err := e.svc.EffectiveProfile("alice")
		if err != nil {
			t.Fatal(err)
		}
		return eff.Profile.Name + " (" + string(eff.Source) + ")"
	}
	for _, tt := range []struct {
		args          []string
		code          int
		wantOut       string
		wantErr       string
		wantEffective string
	}{
		{[]string{"profile", "assign", "vip", "--user", "alice"}, 0, "User alice now uses profile VIP (user).", "attached", "VIP (user)"},
		{[]string{"profile", "assign", "Nope", "--user", "alice"}, exitError, "", `There is no profile "Nope".`, "VIP (user)"},
		{[]string{"profile", "assign", "VIP", "--user", "nobody"}, exitError, "", `There is no user "nobody".`, "VIP (user)"},
		{[]string{"profile", "assign", "none", "--user", "ALICE"}, 0, "User alice now uses profile Default (default).", "attached", "Default (default)"},
	} {
		code, out, stderr := runCLI(t, dir, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.wantOut) || !strings.Contains(stderr, tt.wantErr) {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q", tt.args, code, out, stderr, tt.code, tt.wantOut, tt.wantErr)
		}
		if got := effective(); got != tt.wantEffective {
			t.Fatalf("%v: alice's effective profile is %s in the server's store, want %s", tt.args, got, tt.wantEffective)
		}
	}
	tail, _ := e.svc.LogTail(20)
	found := false
	for _, l := range tail {
		found = found || l.Message == `User "alice" now uses profile "VIP".` && strings.HasPrefix(l.Actor, "a console or command on this machine (uid ")
	}
	if !found {
		t.Fatalf("the audit log does not name the operator who assigned: %v", tail)
	}
}

// TestCLI_ProfileCommandsAttached: while a Provisio holds the data
// directory, every profile command (list, show, add, set, delete, assign
// --group, effective) attaches through the admin socket instead of
// failing with "in use": each does what it does on the directory
// itself, with the same output or refusal, its change is in the holding
// process's service, a refused one changes nothing, and the audit line
// names the operator on the socket rather than "the command line".
// TestCLI_Profile runs the same commands with nothing running.
func TestCLI_ProfileCommandsAttached(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"alice", "bob"} {
		if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", name, "--group", "Sales", "--pin", "-"); code != 0 {
			t.Fatal(errOut)
		}
	}
	e := heldWithAdmin(t, dir)

	profile := func(name string) (core.Profile, bool) {
		p, err := e.svc.Profile(name)
		if core.ErrorCode(err) == core.CodeNotFound {
			return core.Profile{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return p, true
	}
	effective := func(user string) string {
		eff, err := e.svc.EffectiveProfile(user)
		if err != nil {
			t.Fatal(err)
		}
		return eff.Profile.Name + " (" + string(eff.Source) + ")"
	}
	for _, tt := range []struct {
		args    []string
		code    int
		wantOut string
		wantErr string
		// check looks at the holding process's service afterwards.
		check func() string
		// audit is how the audit line this command writes begins.
		audit string
	}{
		{args: []string{"profile", "list"}, wantOut: "Default", wantErr: "attached"},
		{args: []string{"profile", "add", "Sales", "--email", "sales@example.org"}, wantOut: "Profile Sales created from the Default profile's values",
			check: func() string {
				if p, ok := profile("Sales"); !ok || p.SupportEmail != "sales@example.org" || p.PINMode != core.PINModeOptional {
					return "profile Sales was not created from the Default's values"
				}
				return ""
			}, audit: `Profile "Sales" created`},
		// An email of only a space reaches the server's rule; no
		// --email at all is a usage error before attaching (TestCLI_Profile).
		{args: []string{"profile", "add", "Other", "--email", " "}, code: exitError, wantErr: "Enter the customer-service email",
			check: func() string {
				if _, ok := profile("Other"); ok {
					return "profile Other was created without an email"
				}
				return ""
			}},
		{args: []string{"profile", "add", "sales", "--email", "x@example.org"}, code: exitError, wantErr: `A profile called "sales" already exists.`},
		{args: []string{"profile", "show", "Sales"}, wantOut: "pin_cache_timeout"},
		{args: []string{"profile", "show", "Nope"}, code: exitError, wantErr: `There is no profile "Nope".`},
		{args: []string{"profile", "set", "Sales", "pin_cache_timeout", "600"}, wantOut: "Saved. This affects 0 users",
			check: func() string {
				if p, _ := profile("Sales"); p.PINCacheTimeout != 600 {
					return "pin_cache_timeout was not saved"
				}
				return ""
			}, audit: `Profile "Sales" saved`},
		{args: []string{"profile", "set", "Sales", "pin_mode", "sometimes"}, code: exitError, wantErr: `Enter optional or mandatory, not "sometimes".`,
			check: func() string {
				if p, _ := profile("Sales"); p.PINMode != core.PINModeOptional || p.PINCacheTimeout != 600 {
					return "a refused value changed the profile"
				}
				return ""
			}},
		{args: []string{"profile", "set", "Sales", "messaging", "on"}, code: exitError, wantErr: `There is no profile key "messaging"`},
		{args: []string{"profile", "set", "Nope", "logging", "yes"}, code: exitError, wantErr: `There is no profile "Nope".`},
		{args: []string{"profile", "assign", "Sales", "--group", "Sales"}, wantOut: "Group Sales now uses profile Sales.",
			check: func() string {
				if got := effective("alice"); got != "Sales (group Sales)" {
					return "alice's effective profile is " + got
				}
				return ""
			}, audit: `Group Sales now uses profile "Sales"`},
		{args: []string{"profile", "assign", "Nope", "--group", "Sales"}, code: exitError, wantErr: `There is no profile "Nope".`,
			check: func() string {
				if got := effective("alice"); got != "Sales (group Sales)" {
					return "a refused assignment changed alice's effective profile to " + got
				}
				return ""
			}},
		{args: []string{"profile", "effective", "alice"}, wantOut: "PIN cache timeout (seconds): 600 — group Sales (profile Sales)"},
		{args: []string{"profile", "effective", "nobody"}, code: exitError, wantErr: `There is no user "nobody".`},
		{args: []string{"profile", "list"}, wantOut: "Sales    sales@example.org       Sales            2"},
		{args: []string{"profile", "delete", "Default"}, code: exitError, wantErr: "The Default profile cannot be deleted"},
		{args: []string{"profile", "delete", "Sales"}, code: exitError, wantErr: `Profile "Sales" is still assigned to group Sales; assign them another profile first, or add --reassign OTHER to the command to move them to profile OTHER.`,
			check: func() string {
				if _, ok := profile("Sales"); !ok {
					return "a refused delete deleted the profile"
				}
				return ""
			}},
		{args: []string{"profile", "assign", "none", "--group", "Sales"}, wantOut: "Group Sales now uses profile Default.",
			check: func() string {
				if got := effective("alice"); got != "Default (default)" {
					return "alice's effective profile is " + got
				}
				return ""
			}, audit: `Group Sales now uses profile "Default"`},
		{args: []string{"profile", "delete", "Sales"}, wantOut: "Profile Sales deleted.",
			check: func() string {
				if _, ok := profile("Sales"); ok {
					return "profile Sales is still there"
				}
				return ""
			}, audit: `Profile "Sales" deleted`},
	} {
		code, out, stderr := runCLI(t, dir, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.wantOut) || !strings.Contains(stderr, tt.wantErr) || !strings.Contains(stderr, "provisio: attached to the Provisio running on "+dir+".") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q after the attach notice", tt.args, code, out, stderr, tt.code, tt.wantOut, tt.wantErr)
		}
		if tt.check != nil {
			if problem := tt.check(); problem != "" {
				t.Fatalf("%v: in the running server's service, %s", tt.args, problem)
			}
		}
		if tt.audit != "" {
			auditNamesOperator(t, e, tt.audit)
		}
	}
	tail, err := e.svc.LogTail(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range tail {
		profileLine := strings.HasPrefix(l.Message, "Profile ") || strings.HasPrefix(l.Message, "Group ")
		if profileLine && l.Actor == core.CommandLine {
			t.Errorf("an attached command's audit line names %q, not the operator: %s", core.CommandLine, l.Message)
		}
	}
}

// auditNamesOperator fails unless an audit line beginning with prefix
// names the operator on the admin socket (its uid) as who acted.
func auditNamesOperator(t *testing.T, e *env, prefix string) {
	t.Helper()
	tail, err := e.svc.LogTail(50)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range tail {
		if strings.HasPrefix(l.Message, prefix) && strings.Contains(l.Actor, "uid ") {
			return
		}
	}
	t.Fatalf("no audit line %q… naming the operator: %v", prefix, tail)
}
