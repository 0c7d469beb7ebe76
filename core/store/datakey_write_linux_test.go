package store

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteKey_FailedWriteKeepsTheOldKey: when the key cannot be written
// (here: a file-size limit of 0, so every write fails with EFBIG, as on a
// full disk), WriteKey fails and the key already in place stays intact;
// it used to report success and rename an empty file over it, losing
// every sealed record.
func TestWriteKey_FailedWriteKeepsTheOldKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	old := bytes.Repeat([]byte{7}, KeySize)
	if err := WriteKey(dir, old); err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	// Go ignores SIGXFSZ, so the write returns EFBIG instead of killing
	// the test. The limit is the process's: restore it at once.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 0, Max: lim.Max}); err != nil {
		t.Fatal(err)
	}
	err := WriteKey(dir, bytes.Repeat([]byte{9}, KeySize))
	if rerr := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		t.Error("WriteKey reported success although the key could not be written")
	}
	got, rerr := os.ReadFile(filepath.Join(dir, KeyFileName))
	if rerr != nil || !bytes.Equal(got, old) {
		t.Errorf("the key in place is now %d bytes (%v), want the old %d-byte key unchanged", len(got), rerr, len(old))
	}
}
