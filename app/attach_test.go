package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
)

// TestAttach_CommandsWhileServing is issue #12's done-when test: a real
// "provisio serve" process holds the data directory; user add,
// reprovision, settings set and user list, run while it serves, attach
// to it over admin.sock and succeed; a phone provisions over HTTPS with
// the printed code, and an API client attached over the socket receives
// the "Device provisioned" event. (The headless console attached over the
// socket is app/attachtest: this package's test binary must not load
// Fyne's test app, see console_test.go.)
func TestAttach_CommandsWhileServing(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{
		{"settings", "set", "server.listen", listen},
		{"settings", "set", "server.advertise", "127.0.0.1"},
	} {
		if code, _, errOut := runCLI(t, dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	loopbackListeners(t, "--data", dir)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childServeEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var journal strings.Builder
	fpc := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			mu.Lock()
			journal.WriteString(lines.Text() + "\n")
			mu.Unlock()
			if v, ok := strings.CutPrefix(lines.Text(), "Certificate SHA-256: "); ok {
				fpc <- v
			}
		}
	}()
	var fingerprint string
	select {
	case fingerprint = <-fpc:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not start")
	}

	// An operator's API client watches the event stream from now on.
	api, err := adminapi.Dial(filepath.Join(dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	attachedIn := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLIIn(t, dir, stdin, args...)
		if code != 0 {
			t.Fatalf("%v while serve runs: exit %d: %s", args, code, errOut)
		}
		if !strings.Contains(errOut, "attached to the Provisio running on") {
			t.Errorf("%v did not attach: %q", args, errOut)
		}
		return out
	}
	attached := func(args ...string) string { t.Helper(); return attachedIn("", args...) }
	if out := attachedIn("9132\n", "user", "add", "alice", "--pin", "-", "--full-name", "Alice Smith"); !strings.Contains(out, `User "alice" added.`) {
		t.Errorf("user add: %q", out)
	}
	out := attached("reprovision", "alice")
	var code, url string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision code for alice: "); ok {
			code = v
		}
		if v, ok := strings.CutPrefix(line, "Provision URL: "); ok {
			url = v
		}
	}
	if code == "" || url == "" || !strings.Contains(out, "Expires: ") {
		t.Fatalf("reprovision printed no code and URL:\n%s", out)
	}
	if out := attached("settings", "set", "server.name", "Front office"); strings.TrimSpace(out) != "server.name = Front office" {
		t.Errorf("settings set: %q", out)
	}
	// Applied live: the running server has it.
	if out := attached("settings", "get", "server.name"); strings.TrimSpace(out) != "Front office" {
		t.Errorf("settings get: %q", out)
	}
	if out := attached("user", "list"); !strings.Contains(out, "Alice Smith") || !strings.Contains(out, "pending code until") {
		t.Errorf("user list:\n%s", out)
	}

	phone, err := agentxmltest.NewMobileClient(url, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			seen = e.Kind == "provisioned" && e.User == "alice" && e.DeviceOS == "TestOS"
		case <-deadline:
			t.Fatal(`no "Device provisioned" event on the attached client's stream`)
		}
	}
	if out := attached("user", "list"); !strings.Contains(out, "provisioned ") || !strings.Contains(out, "(TestOS)") {
		t.Errorf("user list after provisioning:\n%s", out)
	}

	// Every action over the socket is in the log with its operator; the
	// code and the PIN are not.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	mu.Lock()
	log := journal.String()
	mu.Unlock()
	// The use cases' own lines, each naming the operator; the admin API
	// adds none of its own (docs/decisions.md "The audit log names who
	// acted").
	op := regexp.QuoteMeta(` [by a console or command on this machine (uid `)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)INFO +User "alice" added\.` + op),
		regexp.MustCompile(`(?m)INFO +Provision code created for user "alice"` + op),
		regexp.MustCompile(`(?m)INFO +Setting server\.name saved: server\.name [^\n]* → Front office\.` + op),
	} {
		if !want.MatchString(log) {
			t.Errorf("the journal lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Admin API: ") {
		t.Errorf("the journal has an extra admin-API line:\n%s", log)
	}
	if strings.Contains(log, code) || strings.Contains(log, "9132") {
		t.Errorf("a secret reached the journal:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(dir, adminapi.SocketName)); !os.IsNotExist(err) {
		t.Errorf("admin.sock left behind after the server stopped: %v", err)
	}
	// Without a running copy, the commands open the store directly again.
	if code, out, errOut := runCLI(t, dir, "user", "list"); code != 0 || strings.Contains(errOut, "attached") || !strings.Contains(out, "alice") {
		t.Errorf("user list without a server: %d %q %q", code, out, errOut)
	}
}
