package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestore_JournalNamesOnlyItsOwnFiles: the journal beside the data
// directory tells the next command, often run as root, what to remove
// and rename. It is only a file in the data directory's folder, which
// another account may be able to write (a data directory under a folder
// of the service user's, a copy of the folder from elsewhere), so it is
// followed only where it names the files a restore into this data
// directory and key directory makes: a journal naming anything else
// (another folder to remove as "staged", a file outside the key
// directory to rename, a stamp that climbs out of the folder) is refused
// with a sentence, and nothing is removed or renamed.
func TestRestore_JournalNamesOnlyItsOwnFiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(j *restoreJournal, victim string)
	}{
		{"a folder to remove as staged", func(j *restoreJournal, victim string) { j.Stage = victim }},
		{"a folder to remove as staged keys", func(j *restoreJournal, victim string) { j.StageKeys = victim }},
		{"a stamp that leaves the folder", func(j *restoreJournal, victim string) {
			// The temporary key names are the key directory's
			// "."+name+".restore-"+stamp: this one is victim/keep.txt.
			j.Stamp = "x/../../" + filepath.Base(victim) + "/keep.txt"
		}},
		{"a file outside the key directory to rename", func(j *restoreJournal, victim string) {
			j.Swapping = true
			j.Keys = []journalKey{{Cur: filepath.Join(victim, "keep.txt"), Old: filepath.Join(victim, "keep.txt.replaced-"+j.Stamp)}}
		}},
		{"another key directory", func(j *restoreJournal, victim string) {
			j.Swapping = true
			j.KeyDir = victim
			j.Keys = []journalKey{{Cur: filepath.Join(victim, "provisio.key"), Old: filepath.Join(victim, "provisio.key.replaced-"+j.Stamp)}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := privateTempDir(t)
			dir := filepath.Join(root, "data")
			if code, _, errOut := runCLI(t, dir, "user", "add", "alice"); code != exitOK {
				t.Fatalf("user add: %q", errOut)
			}
			victim := filepath.Join(root, "victim")
			if err := os.Mkdir(victim, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"keep.txt", "provisio.key"} {
				if err := os.WriteFile(filepath.Join(victim, f), []byte("not the restore's\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			j := newRestoreJournal(filepath.Join(root, "b.age"), dir, keyDirFor(dir, ""), "20261130-023000")
			tt.edit(j, victim)
			if err := j.write(); err != nil {
				t.Fatal(err)
			}

			code, out, errOut := runCLI(t, dir, "user", "list")
			for _, f := range []string{"keep.txt", "provisio.key"} {
				if b, err := os.ReadFile(filepath.Join(victim, f)); err != nil || string(b) != "not the restore's\n" {
					t.Errorf("the journal made the command remove or rename %s: %v", filepath.Join(victim, f), err)
				}
			}
			if code != exitError || !strings.Contains(errOut, "nothing was changed") || strings.Contains(out, "alice") {
				t.Errorf("user list beside a journal naming other files: exit %d, %q %q; want a refusal that changes nothing", code, out, errOut)
			}
			if !exists(restoreJournalPath(dir)) {
				t.Error("the journal was removed; the person must see it to decide")
			}
		})
	}
}

// TestRestoreStamp_SkipsNamesInUse: two restores in the same second
// gave the second one the replaced-data name the first had just used,
// and its rename refused ("file exists", a CI failure of
// TestCLI_RestoreRefusalsLeaveTheDataAsItWas); the stamp now skips any
// name in use, and the journal's check accepts such a stamp.
func TestRestoreStamp_SkipsNamesInUse(t *testing.T) {
	now := time.Date(2026, 12, 1, 2, 45, 9, 0, time.UTC)
	const base = "20261201-024509"
	for _, tt := range []struct {
		name  string
		taken []string // relative to the folder holding data and keys
		want  string
	}{
		{"nothing in use", nil, base},
		{"the data replaced a moment ago", []string{"data.replaced-" + base}, base + "-2"},
		{"and its second", []string{"data.replaced-" + base, "data.replaced-" + base + "-2"}, base + "-3"},
		{"a key file replaced", []string{"keys/provisio.key.replaced-" + base}, base + "-2"},
		{"a staging folder left", []string{".data.restore-" + base}, base + "-2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, keyDir := filepath.Join(root, "data"), filepath.Join(root, "keys")
			for _, d := range []string{dir, keyDir} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range tt.taken {
				if err := os.WriteFile(filepath.Join(root, p), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := restoreStamp(dir, keyDir, now)
			if got != tt.want {
				t.Errorf("stamp %q, want %q", got, tt.want)
			}
			if bad := newRestoreJournal(filepath.Join(root, "b.age"), dir, keyDir, got).foreign(keyDir); bad != "" {
				t.Errorf("the journal's own check refuses the stamp: %s", bad)
			}
		})
	}
}

// TestRestore_JournalReachedThroughAnotherPath: a restore run with
// --data /srv/provisio, where /srv is a link to /data, writes its journal
// for /srv/provisio; the next command given /data/provisio finds the same
// journal under the other spelling. It used to answer "run the command
// again as the user who ran the restore (often root)", which sends the
// person after permissions; the sentence now names the path to give, and
// nothing is changed until the same path is given.
func TestRestore_JournalReachedThroughAnotherPath(t *testing.T) {
	root := privateTempDir(t)
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	viaLink, viaReal := filepath.Join(link, "data"), filepath.Join(real, "data")
	if code, _, errOut := runCLI(t, viaReal, "user", "add", "alice"); code != exitOK {
		t.Fatalf("user add: %q", errOut)
	}
	// A restore through the link that was killed before it changed
	// anything: its journal and staged folder are beside the data.
	j := newRestoreJournal(filepath.Join(root, "b.age"), viaLink, keyDirFor(viaLink, ""), "20261201-040000")
	if err := os.Mkdir(j.Stage, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := j.write(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, viaReal, "user", "list")
	if code != exitError || strings.Contains(out, "alice") {
		t.Fatalf("user list through the other path: exit %d, %q; want a refusal", code, out)
	}
	if strings.Contains(errOut, "as the user who ran the restore") || !strings.Contains(errOut, "--data "+viaLink) || !strings.Contains(errOut, "nothing was changed") {
		t.Errorf("user list through the other path said %q; want the path the restore was given, and that nothing was changed", errOut)
	}
	if !exists(restoreJournalPath(viaReal)) || !exists(j.Stage) {
		t.Fatal("the refusal removed the journal or what the restore staged")
	}

	// Given the restore's own path, the command finishes it.
	code, out, errOut = runCLI(t, viaLink, "user", "list")
	if code != exitOK || !strings.Contains(out, "alice") || !strings.Contains(errOut, "interrupted before it changed anything") {
		t.Errorf("user list through the restore's path: exit %d, %q %q; want the restore cleaned up and alice listed", code, out, errOut)
	}
	if exists(restoreJournalPath(viaLink)) || exists(j.Stage) {
		t.Error("the journal or the staged folder is still there")
	}
}

// TestRestore_SaysOnlyWhatItPutAside: after a restore the output says
// where the previous data directory and key went, and names only what
// was there to put aside. The usual reason to restore is a lost key
// directory, and a restore then renamed no key: saying "its key was
// renamed *.replaced-…" sent the person looking for a file that does
// not exist.
func TestRestore_SaysOnlyWhatItPutAside(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(dir, keys string) error
		want    []string // in stdout, with ASIDE for the data's new name
		notWant string
	}{
		{"data and key replaced", func(string, string) error { return nil },
			[]string{"The replaced data is in ASIDE; its key was renamed *.replaced-"}, ""},
		{"key directory lost", func(_, keys string) error { return os.RemoveAll(keys) },
			[]string{"The replaced data is in ASIDE.\n"}, "key was renamed"},
		{"data directory lost, key kept", func(dir, _ string) error { return os.RemoveAll(dir) },
			[]string{"The previous key was renamed *.replaced-"}, "replaced data"},
		{"both lost", func(dir, keys string) error { return errors.Join(os.RemoveAll(dir), os.RemoveAll(keys)) },
			nil, "replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(privateTempDir(t), "office")
			keys := keyDirFor(dir, "")
			if code, _, stderr := runCLIIn(t, dir, "7319\n", "user", "add", "alice", "--pin", "-"); code != exitOK {
				t.Fatalf("user add: %q", stderr)
			}
			pass := filepath.Join(t.TempDir(), "pass")
			if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "b.age")
			if code, _, stderr := runCLI(t, dir, "backup", "--out", file, "--passphrase-file", pass); code != exitOK {
				t.Fatalf("backup: %q", stderr)
			}
			if err := tt.damage(dir, keys); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, dir, "restore", file, "--passphrase-file", pass)
			if code != exitOK {
				t.Fatalf("restore: %d %q", code, stderr)
			}
			aside, _ := filepath.Glob(dir + ".replaced-*")
			oldKeys, _ := filepath.Glob(filepath.Join(keys, "provisio.key.replaced-*"))
			for _, w := range tt.want {
				if len(aside) == 1 {
					w = strings.ReplaceAll(w, "ASIDE", aside[0])
				}
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout %q does not say %q", stdout, w)
				}
			}
			if tt.notWant != "" && strings.Contains(stdout, tt.notWant) {
				t.Errorf("stdout %q says %q", stdout, tt.notWant)
			}
			// What it says is there is there.
			if strings.Contains(stdout, "replaced data is in") != (len(aside) == 1) {
				t.Errorf("data put aside %v, stdout %q", aside, stdout)
			}
			if strings.Contains(stdout, "key was renamed") != (len(oldKeys) == 1) {
				t.Errorf("key put aside %v, stdout %q", oldKeys, stdout)
			}
			if code, out, _ := runCLI(t, dir, "user", "list"); code != exitOK || !strings.Contains(out, "alice") {
				t.Errorf("restored users: %d %q", code, out)
			}
		})
	}
}

// TestRestore_PassphraseFileProblems: a passphrase file restore cannot
// use is refused in one sentence that says what to do and that nothing
// was changed. One holding a passphrase under 8 characters said only
// "is shorter than 8 characters", which reads as a rule to follow, while
// the point is that no backup was made with it: it is the wrong file.
func TestRestore_PassphraseFileProblems(t *testing.T) {
	root := privateTempDir(t)
	dir := filepath.Join(root, "office")
	if code, _, stderr := runCLIIn(t, dir, "7319\n", "user", "add", "alice", "--pin", "-"); code != exitOK {
		t.Fatalf("user add: %q", stderr)
	}
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "b.age")
	if code, _, stderr := runCLI(t, dir, "backup", "--out", file, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("backup: %q", stderr)
	}
	short := filepath.Join(root, "short")
	if err := os.WriteFile(short, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, passFile string
		want           []string
	}{
		{"shorter than 8", short, []string{"shorter than 8 characters, so no backup was made with it; give the file that holds the backup's passphrase"}},
		{"missing", filepath.Join(root, "nosuch"), []string{"does not exist"}},
		{"a folder", root, []string{"is a folder"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, dir, "restore", file, "--passphrase-file", tt.passFile)
			if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "nothing was changed") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one sentence ending in nothing was changed", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if m, _ := filepath.Glob(dir + ".replaced-*"); len(m) != 0 {
				t.Errorf("data moved aside: %v", m)
			}
		})
	}
}
