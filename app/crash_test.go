package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store"
)

// childServeEnv makes the test binary act as "provisio serve" on a data
// directory, so a test can kill a real server process mid-flight.
const childServeEnv = "PROVISIO_TEST_SERVE_DIR"

func init() {
	if dir := os.Getenv(childServeEnv); dir != "" {
		os.Exit(run([]string{"--data", dir, "serve"}, os.Stdout, os.Stderr))
	}
}

// TestServe_AcknowledgedWritesSurviveKill provisions a phone and logs in
// over HTTPS against a separate server process, kills it with SIGKILL the
// moment the login PASS arrives, and checks that everything the server
// acknowledged is in the data file.
func TestServe_AcknowledgedWritesSurviveKill(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	for _, step := range []struct {
		stdin string // a secret given as "-"
		args  []string
	}{
		{"9132\n", []string{"user", "add", "alice", "--pin", "-"}},
		{"", []string{"settings", "set", "server.listen", listen}},
		{"", []string{"settings", "set", "server.advertise", "127.0.0.1"}},
		{"s3cret-123\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}},
	} {
		if code, _, errOut := runCLIIn(t, dir, step.stdin, step.args...); code != 0 {
			t.Fatalf("%v: %s", step.args, errOut)
		}
	}
	loopbackListeners(t, "--data", dir)
	code, out, errOut := runCLI(t, dir, "reprovision", "alice")
	if code != 0 {
		t.Fatal(errOut)
	}
	var url string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision URL: "); ok {
			url = v
		}
	}

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
	fingerprint := ""
	lines := bufio.NewScanner(stdout)
	deadline := time.Now().Add(20 * time.Second)
	for fingerprint == "" && time.Now().Before(deadline) && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "Certificate SHA-256: "); ok {
			fingerprint = v
		}
	}
	if fingerprint == "" {
		t.Fatal("the server did not start")
	}
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()

	phone, err := agentxmltest.NewMobileClient(url, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	if err := phone.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	otc, index := phone.OTC("9132")
	vpn, err := agentxmltest.NewAgentClient("https://"+listen, fingerprint, "s3cret-123")
	if err != nil {
		t.Fatal(err)
	}
	if result, e, err := vpn.Login("alice", otc); err != nil || result != "PASS" {
		t.Fatalf("login: %s %s %v", result, e, err)
	}
	cmd.Process.Kill() // no shutdown, no chance to flush anything
	cmd.Wait()

	st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(func(tx core.Tx) error {
		u, err := tx.User("alice")
		if err != nil {
			return err
		}
		// A login writes the user's login record (core.LoginState) only.
		ls, err := tx.LoginState("alice")
		if err != nil {
			return err
		}
		// The store keeps the device Id only as its keyed hash (#13).
		if u.DeviceID != st.HashSecret(core.SecretDevice, phone.DeviceID()) || u.DeviceOS != "TestOS" || ls.LastLogin.IsZero() {
			t.Errorf("after the kill: device %q os %q last login %v", u.DeviceID, u.DeviceOS, ls.LastLogin)
		}
		if ls.Next != index+1 {
			t.Errorf("next index %d, want %d: the spent index was lost", ls.Next, index+1)
		}
		logs, err := tx.LogTail(5)
		if err != nil {
			return err
		}
		if last := logs[len(logs)-1].Message; last != "Login successful for user: alice." {
			t.Errorf("last log line %q", last)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
