//go:build unix

package core

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestClearUnfinishedBackups: the temporary file of a backup whose
// process died (no lock held) is removed; one a running backup writes
// (HoldWhileWriting) stays, as do files of any other name.
func TestClearUnfinishedBackups(t *testing.T) {
	folder := t.TempDir()
	names := []string{
		".provisio-20261201-023000.age.123.tmp", // killed
		".provisio-20261201-023001.age.456.tmp", // being written
		".provisio-20261201-023000.age.tmp",     // not a temporary name
		".office.age.789.tmp",                   // backup --out's, cleared there
		"provisio-20261130-023000.age",          // a backup
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(folder, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	live, err := os.OpenFile(filepath.Join(folder, names[1]), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	HoldWhileWriting(live)

	if got := clearUnfinishedBackups(folder); !slices.Equal(got, names[:1]) {
		t.Errorf("removed %q, want %q", got, names[:1])
	}
	for i, n := range names {
		_, err := os.Stat(filepath.Join(folder, n))
		if gone := os.IsNotExist(err); gone != (i == 0) {
			t.Errorf("%s: removed %v", n, gone)
		}
	}
	if s := unfinishedSentence("/b", []string{"a", "b"}); s != "Earlier backups into /b were interrupted before they finished; their unfinished files a, b were removed." {
		t.Errorf("sentence %q", s)
	}
}
