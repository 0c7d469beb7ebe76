package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCLI_ProfileAssignAttached: while a Provisio holds the data
// directory, "profile assign NAME --user U" attaches through the admin
// socket instead of failing with "in use"; the user's effective profile
// changes in the running server's store and the audit line names the
// operator. The group form still needs the directory itself.
func TestCLI_ProfileAssignAttached(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", "alice", "--group", "Sales", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, dir, "profile", "add", "VIP", "--email", "vip@example.org"); code != 0 {
		t.Fatal(errOut)
	}
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	loopbackEnv(t, e)
	var adminErr bytes.Buffer
	stopAdmin := e.startAdmin(&adminErr)
	defer stopAdmin()

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
