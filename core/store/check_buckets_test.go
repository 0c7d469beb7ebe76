package store

import (
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCheck_MissingBuckets: a bucket from the first release that is gone
// is damage; one added later is what a file last opened by an earlier
// version looks like, and is fine (opening it makes the bucket).
func TestCheck_MissingBuckets(t *testing.T) {
	for _, b := range allBuckets {
		t.Run(string(b), func(t *testing.T) {
			dir := t.TempDir()
			st, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(b) }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			r, err := Check(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			flagged := slices.ContainsFunc(r.BadRecords, func(s string) bool { return s == `bucket "`+string(b)+`" is missing` })
			if flagged == addedLater[string(b)] {
				t.Fatalf("bucket %s missing: flagged %v, added later %v (%v)", b, flagged, addedLater[string(b)], r.BadRecords)
			}
		})
	}
}
