package certs

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// regenerateCrashEnv makes the test binary a "Regenerate certificate" on
// the directories in regenerateCrashDirs that kills itself with SIGKILL
// at the step of RegenerateIn it names.
const (
	regenerateCrashEnv  = "PROVISIO_TEST_REGENERATE_CRASH_AT"
	regenerateCrashDirs = "PROVISIO_TEST_REGENERATE_CRASH_DIRS"
)

func init() {
	step := os.Getenv(regenerateCrashEnv)
	if step == "" {
		return
	}
	regenerateFault = func(s string) {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	dirs := strings.Split(os.Getenv(regenerateCrashDirs), "\n")
	if len(dirs) == 1 {
		_, _ = NewDeviceCA(dirs[0]).Pool()
	} else {
		_, _ = RegenerateIn(dirs[0], dirs[1], []string{"new.example"})
	}
	os.Exit(4) // not killed: the step was never reached
}

// TestRegenerateIn_KilledAtAnyStepLeavesOldOrNew is kill -9 during
// "Regenerate certificate": killed at each step, the next start
// (FinishRegenerate, then LoadOrCreateIn) serves the old pair or the new
// one, never the new key beside the old certificate, says which in a
// sentence, and leaves nothing of the regeneration behind. Before, the key
// was replaced first and the certificate after, so a kill in between
// left a pair that does not match, and the server refused to start.
func TestRegenerateIn_KilledAtAnyStepLeavesOldOrNew(t *testing.T) {
	tests := []struct {
		step   string
		newOne bool
		notice string
	}{
		{"new key staged", false, "A certificate regeneration was interrupted before it replaced anything: the previous certificate stays, and the unused new files were removed."},
		{"new pair staged", false, "A certificate regeneration was interrupted before it replaced anything: the previous certificate stays, and the unused new files were removed."},
		{"new key in place", true, "A certificate regeneration was interrupted half-way; it is finished now: the new certificate is in use, so phones must be reprovisioned, as after any regeneration."},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			dir, keyDir := t.TempDir(), t.TempDir()
			old, err := LoadOrCreateIn(dir, keyDir, []string{"old.example"})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), regenerateCrashEnv+"="+tt.step, regenerateCrashDirs+"="+dir+"\n"+keyDir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("not killed at %q: %v\n%s", tt.step, err, out)
			}

			notice, err := FinishRegenerate(dir, keyDir)
			if err != nil || notice != tt.notice {
				t.Errorf("FinishRegenerate: %q, %v; want %q", notice, err, tt.notice)
			}
			cert, err := LoadOrCreateIn(dir, keyDir, []string{"third.example"})
			if err != nil {
				t.Fatalf("the next start after a kill at %q: %v", tt.step, err)
			}
			if cert.Leaf == nil {
				t.Fatal("no leaf")
			}
			names := cert.Leaf.DNSNames
			if isNew := Fingerprint(cert) != Fingerprint(old); isNew != tt.newOne || (isNew && names[0] != "new.example") {
				t.Errorf("after a kill at %q: new certificate %v (names %q), want %v", tt.step, isNew, names, tt.newOne)
			}
			for _, d := range []string{dir, keyDir} {
				es, _ := os.ReadDir(d)
				for _, e := range es {
					if e.Name() != CertFile && e.Name() != KeyFile {
						t.Errorf("%s is left in %s", e.Name(), d)
					}
				}
			}
			if again, err := FinishRegenerate(dir, keyDir); again != "" || err != nil {
				t.Errorf("a second FinishRegenerate says %q, %v", again, err)
			}
		})
	}
}

// TestDeviceCA_CreationKilledAtAnyStepIsRedone: the first creation of the
// device CA (the console CA is made the same way) killed at each step is
// finished or made afresh by the next use, instead of stopping it with
// "only one of … exists", which asked a person to restore a file that
// never existed.
func TestDeviceCA_CreationKilledAtAnyStepIsRedone(t *testing.T) {
	for _, step := range []string{"new key staged", "new pair staged", "new key in place"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), regenerateCrashEnv+"="+step, regenerateCrashDirs+"="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("not killed at %q: %v\n%s", step, err, out)
			}
			if _, err := NewDeviceCA(dir).Pool(); err != nil {
				t.Fatalf("the device CA after a kill at %q: %v", step, err)
			}
			es, _ := os.ReadDir(dir)
			for _, e := range es {
				if e.Name() != DeviceCACertFile && e.Name() != DeviceCAKeyFile {
					t.Errorf("%s is left in %s", e.Name(), dir)
				}
			}
		})
	}
}
