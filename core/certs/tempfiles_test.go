package certs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dirNames lists dir's entries, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// blockWithDir makes path a directory holding a file, which no rename of
// a file can replace, even as root (where permissions do not bite).
func blockWithDir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFileAtomic_FailureLeavesNoTemp: a certificate or key write
// that fails at its last step (the rename) leaves no temporary file
// beside the target, and the target as it was.
func TestWriteFileAtomic_FailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, CertFile)
	blockWithDir(t, path)
	if err := writeFileAtomic(path, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err == nil {
		t.Fatal("a write over a directory succeeded")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{CertFile}) {
		t.Errorf("left in the folder: %q, want only %s", got, CertFile)
	}
}

// TestReplacePair_FailureLeavesNoPendingFiles: a regeneration whose
// certificate cannot be staged removes the key it staged and every
// temporary file, and leaves the pair in use as it was.
func TestReplacePair_FailureLeavesNoPendingFiles(t *testing.T) {
	dir, keyDir := t.TempDir(), t.TempDir()
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(keyDir, KeyFile)
	for _, f := range []string{certPath, keyPath} {
		if err := os.WriteFile(f, []byte("old "+filepath.Base(f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	blockWithDir(t, certPath+pendingSuffix)
	if err := replacePair(certPath, keyPath, []byte("new cert"), []byte("new key")); err == nil {
		t.Fatal("replacePair succeeded with its certificate's pending name taken by a directory")
	}
	if got := dirNames(t, keyDir); !slices.Equal(got, []string{KeyFile}) {
		t.Errorf("left in the key folder: %q, want only %s", got, KeyFile)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{CertFile, CertFile + pendingSuffix}) {
		t.Errorf("left in the data folder: %q, want %s and the blocking directory", got, CertFile)
	}
	for _, f := range []string{certPath, keyPath} {
		if b, _ := os.ReadFile(f); string(b) != "old "+filepath.Base(f) {
			t.Errorf("%s now holds %q", f, b)
		}
	}
}
