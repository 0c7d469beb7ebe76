package main

import (
	"bytes"
	"strings"
	"testing"

	"provisio/core"
)

// TestCLI_ClientLog: "provisio user clientlog NAME" prints what the
// user's phone uploaded, newest first; --clear deletes it and the audit
// log records who did.
func TestCLI_ClientLog(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	e := withClientLogs(t, dir, "first upload", "second upload")
	e.close()

	_, out, _ := runCLI(t, dir, "user", "clientlog", "alice")
	if i, j := strings.Index(out, "second upload"), strings.Index(out, "first upload"); i < 0 || j < i || !strings.Contains(out, "UTC, 13 bytes ===") {
		t.Fatalf("not newest first with time and size:\n%s", out)
	}

	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"user", "clientlog", "ALICE"}, 0, "Client log of alice: 2 uploads, 25 bytes, newest first.", ""},
		{[]string{"user", "clientlog", "nobody"}, 1, "", `There is no user "nobody".`},
		{[]string{"user", "clientlog", "alice", "--clear"}, 0, "Client log of alice cleared (2 uploads deleted).", ""},
		{[]string{"user", "clientlog", "alice"}, 0, "No diagnostic log uploaded for alice.", ""},
		{[]string{"user", "--help"}, 0, "user clientlog NAME [--clear]", ""},
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
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	tail, _ := e.svc.LogTail(20)
	found := false
	for _, l := range tail {
		found = found || l.Message == `Client log of user "alice" cleared (2 uploads)` && l.Actor == "the command line"
	}
	if !found {
		t.Fatal("the audit log does not record the clear")
	}
}

// TestCLI_ClientLogAttached: while a Provisio holds the data directory,
// "user clientlog" attaches through the admin API instead of failing with
// "in use", and the clear is logged with the operator.
func TestCLI_ClientLogAttached(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatal(errOut)
	}
	e := withClientLogs(t, dir, "phone says hello")
	defer e.close()
	loopbackEnv(t, e)
	var errOut bytes.Buffer
	stopAdmin := e.startAdmin(&errOut)
	defer stopAdmin()

	for _, tt := range []struct {
		args    []string
		code    int
		wantOut string
	}{
		{[]string{"user", "clientlog", "alice"}, 0, "phone says hello"},
		{[]string{"user", "clientlog", "alice", "--clear"}, 0, "Client log of alice cleared (1 upload deleted)."},
		{[]string{"user", "clientlog", "alice"}, 0, "No diagnostic log uploaded for alice."},
	} {
		code, out, stderr := runCLI(t, dir, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.wantOut) {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", tt.args, code, out, stderr)
		}
	}
	tail, _ := e.svc.LogTail(20)
	found := false
	for _, l := range tail {
		found = found || strings.HasPrefix(l.Message, `Client log of user "alice" cleared (`) && strings.HasPrefix(l.Actor, "a console or command on this machine (uid ")
	}
	if !found {
		t.Fatalf("the audit log does not name the operator who cleared: %v", tail)
	}
}

// withClientLogs opens dir, turns client logging on for alice through a
// profile, provisions her phone and uploads texts from it, oldest first.
func withClientLogs(t *testing.T, dir string, texts ...string) *env {
	t.Helper()
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(e.svc.Settings().MobileClient)}
	p.SupportEmail, p.Logging = "help@example.org", true
	if err := e.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AssignProfileToUser("Diagnostics", "alice"); err != nil {
		t.Fatal(err)
	}
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "Android 15")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range texts {
		if _, err := e.svc.UploadClientLog("127.0.0.1", pr.DeviceID, "", text); err != nil {
			t.Fatal(err)
		}
	}
	return e
}
