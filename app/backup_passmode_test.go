package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
)

// writeMode writes content to path with exactly mode (os.WriteFile's mode
// passes through the umask).
func writeMode(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// A passphrase file that other users can read (or change) keeps no backup
// secret: scheduled backups' setting and a one-off backup refuse it with
// one sentence naming the file and the fix, and change nothing; a restore
// reads it all the same and warns (docs/decisions.md "Leftovers from the
// walk-throughs, 2 December evening").
func TestBackup_PassphraseFileMode(t *testing.T) {
	const passphrase = "a passphrase kept apart"
	o := newBackupOffice(t, passphrase, 1)
	folder := filepath.Join(o.root, "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	made := filepath.Join(o.root, "made.age") // a backup to restore, made with the 0600 file
	enc, err := backupEncryption(o.pass, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&cli{dataDir: o.dir, out: io.Discard, errOut: io.Discard}).backup(nil, o.e, made, enc); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		mode    os.FileMode
		refused bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o644, true},
		{0o620, true}, // others could put their own passphrase in it
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			pass := filepath.Join(t.TempDir(), "backup.pass")
			writeMode(t, pass, passphrase+"\n", tt.mode)
			want := fmt.Sprintf("The passphrase file %s can be read or changed by other users of this machine (mode %04o), so it keeps no backup secret; run chmod 600 %s to make it the owner's alone.", pass, uint32(tt.mode), pass)

			// The scheduled backups' setting: refused, nothing saved.
			before := o.e.svc.Settings().Backup
			err := o.e.svc.SetSetting("backup.passphrase_file", pass)
			after := o.e.svc.Settings().Backup
			if tt.refused {
				var ce *core.Error
				if err == nil || !errors.As(err, &ce) || ce.Message != want {
					t.Fatalf("setting an exposed passphrase file: %v, want %q", err, want)
				}
				if after != before {
					t.Errorf("refused, but the settings changed: %+v, were %+v", after, before)
				}
			} else {
				if err != nil {
					t.Fatalf("setting a private passphrase file: %v", err)
				}
				if after.PassphraseFile != pass {
					t.Errorf("backup.passphrase_file is %q, want %q", after.PassphraseFile, pass)
				}
				if err := o.e.svc.SetSetting("backup.passphrase_file", ""); err != nil {
					t.Fatal(err)
				}
			}

			// A one-off backup reads it the same way, before anything is
			// written.
			out := filepath.Join(t.TempDir(), "one-off.age")
			enc, err := backupEncryption(pass, "")
			if tt.refused {
				if err == nil || err.Error()+"." != strings.ToLower(want[:1])+want[1:] {
					t.Errorf("backup --passphrase-file: %v, want %q", err, want)
				}
			} else if err != nil {
				t.Errorf("backup --passphrase-file: %v", err)
			} else if err := (&cli{dataDir: o.dir, out: io.Discard, errOut: io.Discard}).backup(nil, o.e, out, enc); err != nil {
				t.Errorf("backup: %v", err)
			}
			if _, err := os.Stat(out); (err == nil) == tt.refused {
				t.Errorf("backup file written: %v, refused %v", err == nil, tt.refused)
			}
		})
	}

	// A restore reads the file whatever its mode, and warns when others
	// can read it.
	o.e.close()
	for _, tt := range tests {
		t.Run("restore "+tt.mode.String(), func(t *testing.T) {
			pass := filepath.Join(t.TempDir(), "backup.pass")
			writeMode(t, pass, passphrase+"\n", tt.mode)
			code, stdout, stderr := runCLI(t, filepath.Join(t.TempDir(), "office"), "restore", made, "--passphrase-file", pass)
			if code != exitOK || !strings.Contains(stdout, "Restored ") {
				t.Fatalf("restore: %d %q %q", code, stdout, stderr)
			}
			warned := strings.Contains(stderr, "provisio: warning: the passphrase file "+pass+" can be read or changed by other users") &&
				strings.Contains(stderr, "run chmod 600 "+pass)
			if warned != tt.refused {
				t.Errorf("warned %v, want %v; stderr %q", warned, tt.refused, stderr)
			}
		})
	}
}

// A passphrase file made readable by others after it was set: the next
// scheduled backup fails and says so where the admin looks (the recorded
// result on the Backups screen, the status bar's health, an error in the
// audit log), and writes no backup.
func TestScheduledBackups_PassphraseFileExposedLater(t *testing.T) {
	o := newBackupOffice(t, "a passphrase kept apart", 1)
	defer o.e.close()
	folder := filepath.Join(o.root, "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"backup.passphrase_file", o.pass}, {"backup.folder", folder}} {
		if err := o.e.svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(kv[0], err)
		}
	}
	if err := os.Chmod(o.pass, 0o644); err != nil {
		t.Fatal(err)
	}
	res := o.e.svc.BackupNow(true)
	want := "The passphrase file " + o.pass + " can be read or changed by other users of this machine (mode 0644), so it keeps no backup secret; run chmod 600 " + o.pass + " to make it the owner's alone."
	if res.OK || res.Error != want {
		t.Fatalf("result %+v, want the error %q", res, want)
	}
	if st := o.e.svc.BackupState(); st.Last.OK || st.Last.Error != want {
		t.Errorf("recorded %+v", st.Last)
	}
	if h := o.e.svc.Health(); h.BackupError != want {
		t.Errorf("health %+v", h)
	}
	logs, _ := o.e.svc.LogTail(5)
	var errLine bool
	for _, l := range logs {
		if l.Level == core.LevelError && l.Message == "Scheduled backup failed: "+want {
			errLine = true
		}
	}
	if !errLine {
		t.Errorf("no error line in the log: %+v", logs)
	}
	if m, _ := filepath.Glob(filepath.Join(folder, "*")); len(m) != 0 {
		t.Errorf("files in the folder: %v", m)
	}
}
