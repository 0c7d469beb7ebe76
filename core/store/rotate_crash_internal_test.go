package store

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"provisio/core"
)

// rotateCrashEnv makes the test binary a "provisio key rotate" on the
// data and key directories in rotateCrashDirs that kills itself with
// SIGKILL, as kill -9 would, at the step of RotateKey it names.
const (
	rotateCrashEnv  = "PROVISIO_TEST_ROTATE_CRASH_AT"
	rotateCrashDirs = "PROVISIO_TEST_ROTATE_CRASH_DIRS"
)

func init() {
	step := os.Getenv(rotateCrashEnv)
	if step == "" {
		return
	}
	rotateFault = func(s string) {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	dirs := strings.Split(os.Getenv(rotateCrashDirs), "\n")
	st, err := Open(dirs[0], Options{KeyDir: dirs[1]})
	if err != nil {
		os.Exit(3)
	}
	_, _ = st.RotateKey()
	os.Exit(4) // not killed: the step was never reached
}

// TestRotateKey_KilledAtAnyStepLeavesOldOrNew is kill -9 during "provisio
// key rotate": killed at each step, the next open reads the data under
// the old key (killed before the commit) or the new one (after it), the
// log verifies, nothing of the rotation is left in the key directory,
// and the open says which happened in a sentence (Notices) and in the
// audit log. Before, a rotation killed before its commit left the unused
// new key (provisio.key.new, or a temporary file) beside the real one
// without a word, and one finished on the next open said nothing either.
func TestRotateKey_KilledAtAnyStepLeavesOldOrNew(t *testing.T) {
	tmplData, tmplKeys := t.TempDir(), t.TempDir()
	st, err := Open(tmplData, Options{KeyDir: tmplKeys})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(tx core.Tx) error {
		if err := tx.PutUser(core.User{Name: "alice", PIN: "731945862", MobileAllowed: true}); err != nil {
			return err
		}
		_, err := tx.AppendLog(core.LogEntry{Level: core.LevelInfo, User: "alice", Message: `User "alice" added.`})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	oldKey, err := os.ReadFile(filepath.Join(tmplKeys, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		step       string
		newKey     bool
		wantNotice string
	}{
		{"new key half written", false, "A key rotation was interrupted before it changed the data: the data keeps its data key, and the unused new key was removed (.provisio.key.new-"},
		{"re-encrypted, not committed", false, "A key rotation was interrupted before it changed the data: the data keeps its data key, and the unused new key was removed (provisio.key.new)."},
		{"committed, key not renamed", true, "A key rotation was interrupted after the data had been re-encrypted; it is finished now: provisio.key holds the new data key. Take a new backup, as after any rotation."},
		{"renamed, free pages not scrubbed", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			data, keys := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "keys")
			copyDir(t, tmplData, data)
			copyDir(t, tmplKeys, keys)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), rotateCrashEnv+"="+tt.step, rotateCrashDirs+"="+data+"\n"+keys)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the rotation was not killed at %q: %v\n%s", tt.step, err, out)
			}

			st, err := Open(data, Options{KeyDir: keys})
			if err != nil {
				t.Fatalf("the data does not open after a rotation killed at %q: %v", tt.step, err)
			}
			defer st.Close()
			err = st.View(func(tx core.Tx) error {
				u, err := tx.User("alice")
				if err == nil && u.PIN != "731945862" {
					t.Errorf("alice's PIN reads %q", u.PIN)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.VerifyLog(); err != nil {
				t.Errorf("the log does not verify: %v", err)
			}
			key, _ := os.ReadFile(filepath.Join(keys, KeyFileName))
			if got := !bytes.Equal(key, oldKey); got != tt.newKey {
				t.Errorf("new key in place: %v, want %v", got, tt.newKey)
			}
			es, _ := os.ReadDir(keys)
			for _, e := range es {
				if e.Name() != KeyFileName {
					t.Errorf("%s is left in the key directory", e.Name())
				}
			}
			notices := strings.Join(st.Notices(), "\n")
			if (tt.wantNotice == "") != (notices == "") || !strings.Contains(notices, tt.wantNotice) {
				t.Errorf("the open says %q, want %q", notices, tt.wantNotice)
			}
			if tt.wantNotice != "" {
				var last core.LogEntry
				_ = st.View(func(tx core.Tx) error {
					tail, err := tx.LogTail(1)
					if len(tail) == 1 {
						last = tail[0]
					}
					return err
				})
				if !strings.HasPrefix(last.Message, tt.wantNotice) {
					t.Errorf("the last audit line is %q, want the notice", last.Message)
				}
			}
		})
	}
}

// copyDir copies the regular files of from into a new directory to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
