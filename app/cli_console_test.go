package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"provisio/core/adminapi"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pairingCode reads the code from `console pair`'s output.
func pairingCode(t *testing.T, out string) (code, fingerprint string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(l, "): "); ok && strings.HasPrefix(l, "Pairing code for console ") {
			code = v
		}
		if v, ok := strings.CutPrefix(l, "Server certificate SHA-256: "); ok {
			fingerprint = v
		}
	}
	if code == "" || fingerprint == "" {
		t.Fatalf("console pair printed no code or fingerprint:\n%s", out)
	}
	return code, fingerprint
}

// TestCLI_RemoteConsole: `console pair` works on the data directory
// directly and attached to a running server; a console paired with the
// printed code runs commands with --connect over mutual TLS as its role
// allows; `console list` and `console revoke` manage the consoles, and a
// revoked one is refused at once.
func TestCLI_RemoteConsole(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PROVISIO_CONSOLE_DIR", t.TempDir())
	adminAddr := freeAddr(t)
	for _, args := range [][]string{
		{"settings", "set", "server.listen", freeAddr(t)},
		{"settings", "set", "server.admin_listen", adminAddr},
		{"settings", "set", "server.mtls_listen", ""},
		{"settings", "set", "server.advertise", "127.0.0.1"},
	} {
		if code, _, errOut := runCLI(t, dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	if code, _, errOut := runCLIIn(t, dir, "9132\n", "user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatalf("user add alice: %s", errOut)
	}
	// No server runs: the code is made in the data file, with the
	// certificate the server will present.
	code, out, errOut := runCLI(t, dir, "console", "pair", "desk-1")
	if code != 0 || !strings.Contains(out, `Pairing code for console "desk-1" (helpdesk): `) || !strings.Contains(out, "No Provisio server runs") ||
		!strings.Contains(out, "provisio --connect "+adminAddr) {
		t.Fatalf("console pair offline: %d\n%s%s", code, out, errOut)
	}
	offlineFP := func() string { _, fp := pairingCode(t, out); return fp }()
	if code, _, errOut := runCLI(t, dir, "console", "pair", "desk-1", "--role", "boss"); code != exitUsage || !strings.Contains(errOut, "not a role") {
		t.Errorf("a wrong role: %d %s", code, errOut)
	}

	stop := make(chan struct{})
	started := make(chan string, 1)
	var sOut, sErr syncBuffer
	c := &cli{out: &sOut, errOut: &sErr, stop: stop, started: started}
	done := make(chan int)
	go func() { done <- c.run([]string{"--data", dir, "serve"}) }()
	select {
	case <-started:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, sErr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not start")
	}
	defer func() {
		close(stop)
		<-done
	}()

	code, out, errOut = runCLI(t, dir, "console", "pair", "desk-2", "--role", "helpdesk")
	if code != 0 || !strings.Contains(errOut, "attached") {
		t.Fatalf("console pair attached: %d %s", code, errOut)
	}
	pc, fp := pairingCode(t, out)
	if fp != offlineFP {
		t.Errorf("the fingerprint changed between the offline and the attached pair: %s, %s", offlineFP, fp)
	}
	seen, serverPEM, err := adminapi.ServerFingerprint(adminAddr)
	if err != nil || seen != fp {
		t.Fatalf("the remote listener presents %s (%v), console pair printed %s", seen, err, fp)
	}
	// What `provisio --connect` does in its window.
	id, err := adminapi.Pair(adminAddr, seen, serverPEM, pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Save((&cli{}).identityDir(adminAddr)); err != nil {
		t.Fatal(err)
	}

	// The window --connect opens: the helpdesk's for this pairing, the
	// full console for an admin's, the helpdesk's when the server cannot
	// say who the console is.
	desk, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	if fullConsole(desk) {
		t.Error("a helpdesk pairing would open the full console")
	}
	code, out, errOut = runCLI(t, dir, "console", "pair", "boss-1", "--role", "admin")
	if code != 0 {
		t.Fatalf("console pair --role admin: %d %s", code, errOut)
	}
	apc, _ := pairingCode(t, out)
	adminID, err := adminapi.Pair(adminAddr, seen, serverPEM, apc)
	if err != nil {
		t.Fatal(err)
	}
	boss, err := adminapi.DialRemote(adminID)
	if err != nil {
		t.Fatal(err)
	}
	if !fullConsole(boss) {
		t.Error("an admin pairing would open the helpdesk window")
	}

	remote := func(args ...string) (int, string, string) {
		return runCLI(t, dir, append([]string{"--connect", adminAddr}, args...)...)
	}
	code, out, errOut = remote("user", "list")
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(errOut, "connected to "+adminAddr+" as desk-2 (helpdesk)") {
		t.Errorf("--connect user list: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := remote("reprovision", "alice"); code != 0 || !strings.Contains(out, "Provision code for alice: ") {
		t.Errorf("--connect reprovision: %d\n%s%s", code, out, errOut)
	}
	// The helpdesk may assign a profile to a user and read the profiles
	// (#14); changing them or a group's is refused with the server's
	// sentence, and nothing changes.
	if code, out, errOut := remote("profile", "assign", "Default", "--user", "alice"); code != 0 || !strings.Contains(out, "User alice now uses profile Default (user).") {
		t.Errorf("--connect profile assign as helpdesk: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := remote("profile", "list"); code != 0 || !strings.Contains(out, "(everyone else)") {
		t.Errorf("--connect profile list as helpdesk: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := remote("profile", "effective", "alice"); code != 0 || !strings.Contains(out, "User alice: profile Default (user)") {
		t.Errorf("--connect profile effective as helpdesk: %d\n%s%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"profile", "add", "Desk", "--email", "desk@example.org"},
		{"profile", "set", "Default", "pin_cache_timeout", "600"},
		{"profile", "assign", "Default", "--group", "Sales"},
		{"profile", "delete", "Default"},
	} {
		if code, _, errOut := remote(args...); code != exitError || !strings.Contains(errOut, `Console "desk-2" has the helpdesk role, which may not do this (profiles.write)`) {
			t.Errorf("--connect %v as helpdesk: %d %s", args, code, errOut)
		}
	}
	if code, out, _ := remote("profile", "show", "Default"); code != 0 || !hasProfileValue(out, "pin_cache_timeout", "300") {
		t.Errorf("a refused profile set changed the Default profile:\n%s", out)
	}
	if code, _, _ := remote("profile", "show", "Desk"); code != exitError {
		t.Error("a refused profile add created the profile")
	}
	if code, _, errOut := remote("settings", "set", "server.name", "Evil"); code != exitError || !strings.Contains(errOut, `Console "desk-2" has the helpdesk role`) {
		t.Errorf("--connect settings set as helpdesk: %d %s", code, errOut)
	}
	// The audit log is an administrator's (log.read): --connect takes
	// "log show", as --help says, and the server refuses a helpdesk.
	if code, _, errOut := remote("log", "show"); code != exitError || !strings.Contains(errOut, `Console "desk-2" has the helpdesk role, which may not do this (log.read)`) {
		t.Errorf("--connect log show as helpdesk: %d %s", code, errOut)
	}
	if code, _, errOut := remote("log", "export"); code != exitError || !strings.Contains(errOut, `Console "desk-2" has the helpdesk role, which may not do this (log.read)`) {
		t.Errorf("--connect log export as helpdesk: %d %s", code, errOut)
	}
	if code, _, errOut := remote("log", "verify"); code != exitUsage || !strings.Contains(errOut, "this machine's data directory only") {
		t.Errorf("--connect log verify: %d %s", code, errOut)
	}
	if code, _, errOut := remote("serve"); code != exitUsage || !strings.Contains(errOut, "--connect works with") {
		t.Errorf("--connect serve: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, "--connect", "192.0.2.1", "user", "list"); code != exitError || !strings.Contains(errOut, "not paired with 192.0.2.1:8444") {
		t.Errorf("--connect to a server not paired with: %d %s", code, errOut)
	}

	code, out, _ = runCLI(t, dir, "console", "list")
	if code != 0 || !strings.Contains(out, "desk-1") || !strings.Contains(out, "pending") || !strings.Contains(out, id.Name) || !strings.Contains(out, "paired") {
		t.Errorf("console list:\n%s", out)
	}
	if code, out, errOut := runCLI(t, dir, "console", "revoke", "desk-2"); code != 0 || !strings.Contains(out, `Console "desk-2" revoked`) {
		t.Errorf("console revoke: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := remote("user", "list"); code != exitError || !strings.Contains(errOut, "revoked") {
		t.Errorf("a revoked console: %d %s", code, errOut)
	}
	// An admin console changes the profiles over --connect.
	if err := adminID.Save((&cli{}).identityDir(adminAddr)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		args    []string
		wantOut string
	}{
		{[]string{"profile", "add", "Remote", "--email", "remote@example.org"}, "Profile Remote created"},
		{[]string{"profile", "set", "Remote", "pin_cache_timeout", "900"}, "Saved. This affects 0 users"},
		{[]string{"profile", "assign", "Remote", "--group", "Sales"}, "Group Sales now uses profile Remote."},
		{[]string{"profile", "show", "Remote"}, "Profile: Remote"},
		{[]string{"profile", "assign", "none", "--group", "Sales"}, "Group Sales now uses profile Default."},
		{[]string{"profile", "delete", "Remote"}, "Profile Remote deleted."},
		{[]string{"log", "show", "--tail", "3"}, `Profile "Remote" deleted`},
	} {
		code, out, errOut := remote(step.args...)
		if code != 0 || !strings.Contains(out, step.wantOut) || !strings.Contains(errOut, "as boss-1 (admin)") {
			t.Errorf("--connect %v as admin: %d\n%s%s", step.args, code, out, errOut)
		}
		if step.args[0] == "profile" && step.args[1] == "show" && !hasProfileValue(out, "pin_cache_timeout", "900") {
			t.Errorf("--connect profile set as admin did not save pin_cache_timeout 900:\n%s", out)
		}
	}
	if code, _, errOut := runCLI(t, dir, "console", "revoke", "boss-1"); code != 0 {
		t.Fatalf("console revoke boss-1: %d %s", code, errOut)
	}
	if fullConsole(boss) {
		t.Error("a revoked admin pairing would still open the full console")
	}
	if code, out, _ := runCLI(t, dir, "console", "list"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("console list after revoke:\n%s", out)
	}
}

// hasProfileValue reports whether "profile show" output gives key value.
func hasProfileValue(out, key, value string) bool {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == key && f[1] == value {
			return true
		}
	}
	return false
}
