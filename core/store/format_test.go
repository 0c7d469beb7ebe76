package store_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
	"provisio/core/store"
)

// rawFormat reads config/"format" of the closed data file in dir
// straight from bbolt; nil when it is absent.
func rawFormat(t *testing.T, dir string) []byte {
	t.Helper()
	var v []byte
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket([]byte("config")).Get([]byte("format")))
		return nil
	})
	return v
}

// rawUpdate runs fn in a bbolt write transaction on the closed data file
// in dir, as an earlier or a newer build would have written it. Its
// Timeout makes a lock left held fail the test instead of hanging it.
func rawUpdate(t *testing.T, dir string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("raw open (is the lock still held?): %v", err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// setRawFormat writes v as the data format number (nil deletes it).
func setRawFormat(t *testing.T, dir string, v []byte) {
	t.Helper()
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		if v == nil {
			return tx.Bucket([]byte("config")).Delete([]byte("format"))
		}
		return tx.Bucket([]byte("config")).Put([]byte("format"), v)
	})
}

// rawDump is every record of the closed data file in dir, bucket/key →
// value, with the bucket sequences.
func rawDump(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)+"/.seq"] = strconv.FormatUint(b.Sequence(), 10)
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"/"+string(k)] = string(v)
				return nil
			})
		})
	})
	return out
}

func testKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, store.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// openWithUser opens a new data file in a new directory, adds one user
// and closes it.
func openWithUser(t *testing.T, key []byte) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx core.Tx) error {
		return tx.PutUser(core.User{Name: "alice", Email: "alice@example.com"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFormat_NewStoreRecordsCurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  bool
	}{{"plain", false}, {"sealed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var key []byte
			if tc.key {
				key = testKey(t)
			}
			dir := openWithUser(t, key)
			if got, want := string(rawFormat(t, dir)), strconv.Itoa(store.FormatVersion); got != want {
				t.Fatalf("config/format = %q, want %q", got, want)
			}
			st, err := store.Open(dir, store.Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if n, err := st.Format(); err != nil || n != store.FormatVersion {
				t.Fatalf("Format() = %d, %v; want %d", n, err, store.FormatVersion)
			}
		})
	}
	if store.FormatVersion != 1 {
		t.Fatalf("FormatVersion = %d; this test and docs/decisions.md say 1", store.FormatVersion)
	}
}

// A store last opened by a build from before format numbers gets the
// number on its next open, and nothing else changes.
func TestFormat_EarlierStoreGetsNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  bool
	}{{"plain", false}, {"sealed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var key []byte
			if tc.key {
				key = testKey(t)
			}
			dir := openWithUser(t, key)
			setRawFormat(t, dir, nil)
			before := rawDump(t, dir)
			if _, ok := before["config/format"]; ok {
				t.Fatal("the format key was not deleted")
			}
			st, err := store.Open(dir, store.Options{Key: key})
			if err != nil {
				t.Fatalf("open a store from before format numbers: %v", err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			after := rawDump(t, dir)
			if got := after["config/format"]; got != "1" {
				t.Fatalf("config/format after open = %q, want \"1\"", got)
			}
			delete(after, "config/format")
			if len(after) != len(before) {
				t.Fatalf("open changed the number of records: %d, was %d", len(after), len(before))
			}
			for k, v := range before {
				if after[k] != v {
					t.Errorf("open changed %s", k)
				}
			}
		})
	}
}

// The format is recorded after the older migrations ran in the same
// transaction: login state still in the user record (a store from before
// the logins bucket) is moved, and the number written with it.
func TestFormat_RecordedWithMigration(t *testing.T) {
	dir := openWithUser(t, nil)
	rawUpdate(t, dir, func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("config"))
		if err := c.Delete([]byte("format")); err != nil {
			return err
		}
		if err := c.Delete([]byte("logins_migrated")); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("logins")).Delete([]byte("alice")); err != nil {
			return err
		}
		// The old layout kept the failure count in the user record.
		return tx.Bucket([]byte("users")).Put([]byte("alice"), []byte(`{"name":"alice","email":"alice@example.com","failures":3}`))
	})
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	after := rawDump(t, dir)
	if after["config/format"] != "1" || after["config/logins_migrated"] == "" || after["logins/alice"] == "" {
		t.Fatalf("after open: format %q, logins_migrated %q, login state %q; want all set",
			after["config/format"], after["config/logins_migrated"], after["logins/alice"])
	}
}

// A store of a newer data format is refused with one sentence before
// anything is read or written, whatever key is given, and the lock is
// released: once the number is set back, it opens.
func TestFormat_NewerRefused(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		// keyWrong opens with a key that is not the store's: the format
		// refusal must come before the key check.
		keyWrong bool
		want     string // the message, %s is the data file's path
	}{
		{name: "two", value: "2", want: "%s was written by a newer Provisio (data format 2); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."},
		{name: "far newer, wrong key", value: "37", keyWrong: true, want: "%s was written by a newer Provisio (data format 37); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."},
		{name: "not a number", value: "2.1", want: "%s was written by a newer Provisio (data format \"2.1\", which this version cannot read); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."},
		{name: "empty", value: "", want: "%s was written by a newer Provisio (data format \"\", which this version cannot read); this one reads data format 1 and older. Run the newer Provisio, or restore a backup made by this version."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := testKey(t)
			dir := openWithUser(t, key)
			setRawFormat(t, dir, []byte(tc.value))
			path := filepath.Join(dir, store.FileName)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			openKey := key
			if tc.keyWrong {
				openKey = testKey(t)
			}
			st, err := store.Open(dir, store.Options{Key: openKey})
			if err == nil {
				st.Close()
				t.Fatal("a store of a newer data format opened")
			}
			if !errors.Is(err, store.ErrNewerFormat) {
				t.Fatalf("err = %v, want ErrNewerFormat", err)
			}
			var fe *store.FormatError
			if !errors.As(err, &fe) || fe.Supported != store.FormatVersion || fe.Where != path {
				t.Fatalf("err = %#v, want a *FormatError for %s", err, path)
			}
			if got, want := err.Error(), fmt.Sprintf(tc.want, path); got != want {
				t.Fatalf("message\n got %q\nwant %q", got, want)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("the refused open changed the data file")
			}
			// rawUpdate fails within a second if the lock is still held.
			setRawFormat(t, dir, []byte("1"))
			st, err = store.Open(dir, store.Options{Key: key})
			if err != nil {
				t.Fatalf("open after the number was set back: %v", err)
			}
			defer st.Close()
			err = st.View(func(tx core.Tx) error { _, err := tx.User("alice"); return err })
			if err != nil {
				t.Fatalf("the user is not there after the refusal: %v", err)
			}
		})
	}
}

// Check reports the format number, and says when Open would refuse it.
func TestFormat_CheckReports(t *testing.T) {
	for _, tc := range []struct {
		name      string
		value     []byte // nil: no format key
		wantN     int
		wantNewer bool
	}{
		{"current", []byte("1"), 1, false},
		{"from before the numbers", nil, 0, false},
		{"newer", []byte("2"), 2, true},
		{"not a number", []byte("x"), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := openWithUser(t, testKey(t))
			setRawFormat(t, dir, tc.value)
			r, err := store.Check(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.wantN || r.Newer != tc.wantNewer {
				t.Fatalf("Check: Format %d Newer %v; want %d %v", r.Format, r.Newer, tc.wantN, tc.wantNewer)
			}
			fe := r.FormatError()
			if (fe != nil) != tc.wantNewer || (fe != nil && !errors.Is(fe, store.ErrNewerFormat)) {
				t.Fatalf("FormatError() = %v", fe)
			}
		})
	}
}

// A copy of the store (provisio store copy) holds the source's format
// number: the destination's own, written when it was opened, does not
// make the copy refuse it as a record already there.
func TestFormat_CopyCarriesFormat(t *testing.T) {
	key := testKey(t)
	src, err := store.Open(openWithUser(t, key), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dstDir := t.TempDir()
	dst, err := store.Open(dstDir, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CopyRecords(src, dst, 0); err != nil {
		dst.Close()
		t.Fatalf("copy: %v", err)
	}
	dst.Close()
	if got := string(rawFormat(t, dstDir)); got != "1" {
		t.Fatalf("the copy's config/format = %q, want \"1\"", got)
	}
}
