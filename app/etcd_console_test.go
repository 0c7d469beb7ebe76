package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core/adminapi"
)

// TestEtcd_ConsoleAttachesToItsServer: on an etcd site nothing locks a
// server's data directory (the records are in etcd), so the console
// started on the directory a running serve holds, as "Three ways to run"
// says for the service, opened the site itself instead of attaching: it
// started a second server there ("another program already uses" its
// port), offered the first-run setup again, took over the server's
// admin socket and left it dead when it closed, so no command or console
// could attach to that server any more. It must attach to the server, as
// it does on a data file, and leave its socket alone.
func TestEtcd_ConsoleAttachesToItsServer(t *testing.T) {
	url, _, a, _ := twoNodes(t)
	// Should the console start a server of its own, it listens on
	// loopback (the nodes were given --listen).
	if code, _, errOut := runStore(t, url, a.dir, a.keyDir, "settings", "set", "server.listen", freeAddr(t)); code != 0 {
		t.Fatal(errOut)
	}
	sock := filepath.Join(a.dir, adminapi.SocketName)
	before, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}

	display := startXvfb(t)
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DISPLAY", k == "WAYLAND_DISPLAY", k == "HOME", k == "XDG_CONFIG_HOME", strings.HasPrefix(k, "PROVISIO_"):
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	// The console as an admin starts it on the node: the node's data and
	// key directories and the site's store.
	cmd.Env = append(cmd.Env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "LANG=en_US.UTF-8",
		childConsoleEnv+"="+a.dir, "PROVISIO_KEY_DIR="+a.keyDir, "PROVISIO_STORE="+url)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the console exited at once (%v): %s", err, errOut.String())
		default:
		}
		if now, err := os.Stat(sock); err != nil || !os.SameFile(before, now) {
			t.Fatalf("the console replaced the server's admin socket (%v): it opened the site itself instead of attaching; stderr %q", err, errOut.String())
		}
	}
	// Killed, as a window can be: the server's socket still answers.
	cmd.Process.Kill()
	err = <-done
	done <- err
	code, _, cliErr := runStore(t, url, a.dir, a.keyDir, "user", "list")
	if code != 0 || !strings.Contains(cliErr, "attached to the Provisio running on") {
		t.Errorf("after the console closed, user list on the node: exit %d, %q; want it attached to the node's server", code, cliErr)
	}
	if strings.Contains(errOut.String(), "address already in use") {
		t.Errorf("the console tried to open the server's listeners: %q", errOut.String())
	}
}

// TestEtcd_SecondServeOnOneDirectory: on the data file a second serve on
// a directory is refused by the store's lock; on etcd nothing held the
// directory, so a second serve on it (a unit started twice, a copy-pasted
// command) opened the site, replaced the running server's admin socket
// and left it dead when it stopped. It is refused now, and the first
// server's socket still answers.
func TestEtcd_SecondServeOnOneDirectory(t *testing.T) {
	url, _, a, _ := twoNodes(t)
	var out, errOut syncBuffer
	stop, started, done := make(chan struct{}), make(chan string, 1), make(chan int, 1)
	c := &cli{out: &out, errOut: &errOut, stop: stop, started: started}
	go func() {
		done <- c.run([]string{"--data", a.dir, "--key-dir", a.keyDir, "--store", url, "serve", "--listen", "127.0.0.1:0"})
	}()
	select {
	case code := <-done:
		if code != exitError || !strings.Contains(errOut.String(), a.dir+" is in use") {
			t.Errorf("a second serve on the directory: exit %d, %q; want exit 1 and %q", code, errOut.String(), a.dir+" is in use")
		}
	case <-started:
		close(stop)
		<-done
		t.Error("a second serve started on the directory a server holds")
	case <-time.After(30 * time.Second):
		t.Fatal("a second serve on the directory neither started nor exited in 30 s")
	}
	if code, _, cliErr := runStore(t, url, a.dir, a.keyDir, "user", "list"); code != 0 || !strings.Contains(cliErr, "attached to the Provisio running on") {
		t.Errorf("after it, user list on the directory: exit %d, %q; want it attached to the first server", code, cliErr)
	}
}

// TestEtcd_NodeDirectoryWithoutStore: a command given an etcd server's
// data directory without --store read it as a data file gone missing
// ("restore it from a backup, or … start again with no users"). It says
// the records are in etcd and how to name them, and creates nothing.
func TestEtcd_NodeDirectoryWithoutStore(t *testing.T) {
	_, _, a, _ := twoNodes(t)
	a.stopNode(t)
	t.Setenv("PROVISIO_STORE", "")
	code, _, errOut := runCLI(t, a.dir, "user", "list")
	if code != exitError || !strings.Contains(errOut, "records are in etcd") || !strings.Contains(errOut, "--store") || strings.Contains(errOut, "backup") {
		t.Errorf("user list without --store: exit %d, %q; want exit 1 and a sentence naming etcd and --store", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "provisio.db")); err == nil {
		t.Error("it left a data file in the node's directory")
	}
}
