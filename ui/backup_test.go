package ui

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"fyne.io/fyne/v2/test"

	"provisio/core/backup"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// wireBackups gives the harness's service the backup writer app wires:
// core/backup over the real bbolt store (the test, not the screen,
// imports the adapter).
func wireBackups(t *testing.T, h *harness) {
	t.Helper()
	st := h.st.(*store.Store)
	// The harness's store has no data key; a key file stands in, as a
	// backup must carry one.
	keyDir := t.TempDir()
	if err := store.WriteKey(keyDir, storetest.TestKey); err != nil {
		t.Fatal(err)
	}
	h.svc.SetBackupWriter(&backup.Engine{Snapshot: func(w io.Writer) (map[string]int, uint64, string, error) {
		info, err := st.Snapshot(w)
		return info.Counts, info.LogLast, info.LogHead, err
	}, Files: map[string]string{backup.KeyName: filepath.Join(keyDir, store.KeyFileName)}, Now: h.svc.Now})
}

// TestBackupScreen_SettingsAndBackUpNow drives Server → Backups as an
// admin would: every wrong value gets its sentence under its field and
// nothing is saved; right values save; Back up now writes a backup the
// recipient's identity opens and shows "OK"; with the folder gone it
// shows the failure, and the status bar says so in red.
func TestBackupScreen_SettingsAndBackUpNow(t *testing.T) {
	h := newHarness(t)
	wireBackups(t, h)
	b := h.c.backups
	f := b.form
	if b.last.Text != "Last backup: none yet. Set a backup folder and Apply to take backups." || !b.now.Disabled() {
		t.Fatalf("before any backup: %q, Back up now disabled %v", b.last.Text, b.now.Disabled())
	}
	folder := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipient := id.Recipient().String()
	shortPass := filepath.Join(t.TempDir(), "short.pass")
	if err := os.WriteFile(shortPass, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	set := func(vals map[string]string) {
		for _, k := range []string{"backup.folder", "backup.time", "backup.keep", "backup.recipient", "backup.passphrase_file"} {
			v, ok := vals[k]
			if !ok {
				v = map[string]string{"backup.folder": folder, "backup.time": "02:30", "backup.keep": "14", "backup.recipient": recipient}[k]
			}
			f.entries[k].entry.SetText(v)
		}
		test.Tap(f.apply)
	}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"relative folder", "backup.folder", "backups", "Enter the full path of the backup folder, such as /var/backups/provisio."},
		{"missing folder", "backup.folder", folder + "-gone", "The backup folder " + folder + "-gone does not exist; create it first."},
		{"file, not folder", "backup.folder", shortPass, shortPass + " is a file, not a folder."},
		{"time", "backup.time", "25:00", `Enter the time as HH:MM on a 24-hour clock, such as 02:30, not "25:00".`},
		{"keep 0", "backup.keep", "0", "Enter a whole number from 1 to 365."},
		{"keep 366", "backup.keep", "366", "Enter a whole number from 1 to 365."},
		{"not a recipient", "backup.recipient", "ssh-rsa AAAA", `"ssh-rsa AAAA" is not an age recipient; it starts with age1, as age-keygen prints it.`},
		{"recipient that does not parse", "backup.recipient", "age1notarealkey", `"age1notarealkey" is not an age recipient (age1…).`},
		{"no encryption", "backup.recipient", "", "Scheduled backups must be encrypted: enter an age recipient (age1…) or a passphrase file."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set(map[string]string{tc.key: tc.value})
			fl := f.entries[tc.key]
			if !fl.msg.Visible() || fl.msg.Text != tc.want {
				t.Errorf("%s: message %q (visible %v), want %q", tc.key, fl.msg.Text, fl.msg.Visible(), tc.want)
			}
			if f.result.Text != "Not saved: correct the fields marked in red." {
				t.Errorf("footer %q", f.result.Text)
			}
			if got := h.svc.Settings().Backup.Folder; got != "" {
				t.Errorf("saved the folder %q", got)
			}
		})
	}
	t.Run("both recipient and passphrase file", func(t *testing.T) {
		set(map[string]string{"backup.passphrase_file": shortPass})
		fl := f.entries["backup.passphrase_file"]
		if !fl.msg.Visible() || !strings.Contains(fl.msg.Text, "not both") {
			t.Errorf("message %q", fl.msg.Text)
		}
	})
	t.Run("short passphrase", func(t *testing.T) {
		set(map[string]string{"backup.recipient": "", "backup.passphrase_file": shortPass})
		fl := f.entries["backup.passphrase_file"]
		if !fl.msg.Visible() || !strings.Contains(fl.msg.Text, "shorter than 8 characters") {
			t.Errorf("message %q", fl.msg.Text)
		}
	})

	set(map[string]string{"backup.time": "2:05", "backup.keep": "3"})
	if f.result.Text != "Saved." {
		t.Fatalf("valid settings: %q", f.result.Text)
	}
	if got := h.svc.Settings().Backup; got.Folder != folder || got.Time != "02:05" || got.Keep != 3 || got.Recipient != recipient {
		t.Fatalf("saved %+v", got)
	}

	// Back up now is off until a folder is saved; the save's event turns it on.
	h.waitFor("Back up now enabled", func() bool { return !b.now.Disabled() })
	test.Tap(b.now)
	// A change saved meanwhile (its event rereads the screen) leaves
	// "Backing up…" until the backup's own outcome; it put the previous
	// outcome back while the backup ran.
	b.configChanged()
	if b.last.Text != "Backing up…" || !b.now.Disabled() {
		t.Errorf("during the backup: %q, Back up now disabled %v", b.last.Text, b.now.Disabled())
	}
	h.waitFor("the backup", func() bool { return strings.Contains(b.last.Text, "— OK") && !b.now.Disabled() })
	file := h.svc.BackupState().Last.File
	if want := "Last backup: 2 Jun 2025 09:00 — OK, " + file; b.last.Text != want {
		t.Errorf("last backup %q, want %q", b.last.Text, want)
	}
	data, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := backup.Read(data, id)
	data.Close()
	if err != nil || m.Counts["users"] != 0 {
		t.Fatalf("the backup does not open with the identity: %v %+v", err, m)
	}

	// The folder goes (a disk unmounted): the failure shows here and in
	// the status bar, in red.
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(60_000_000_000)
	test.Tap(b.now)
	h.waitFor("the failure", func() bool { return strings.Contains(b.last.Text, "failed") })
	if want := "Last backup: 2 Jun 2025 09:01 — failed: The backup folder " + folder + " does not exist; create it first."; b.last.Text != want {
		t.Errorf("last backup %q, want %q", b.last.Text, want)
	}
	h.waitFor("the status bar", func() bool { return strings.Contains(h.c.status.Text, "The last backup failed. ") })
	if h.c.serverState.Text != "● Server needs attention" {
		t.Errorf("server state %q", h.c.serverState.Text)
	}
}
