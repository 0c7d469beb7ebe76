package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
	"provisio/core/store"
)

// putClientLog stores one upload for name directly.
func putClientLog(t *testing.T, st core.Store, name, text string) {
	t.Helper()
	err := st.Update(func(tx core.Tx) error {
		return tx.PutClientLog(name, core.ClientLog{Entries: []core.ClientLogEntry{{Time: time.Now().UTC(), Text: text}}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readClientLog(st core.Store, name string) (l core.ClientLog, err error) {
	err = st.View(func(tx core.Tx) error { l, err = tx.ClientLog(name); return err })
	return l, err
}

// Client logs (#14) are sealed like other secrets: a plain file's logs
// are sealed (and the plain bytes scrubbed) when it first opens with a
// key, they read back after a key rotation, a sealed log copied onto
// another user's record does not open, and deleting the user deletes
// them.
func TestStore_ClientLogSealed(t *testing.T) {
	const marker = "clientlog-store-marker-3e9a"
	dataDir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	putClientLog(t, st, "alice", marker)
	putClientLog(t, st, "bob", "bob's log")
	st.Close()
	path := filepath.Join(dataDir, store.FileName)
	if data, _ := os.ReadFile(path); !bytes.Contains(data, []byte(marker)) {
		t.Fatal("the plain file does not hold the log: the test proves nothing")
	}

	st, err = store.Open(dataDir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := readClientLog(st, "ALICE"); err != nil || len(l.Entries) != 1 || l.Entries[0].Text != marker {
		t.Fatalf("after sealing: %+v, %v", l, err)
	}
	if n, err := st.RotateKey(); err != nil || n == 0 {
		t.Fatalf("rotate: %d, %v", n, err)
	}
	if l, err := readClientLog(st, "alice"); err != nil || l.Entries[0].Text != marker {
		t.Fatalf("after rotation: %+v, %v", l, err)
	}
	st.Close()
	if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(marker)) {
		t.Fatal("the sealed file still holds the log in plain text")
	}

	// alice's sealed record put in bob's place does not open.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("clientlogs"))
		return b.Put([]byte("bob"), bytes.Clone(b.Get([]byte("alice"))))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dataDir, store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := readClientLog(st, "bob"); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("swapped record: %v, want ErrWrongKey", err)
	}
	if err := st.Update(func(tx core.Tx) error { return tx.DeleteUser("alice") }); err != nil {
		t.Fatal(err)
	}
	if _, err := readClientLog(st, "alice"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after DeleteUser: %v", err)
	}
}
