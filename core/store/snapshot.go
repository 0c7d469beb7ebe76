package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SnapshotInfo describes a consistent copy made by Snapshot.
type SnapshotInfo struct {
	Counts  map[string]int // records per bucket
	LogLast uint64         // newest log entry
	LogHead string         // its chain MAC ("" without a data key)
}

// Snapshot writes a consistent copy of the data file to w from one read
// transaction (bbolt's Tx.WriteTo), so logins and other writes go on
// meanwhile, and returns the copy's record counts and log head, read in
// the same transaction. A log whose chain does not verify is not backed up.
func (s *Store) Snapshot(w io.Writer) (info SnapshotInfo, err error) {
	if s.db == nil {
		return s.snapshotKV(w)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		info = SnapshotInfo{Counts: Counts(tx)}
		if s.crypt != nil {
			v, err := (&txn{tx: boltKV(tx), s: s}).verifyLog()
			if err != nil {
				return err
			}
			info.LogLast, info.LogHead = v.Last, v.Head
		}
		_, err := tx.WriteTo(w)
		return err
	})
	return info, err
}

// snapshotKV is Snapshot for records kept in another backend (etcd,
// issue #16): the records and sequences of one read transaction are
// written into a new bbolt file in a private temporary folder, which then
// goes to w and is removed. So a backup of an etcd site is the same data
// file a single server keeps: it restores as one, and `store copy --to`
// takes it back to etcd. The log chain is verified in the same read, as
// for the file.
func (s *Store) snapshotKV(w io.Writer) (info SnapshotInfo, err error) {
	tmp, err := os.MkdirTemp(s.dataDir, ".snapshot-")
	if err != nil {
		return info, fmt.Errorf("make a folder for the snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, FileName)
	// No fsync: the file is read back at once and never outlives this
	// call.
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		return info, fmt.Errorf("make the snapshot file: %w", err)
	}
	defer db.Close()
	err = s.kv.View(func(tx KVTx) error {
		info = SnapshotInfo{Counts: map[string]int{}}
		if s.crypt != nil {
			v, err := (&txn{tx: tx, s: s}).verifyLog()
			if err != nil {
				return err
			}
			info.LogLast, info.LogHead = v.Last, v.Head
		}
		// bbolt keeps the values put until its commit, which is inside
		// this read: they stay valid.
		return db.Update(func(btx *bolt.Tx) error {
			for _, name := range allBuckets {
				dst, err := btx.CreateBucketIfNotExists(name)
				if err != nil {
					return err
				}
				src := tx.Bucket(name)
				n := 0
				if err := src.ForEach(func(k, v []byte) error {
					n++
					return dst.Put(k, v)
				}); err != nil {
					return err
				}
				info.Counts[string(name)] = n
				if err := dst.SetSequence(src.Sequence()); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return info, err
	}
	if err := db.Sync(); err != nil {
		return info, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
	return info, err
}

// Counts returns the number of records in each of the store's buckets.
func Counts(tx *bolt.Tx) map[string]int {
	out := map[string]int{}
	for _, b := range allBuckets {
		if bk := tx.Bucket(b); bk != nil {
			out[string(b)] = bk.Stats().KeyN
		}
	}
	return out
}

// Snapshot info of an opened store, for comparing a restored copy with
// the manifest written at backup time.
func (s *Store) Info() (SnapshotInfo, error) { return s.Snapshot(io.Discard) }

// ProbeLock fails with ErrLocked when another process (a running server
// or console) holds the data file in dir. It takes the lock for a moment
// only; a missing file is not locked.
func ProbeLock(dir string) (err error) {
	defer func() {
		if recover() != nil {
			err = nil // a damaged file bbolt stops on is not held either
		}
	}()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("%s: %w", dir, ErrLocked)
	}
	if err != nil {
		// Missing or damaged: not held by anyone, which is all this asks.
		return nil
	}
	return db.Close()
}
