//go:build linux

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// withTestCommand registers a command for one test.
func withTestCommand(t *testing.T, name string, a action) {
	t.Helper()
	topCommands[name] = command{usage: name, setup: noFlags(a)}
	t.Cleanup(func() { delete(topCommands, name) })
}

// TestCLI_PanicBecomesOneSentence checks the command boundary: whatever
// panics inside a command, the user reads one sentence and exit code 1,
// and the detail, never a stack, goes to the audit log when it can.
func TestCLI_PanicBecomesOneSentence(t *testing.T) {
	withTestCommand(t, "test-panic", func(*cli, []string) error { panic("boom outside the data") })
	withTestCommand(t, "test-panic-env", func(c *cli, _ []string) error {
		return c.withEnv(func(*env) error { panic("boom with the data open") })
	})
	// A fault on a memory map (what bbolt does on a file cut short under
	// it) kills a Go program unless it is turned into a panic.
	withTestCommand(t, "test-fault", func(c *cli, _ []string) error {
		f, err := os.CreateTemp(t.TempDir(), "map")
		if err != nil {
			return err
		}
		defer f.Close()
		f.Truncate(1 << 16)
		m, err := syscall.Mmap(int(f.Fd()), 0, 1<<16, syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			return err
		}
		defer syscall.Munmap(m)
		f.Truncate(0)
		faultSink = m[1<<15] // SIGBUS: the page is past the end of the file now
		return nil
	})
	tests := []struct {
		cmd, wantErr, wantLog string
	}{
		{"test-panic", "An internal error stopped the command before it finished; run 'provisio check'", ""},
		{"test-panic-env", "An internal error stopped the command before it finished (the audit log has the detail);", "Command failed, error: internal error: boom with the data open"},
		{"test-fault", "An internal error stopped the command before it finished;", ""},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			dir := privateTempDir(t)
			// Data there already, so a new data directory's notice
			// (TestCLI_NewDataDirectoryIsSaid) is not in stderr.
			if code, _, errOut := runCLI(t, dir, "user", "list"); code != exitOK {
				t.Fatalf("user list: exit %d, %q", code, errOut)
			}
			code, _, errOut := runCLI(t, dir, tt.cmd)
			if code != exitError || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, bad := range []string{"goroutine", "panic", ".go:", "boom"} {
				if strings.Contains(errOut, bad) {
					t.Fatalf("stderr shows %q: %q", bad, errOut)
				}
			}
			if tt.wantLog == "" {
				return
			}
			st, err := store.Open(dir, store.Options{KeyDir: store.DefaultKeyDir(dir)})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			st.View(func(tx core.Tx) error {
				tail, _ := tx.LogTail(1)
				if len(tail) != 1 || tail[0].Message != tt.wantLog {
					t.Errorf("audit log %+v, want %q", tail, tt.wantLog)
				}
				return nil
			})
		})
	}
}

// faultSink keeps the compiler from dropping the faulting read.
var faultSink byte
