package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"

	"provisio/core/certs"
	"provisio/core/store"
)

// restoreCrashEnv makes the test binary act as "provisio restore" (the
// arguments in restoreArgsEnv, one a line) that kills itself with SIGKILL,
// as kill -9 would, just before the step of the swap it names
// (restoreFault's step names).
const (
	restoreCrashEnv = "PROVISIO_TEST_RESTORE_CRASH_AT"
	restoreArgsEnv  = "PROVISIO_TEST_RESTORE_ARGS"
)

func init() {
	step := os.Getenv(restoreCrashEnv)
	if step == "" {
		return
	}
	restoreFault = func(s string) error {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal ends the process
		}
		return nil
	}
	os.Exit(run(strings.Split(os.Getenv(restoreArgsEnv), "\n"), os.Stdout, os.Stderr))
}

// copyTree copies the directory from to to, modes kept: a fresh copy of
// an office for each crash.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, fi.Mode().Perm())
		}
		if !fi.Mode().IsRegular() {
			return nil // the admin socket of a server long gone
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// recipientBackup adds alice to a new data directory under root, with
// the key files a server start makes beside the data key (each one more
// rename of a restore's swap), and backs it up to an age recipient: it
// returns the data and key directories, the identity file and the
// backup.
func recipientBackup(t *testing.T, root string) (dir, keyDir, idFile, backupFile string) {
	t.Helper()
	dir = filepath.Join(root, "data")
	keyDir = keyDirFor(dir, "")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	if _, err := certs.NewDeviceCA(keyDir).Pool(); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile = filepath.Join(root, "id.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backupFile = filepath.Join(root, "b.age")
	if code, _, errOut := runCLI(t, dir, "backup", "--out", backupFile, "--recipient", id.Recipient().String()); code != exitOK {
		t.Fatalf("backup: %q", errOut)
	}
	return dir, keyDir, idFile, backupFile
}

// TestRestore_KilledAtAnyStepLeavesOldOrNew is kill -9 in the middle of a
// restore: a restore process killed just before each step of putting the
// restored files in place leaves, for the next command, either the data
// as it was (alice and bob, the old key) or the restored backup (alice
// only, the backup's key), never the data directory missing (which
// started an empty Provisio, every user lost to it) nor the restored
// data beside the previous key (which does not open), and no copy of
// the key left beside the data directory.
func TestRestore_KilledAtAnyStepLeavesOldOrNew(t *testing.T) {
	tmpl := privateTempDir(t)
	dir, keyDir, idFile, b := recipientBackup(t, tmpl)
	if code, _, errOut := runCLI(t, dir, "user", "add", "bob"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	// A new data key after the backup: the restored data does not open
	// with it, nor the old data with the backup's.
	if code, _, errOut := runCLI(t, dir, "key", "rotate"); code != exitOK {
		t.Fatalf("key rotate: %q", errOut)
	}
	// A new device CA after the backup, so the restore swaps it too.
	for _, f := range []string{certs.DeviceCACertFile, certs.DeviceCAKeyFile} {
		if err := os.Remove(filepath.Join(keyDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := certs.NewDeviceCA(keyDir).Pool(); err != nil {
		t.Fatal(err)
	}

	office := func(t *testing.T) (root, dir string) {
		root = privateTempDir(t)
		copyTree(t, filepath.Join(tmpl, "data"), filepath.Join(root, "data"))
		copyTree(t, keyDir, filepath.Join(root, "data-keys"))
		return root, filepath.Join(root, "data")
	}

	// The steps a restore takes, as restoreFault hears them.
	var steps []string
	restoreFault = func(s string) error { steps = append(steps, s); return nil }
	_, probe := office(t)
	code, out, errOut := runCLI(t, probe, "restore", b, "--identity", idFile)
	restoreFault = nil
	if code != exitOK || len(steps) < 4 {
		t.Fatalf("restore: exit %d, %q %q; steps %q", code, out, errOut, steps)
	}

	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			root, dir := office(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), restoreCrashEnv+"="+step,
				restoreArgsEnv+"="+strings.Join([]string{"--data", dir, "restore", b, "--identity", idFile}, "\n"))
			outb, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the restore was not killed at %q: %v\n%s", step, err, outb)
			}

			code, out, errOut := runCLI(t, dir, "user", "list")
			if code != exitOK {
				t.Fatalf("user list after a restore killed at %q: exit %d, %q %q", step, code, out, errOut)
			}
			// Killed before its journal was in place, the restore had
			// done nothing to speak of.
			if !strings.Contains(errOut, "was interrupted") && step != "journal: staging" {
				t.Errorf("the first command after the restore was killed says nothing of it: %q", errOut)
			}
			old := strings.Contains(out, "alice") && strings.Contains(out, "bob")
			restored := strings.Contains(out, "alice") && !strings.Contains(out, "bob")
			if !old && !restored {
				t.Fatalf("after a restore killed at %q the users are neither the old nor the restored ones:\n%s%s", step, out, errOut)
			}
			if code, out, errOut := runCLI(t, dir, "log", "verify"); code != exitOK {
				t.Errorf("log verify: exit %d, %q %q", code, out, errOut)
			}
			// Nothing of the restore left lying about: no staged data
			// (with its key) beside the data directory, no restored key
			// under a temporary name.
			for _, d := range []string{root, filepath.Join(root, "data-keys")} {
				es, err := os.ReadDir(d)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					if strings.Contains(e.Name(), "restore") {
						t.Errorf("%s is left in %s after a restore killed at %q", e.Name(), d, step)
					}
				}
			}
			t.Logf("killed at %q: %s", step, map[bool]string{true: "the old data", false: "the restored backup"}[old])
		})
	}
}

// TestRestore_CommandsWaitForARunningRestore: while a restore runs (it
// holds the restore lock of the data directory's folder and its journal
// is there), another command on the directory is refused with a
// sentence instead of finishing or removing what the restore is doing;
// once the lock is free, the first command cleans away an unfinished
// restore that had not changed anything, and the data is as it was.
func TestRestore_CommandsWaitForARunningRestore(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "data")
	if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	j := newRestoreJournal(filepath.Join(root, "b.age"), dir, keyDirFor(dir, ""), "20261130-023000")
	if err := j.write(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(j.StageKeys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteKey(j.StageKeys, bytes.Repeat([]byte{7}, store.KeySize)); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockRestore(root)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, dir, "user", "list")
	unlock()
	if code != exitError || !strings.Contains(errOut, "a restore into "+dir+" is running; try again when it has finished") {
		t.Fatalf("user list during a restore: exit %d, %q %q", code, out, errOut)
	}
	if !exists(j.StageKeys) || !exists(restoreJournalPath(dir)) {
		t.Fatal("a command removed what a running restore had staged")
	}
	code, out, errOut = runCLI(t, dir, "user", "list")
	if code != exitOK || !strings.Contains(out, "alice") || !strings.Contains(errOut, "was interrupted before it changed anything") {
		t.Fatalf("user list after the restore stopped: exit %d, %q %q", code, out, errOut)
	}
	if exists(j.StageKeys) || exists(restoreJournalPath(dir)) {
		t.Error("the unfinished restore's staged key or journal is still there")
	}
}

// TestRestore_AsRootKeepsTheServiceUsersFiles: the service runs as its
// own user, and a restore onto its directories is run with sudo (the
// parent /var/lib is root's). The restored data directory, its files
// and the restored key files belong to the service user, as those they
// replace did; before, they were left to root, mode 0600, and the
// service could not open its own data ("permission denied").
func TestRestore_AsRootKeepsTheServiceUsersFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving files to another user needs root")
	}
	const uid, gid = 65534, 65534 // nobody
	root := privateTempDir(t)
	dir, keyDir, idFile, b := recipientBackup(t, root)
	// The service user's directories, as service install and the
	// service's first start leave them.
	if err := chownTree([]string{dir, keyDir}, uid, gid); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, dir, "restore", b, "--identity", idFile); code != exitOK {
		t.Fatalf("restore: exit %d, %q %q", code, out, errOut)
	}
	check := func(path string) {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
			t.Errorf("%s belongs to %d:%d after the restore, want the service user's %d:%d", path, st.Uid, st.Gid, uid, gid)
		}
	}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err == nil {
			check(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"", store.KeyFileName, certs.DeviceCACertFile, certs.DeviceCAKeyFile} {
		check(filepath.Join(keyDir, f))
	}
}

// chownTree gives everything under each of dirs to uid:gid.
func chownTree(dirs []string, uid, gid int) error {
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, uid, gid)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// TestRestore_StuckRollbackKeepsTheJournal: when a swap fails and putting
// the previous data back fails too (here something made a new data
// directory in between), the journal and the staged files stay, so the
// next command refuses instead of opening a missing or wrong data
// directory; once a person has moved things back and removed the
// journal, the previous data is there. Before, the journal was removed
// with the restore's other files and the next command opened whatever
// stood at the data directory's path.
func TestRestore_StuckRollbackKeepsTheJournal(t *testing.T) {
	dir, pass, b := passphraseBackup(t, t.TempDir())
	if code, _, errOut := runCLI(t, dir, "user", "add", "bob"); code != exitOK {
		t.Fatalf("user add: %d %q", code, errOut)
	}
	junk := filepath.Join(dir, "not-provisio.txt")
	restoreFault = func(step string) error {
		if step != "data in place" {
			return nil
		}
		// The data directory is aside now; something makes a new one,
		// so moving it back cannot work.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(junk, []byte("someone else's\n"), 0o600); err != nil {
			return err
		}
		return errors.New("injected failure")
	}
	code, _, errOut := runCLI(t, dir, "restore", b, "--passphrase-file", pass)
	restoreFault = nil
	journal := restoreJournalPath(abs(dir))
	if code != exitError || !strings.Contains(errOut, "Move them back by hand, then remove "+journal) {
		t.Fatalf("restore: exit %d, %q; want the parts named and the journal to remove", code, errOut)
	}
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatalf("the journal is gone after a rollback that could not finish: %v", err)
	}
	var j restoreJournal
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if !exists(j.Aside) || !exists(j.Stage) {
		t.Fatalf("aside %v, staged %v: want both kept", exists(j.Aside), exists(j.Stage))
	}
	if code, out, errOut := runCLI(t, dir, "user", "list"); code == exitOK || exists(filepath.Join(dir, store.FileName)) {
		t.Fatalf("a command after the stuck rollback ran on the new directory: exit %d, %q %q", code, out, errOut)
	}
	// What the sentence asks a person to do.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(j.Aside, dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(journal); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "bob") {
		t.Fatalf("user list once moved back: %d %q %q", code, out, errOut)
	}
}
