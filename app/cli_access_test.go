package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// goErrorNoise are the fragments of a raw Go file-system error that must
// not reach the admin: they say what failed, not what to do.
var goErrorNoise = []string{"stat ", "open /", "mkdir ", ": permission denied", ": not a directory"}

// oneSentence fails unless errOut is one line that says want and none of
// goErrorNoise.
func oneSentence(t *testing.T, what, errOut, want string) {
	t.Helper()
	if strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, want) {
		t.Errorf("%s: stderr %q, want one line with %q", what, errOut, want)
	}
	for _, n := range goErrorNoise {
		if strings.Contains(errOut, n) {
			t.Errorf("%s: stderr %q has Go's error text %q", what, errOut, n)
		}
	}
}

// TestCLI_DataDirectoryNotADirectory: --data naming a file is one
// sentence and exit 1, not "create data directory X: mkdir X: not a
// directory".
func TestCLI_DataDirectoryNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "provisio.txt")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"user", "list"}, {"check"}, {"settings", "get", "server.name"}} {
		code, _, errOut := runCLI(t, file, args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want %d", args, code, exitError)
		}
		oneSentence(t, strings.Join(args, " "), errOut, "The data directory "+file+" is not a directory")
	}
}

// TestCLI_DataDirectoryOfAnotherUser: an admin who runs a command without
// sudo on the service's data directory (0700, another user's) reads one
// sentence saying whom to run it as, not "open DIR/provisio.db: stat
// DIR/provisio.db: permission denied". Run as root, a copy of the test
// binary runs the commands as uid 65534 (root passes every mode check);
// otherwise the directory is made 0000 for this user.
func TestCLI_DataDirectoryOfAnotherUser(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	base, err := os.MkdirTemp("", "provisio-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error { os.Chmod(p, 0o700); return nil })
		os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "data")
	if code, _, errOut := runCLIIn(t, dir, "1234\n", "user", "add", "alice", "--pin", "-"); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	root := os.Getuid() == 0
	bin := os.Args[0]
	if root {
		bin = filepath.Join(base, "provisio.test")
		data, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), childCLIEnv+"="+strings.Join(append([]string{"--data", dir}, args...), "\n"))
		if root {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, errOut.String()
	}
	for _, args := range [][]string{{"user", "list"}, {"check"}, {"log", "verify"}} {
		code, errOut := run(args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want %d", args, code, exitError)
		}
		oneSentence(t, strings.Join(args, " "), errOut, "permission denied")
		if !strings.Contains(errOut, "run the command as the user who owns "+dir+", or with sudo") {
			t.Errorf("%v: stderr %q does not say whom to run it as", args, errOut)
		}
	}
	// A data directory that cannot be created says so.
	if root {
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "sub")
	code, errOut := func() (int, string) { d := dir; dir = missing; defer func() { dir = d }(); return run("user", "list") }()
	if code != exitError {
		t.Errorf("a data directory that cannot be created: exit %d, want %d", code, exitError)
	}
	oneSentence(t, "a data directory that cannot be created", errOut, "permission denied")
}
