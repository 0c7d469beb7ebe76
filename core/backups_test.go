package core

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestBackupDue(t *testing.T) {
	loc := time.FixedZone("office", 2*3600)
	at := func(day, h, m int) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, loc) }
	on := BackupSettings{Folder: "/backups", Time: "02:30", Keep: 3}
	tests := []struct {
		name       string
		b          BackupSettings
		last       time.Time
		since, now time.Time
		want       bool
	}{
		{"off without a folder", BackupSettings{Time: "02:30"}, time.Time{}, at(1, 0, 0), at(2, 3, 0), false},
		{"before the time", on, at(1, 2, 30), at(1, 9, 0), at(2, 2, 29), false},
		{"at the time", on, at(1, 2, 30), at(1, 9, 0), at(2, 2, 30), true},
		{"ran today already", on, at(2, 2, 30), at(1, 9, 0), at(2, 23, 59), false},
		{"turned on after today's time waits for tomorrow", on, at(2, 10, 0), at(2, 10, 0), at(2, 23, 0), false},
		{"turned on, next day's time", on, at(2, 10, 0), at(2, 10, 0), at(3, 2, 31), true},
		{"server was off at the time: catches up", on, at(1, 2, 30), at(3, 8, 0), at(3, 8, 0), true},
		{"never ran, counts from the runner's start", on, time.Time{}, at(2, 9, 0), at(2, 12, 0), false},
		{"never ran, the time comes", on, time.Time{}, at(2, 1, 0), at(2, 2, 30), true},
		{"a bad time never runs", BackupSettings{Folder: "/b", Time: "x"}, time.Time{}, at(1, 0, 0), at(5, 0, 0), false},
		{"midnight", BackupSettings{Folder: "/b", Time: "00:00"}, at(1, 0, 0), at(1, 0, 0), at(2, 0, 0), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backupDue(tc.b, BackupState{LastScheduled: tc.last}, tc.since, tc.now); got != tc.want {
				t.Errorf("due = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSettings_BackupKeys(t *testing.T) {
	tests := []struct {
		key, value, want, err string
	}{
		{"backup.time", "2:05", "02:05", ""},
		{"backup.time", "23:59", "23:59", ""},
		{"backup.time", "24:00", "", `Enter the time as HH:MM on a 24-hour clock, such as 02:30, not "24:00".`},
		{"backup.time", "", "", `Enter the time as HH:MM on a 24-hour clock, such as 02:30, not "".`},
		{"backup.keep", "365", "365", ""},
		{"backup.keep", "0", "", "Enter a whole number from 1 to 365."},
		{"backup.folder", "", "", ""},
		{"backup.folder", "relative", "", "Enter the full path of the backup folder, such as /var/backups/provisio."},
		{"backup.recipient", "age1abc", "age1abc", ""},
		{"backup.recipient", "age-secret-key-1x", "", "That is an age identity (AGE-SECRET-KEY-1…), the secret that restores the backups, not a recipient; enter its public key (age1…, which age-keygen -y prints), and keep the identity off this machine."},
		{"backup.recipient", "AGE-SECRET-KEY-1X", "", "That is an age identity (AGE-SECRET-KEY-1…), the secret that restores the backups, not a recipient; enter its public key (age1…, which age-keygen -y prints), and keep the identity off this machine."},
		{"backup.recipient", "ssh-ed25519 AAAA", "", `"ssh-ed25519 AAAA" is not an age recipient; it starts with age1, as age-keygen prints it.`},
		{"backup.passphrase_file", "pass.txt", "", "Enter the full path of the passphrase file, such as /etc/provisio/backup.pass."},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			s := DefaultSettings()
			err := s.Set(tc.key, tc.value)
			if ErrorMessage(err) != tc.err && !(err == nil && tc.err == "") {
				t.Fatalf("error %q, want %q", ErrorMessage(err), tc.err)
			}
			if err == nil {
				if got, _ := s.Get(tc.key); got != tc.want {
					t.Errorf("stored %q, want %q", got, tc.want)
				}
			}
		})
	}
	s := DefaultSettings()
	if s.Backup.Time != DefaultBackupTime || s.Backup.Keep != DefaultBackupKeep || s.Backup.Folder != "" {
		t.Errorf("defaults %+v", s.Backup)
	}
	_ = s.Set("backup.recipient", "age1abc")
	if err := s.Set("backup.passphrase_file", "/etc/p"); err == nil {
		t.Error("a recipient and a passphrase file together were accepted")
	}
}

// TestPruneBackups_DeletesOnlyOlderBackupsOfOurs: after a backup into the
// folder, retention deletes only the oldest of our dated backups, and
// never the one just written, nor anything that is not one of ours: a
// person's file named exactly like a backup but not an age file, names
// close to ours, a link and a folder named like a backup. Before, a
// person's "provisio-20250101-090000.age" was deleted as the oldest
// backup, and with backups dated later than now in the folder (a clock
// that was ahead once) the backup just written was deleted at once.
func TestPruneBackups_DeletesOnlyOlderBackupsOfOurs(t *testing.T) {
	const written = "provisio-20261130-023000.age"
	backups := []string{"provisio-20261126-023000.age", "provisio-20261127-023000.age", "provisio-20261128-023000.age", "provisio-20261129-023000.age", written}
	ahead := "provisio-20991231-023000.age" // the clock was ahead once
	theirs := []string{
		"provisio-20250101-090000.age", // named like ours, not an age file
		"provisio-20250101-090000.age.bak", "provisio-20250101-090000.age.tmp", ".provisio-20250101-090000.age.123.tmp",
		"Provisio-20250101-090000.age", "provisio-2025-01-01.age", "provisio-20250101-090000.AGE", "notes.txt",
	}
	tests := []struct {
		name    string
		keep    int
		ahead   bool
		deleted []string
	}{
		{"keep 3", 3, false, backups[:2]},
		{"keep 1", 1, false, backups[:4]},
		{"keep more than there are", 14, false, nil},
		{"keep 1, one dated ahead", 1, true, append(backups[:4:4], ahead)},
		{"keep 2, one dated ahead", 2, true, backups[:4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			put := func(name, content string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range backups {
				put(n, ageIntro+"-> X25519 …")
			}
			if tt.ahead {
				put(ahead, ageIntro+"-> X25519 …")
			}
			for _, n := range theirs {
				put(n, "a person's own file")
			}
			if err := os.Symlink(filepath.Join(dir, backups[0]), filepath.Join(dir, "provisio-20200101-000000.age")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "provisio-20200102-000000.age"), 0o700); err != nil {
				t.Fatal(err)
			}
			n, err := pruneBackups(dir, tt.keep, written)
			if err != nil || n != len(tt.deleted) {
				t.Fatalf("pruned %d (%v), want %d", n, err, len(tt.deleted))
			}
			gone := map[string]bool{}
			for _, d := range tt.deleted {
				gone[d] = true
			}
			all := append(append(append([]string{}, backups...), theirs...), "provisio-20200101-000000.age", "provisio-20200102-000000.age")
			if tt.ahead {
				all = append(all, ahead)
			}
			for _, name := range all {
				if _, err := os.Lstat(filepath.Join(dir, name)); (err == nil) == gone[name] {
					t.Errorf("%s: deleted %v, want %v", name, err != nil, gone[name])
				}
			}
		})
	}
}
