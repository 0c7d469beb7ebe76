package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store"
)

// backupCrashEnv makes the test binary a "provisio backup" (the arguments
// in backupCrashArgs, one a line) that kills itself with SIGKILL once the
// first bytes of the backup have reached its temporary file.
const (
	backupCrashEnv  = "PROVISIO_TEST_BACKUP_CRASH"
	backupCrashArgs = "PROVISIO_TEST_BACKUP_CRASH_ARGS"
)

// serveKillInBackupEnv makes the test binary "provisio serve" on the data
// directory it names, which kills itself with SIGKILL once the first
// bytes of a backup into the backup folder have reached its temporary
// file.
const serveKillInBackupEnv = "PROVISIO_TEST_SERVE_KILL_IN_BACKUP"

func init() {
	if dir := os.Getenv(serveKillInBackupEnv); dir != "" {
		backupWriterHook = func(w core.BackupWriter) core.BackupWriter { return killingBackupWriter{w} }
		os.Exit(run([]string{"--data", dir, "serve"}, os.Stdout, os.Stderr))
	}
	if os.Getenv(backupCrashEnv) == "" {
		return
	}
	backupOutWriter = func(f *os.File) io.Writer { return killAfterWrite{f} }
	os.Exit(run(strings.Split(os.Getenv(backupCrashArgs), "\n"), os.Stdout, os.Stderr))
}

// killingBackupWriter is a backup engine whose backups are killed once
// their first bytes are written.
type killingBackupWriter struct{ core.BackupWriter }

func (k killingBackupWriter) WriteBackup(w io.Writer, enc core.BackupEncryption) (core.BackupSummary, error) {
	return k.BackupWriter.WriteBackup(killAfterWrite{w}, enc)
}

// killAfterWrite passes the first write on, then is kill -9.
type killAfterWrite struct{ f io.Writer }

func (k killAfterWrite) Write(p []byte) (int, error) {
	n, err := k.f.Write(p)
	if err == nil {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return n, err
}

// TestCLI_BackupKilledLeavesTheOldBackup is kill -9 during "provisio
// backup --out FILE": the older backup under FILE is untouched (never a
// half file under the name), and the next backup to FILE removes the
// unfinished temporary file the killed one left beside it and says so
// in a sentence. Before, every killed backup left its partial file in
// the backup folder for good, without a word.
func TestCLI_BackupKilledLeavesTheOldBackup(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(root, "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(folder, "office.age")
	args := []string{"backup", "--out", out, "--recipient", id.Recipient().String()}
	if code, _, errOut := runCLI(t, dir, args...); code != exitOK {
		t.Fatalf("backup: %q", errOut)
	}
	old, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, dir, "user", "add", "bob"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), backupCrashEnv+"=1", backupCrashArgs+"="+strings.Join(append([]string{"--data", dir}, args...), "\n"))
	outb, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the backup was not killed: %v\n%s", err, outb)
	}
	if now, _ := os.ReadFile(out); !bytes.Equal(now, old) {
		t.Fatal("the backup killed half-way changed the older backup under its name")
	}
	left, _ := filepath.Glob(filepath.Join(folder, ".office.age.*.tmp"))
	if len(left) != 1 {
		t.Fatalf("the killed backup left %q, want its one temporary file", left)
	}

	// Files not made by a backup to this name stay, and so does one a
	// running backup to it holds.
	others := []string{".office.age.notes.tmp", "7.tmp", ".other.age.123.tmp", ".office.age.42.tmp"}
	for _, n := range others {
		if err := os.WriteFile(filepath.Join(folder, n), []byte("someone's\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	running, err := os.Open(filepath.Join(folder, ".office.age.42.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	core.HoldWhileWriting(running)

	code, stdout, errOut := runCLI(t, dir, args...)
	if code != exitOK || !strings.Contains(stdout, "Backup written to "+out) {
		t.Fatalf("the next backup: exit %d, %q %q", code, stdout, errOut)
	}
	want := "provisio: an earlier backup to " + out + " was interrupted before it finished; its unfinished file " + filepath.Base(left[0]) + " was removed.\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the next backup: %v", left[0], err)
	}
	for _, n := range others {
		if _, err := os.Stat(filepath.Join(folder, n)); err != nil {
			t.Errorf("the next backup removed %s, which no backup to %s made: %v", n, out, err)
		}
	}
}

// TestCLI_InterruptedKeyRotationIsSaid: the next command on a data
// directory whose key rotation was killed says what became of it, in a
// sentence on stderr, once: before the commit the unused new key is
// removed and the data keeps its key; after it the rotation is finished.
// (core/store's TestRotateKey_KilledAtAnyStepLeavesOldOrNew kills a
// rotation at each step; this is what the command line makes of it.)
func TestCLI_InterruptedKeyRotationIsSaid(t *testing.T) {
	tests := []struct {
		name  string
		leave func(t *testing.T, keyDir string) // what the killed rotation left
		want  string
	}{
		{"killed before the commit", func(t *testing.T, keyDir string) {
			if err := os.WriteFile(filepath.Join(keyDir, store.KeyFileName+".new"), bytes.Repeat([]byte{9}, store.KeySize), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "provisio: A key rotation was interrupted before it changed the data: the data keeps its data key, and the unused new key was removed (provisio.key.new).\n"},
		{"killed after the commit, before the rename", func(t *testing.T, keyDir string) {
			keyFile := filepath.Join(keyDir, store.KeyFileName)
			cur, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := runCLI(t, filepath.Join(filepath.Dir(keyDir), "data"), "key", "rotate"); code != exitOK {
				t.Fatalf("key rotate: %q", errOut)
			}
			// The rename undone: the new key back under its pending name.
			if err := os.Rename(keyFile, keyFile+".new"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(keyFile, cur, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "provisio: A key rotation was interrupted after the data had been re-encrypted; it is finished now: provisio.key holds the new data key. Take a new backup, as after any rotation.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(privateTempDir(t), "data")
			if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
				t.Fatalf("user add: %q", errOut)
			}
			keyDir := keyDirFor(dir, "")
			tt.leave(t, keyDir)
			code, out, errOut := runCLI(t, dir, "user", "list")
			if code != exitOK || !strings.Contains(out, "alice") || errOut != tt.want {
				t.Fatalf("user list: exit %d, %q, stderr %q; want %q", code, out, errOut, tt.want)
			}
			if _, err := os.Stat(filepath.Join(keyDir, store.KeyFileName+".new")); !os.IsNotExist(err) {
				t.Errorf("provisio.key.new is still there: %v", err)
			}
			if code, _, errOut := runCLI(t, dir, "user", "list"); code != exitOK || errOut != "" {
				t.Errorf("the second command: exit %d, stderr %q; want nothing said again", code, errOut)
			}
			if code, out, errOut := runCLI(t, dir, "log", "verify"); code != exitOK {
				t.Errorf("log verify: exit %d, %q %q", code, out, errOut)
			}
		})
	}
}

// TestServe_ScheduledBackupKilledIsSaidAtTheNextStart is kill -9 in the
// middle of a backup into the backup folder (Back up now from an attached
// console; a scheduled one writes the same way): no file under a
// backup's name appears, and the next start removes the unfinished
// temporary file and says so in the audit log (which serve's output
// shows). Before, each killed backup left its partial file in the folder
// for good, and nothing said a backup had died.
func TestServe_ScheduledBackupKilledIsSaidAtTheNextStart(t *testing.T) {
	o := newCrashOffice(t).fresh(t)
	folder := filepath.Join(o.root, "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"backup.folder", folder}, {"backup.recipient", id.Recipient().String()}} {
		if code, _, errOut := runCLI(t, o.dir, "settings", "set", kv[0], kv[1]); code != exitOK {
			t.Fatalf("settings set %s: %s", kv[0], errOut)
		}
	}
	srv := startServeChildEnv(t, serveKillInBackupEnv+"="+o.dir, o.dir)
	cl, err := adminapi.Dial(filepath.Join(o.dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if r := adminapi.NewConsole(cl).BackupNow(false); r.OK {
		t.Fatalf("the backup the server was killed in says OK: %+v", r)
	}
	if err := srv.cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the server was not killed in the backup: %v", err)
	}
	if done, _ := filepath.Glob(filepath.Join(folder, "provisio-*.age")); len(done) != 0 {
		t.Fatalf("a backup killed half-way is under a backup's name: %q", done)
	}
	left, _ := filepath.Glob(filepath.Join(folder, ".provisio-*.age.*.tmp"))
	if len(left) != 1 {
		t.Fatalf("the killed backup left %q, want its one temporary file", left)
	}

	srv = startServeChild(t, o.dir)
	defer srv.kill()
	if cl, err = adminapi.Dial(filepath.Join(o.dir, adminapi.SocketName)); err != nil {
		t.Fatal(err)
	}
	want := "An earlier backup into " + folder + " was interrupted before it finished; its unfinished file " + filepath.Base(left[0]) + " was removed."
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		tail, err := cl.LogTail(5)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(tail, func(e core.LogEntry) bool { return e.Level == core.LevelWarn && e.Message == want }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the next start did not say %q; log tail %+v", want, tail)
		}
	}
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the next start: %v", left[0], err)
	}
}

// TestServe_InterruptedCertRegenerationIsFinished: a "Regenerate
// certificate" killed after the new key was put in place and before the
// certificate (what core/certs' TestRegenerateIn_KilledAtAnyStepLeavesOldOrNew
// shows such a kill leaves: the new key.pem, the new cert.pem.new) is
// finished by the next command, which says so on stderr and in the audit
// log, and the server then starts with the new certificate. Before, the
// new key beside the old certificate stopped the server from starting.
func TestServe_InterruptedCertRegenerationIsFinished(t *testing.T) {
	o := newCrashOffice(t).fresh(t)
	first := startServeChild(t, o.dir)
	first.kill()
	keyDir := keyDirFor(o.dir, "")
	scratch := t.TempDir()
	next, err := certs.RegenerateIn(scratch, scratch, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{
		filepath.Join(scratch, certs.KeyFile):  filepath.Join(keyDir, certs.KeyFile),
		filepath.Join(scratch, certs.CertFile): filepath.Join(o.dir, certs.CertFile+".new"),
	} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const want = "provisio: A certificate regeneration was interrupted half-way; it is finished now: the new certificate is in use, so phones must be reprovisioned, as after any regeneration.\n"
	if code, out, errOut := runCLI(t, o.dir, "user", "list"); code != exitOK || errOut != want {
		t.Fatalf("user list: exit %d, %q, stderr %q; want %q", code, out, errOut, want)
	}
	if code, out, errOut := runCLI(t, o.dir, "log", "show", "--tail", "1"); code != exitOK || !strings.Contains(out, "A certificate regeneration was interrupted half-way") {
		t.Errorf("log show: exit %d, %q %q", code, out, errOut)
	}
	srv := startServeChild(t, o.dir)
	defer srv.kill()
	if fp := certs.Fingerprint(next); srv.fingerprint != fp {
		t.Errorf("the server serves %s, want the new certificate %s", srv.fingerprint, fp)
	}
}
