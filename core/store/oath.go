package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
)

// OATH records (issue #11). A record holds a token's shared secret, so
// removing one is not enough: bbolt is copy-on-write and a freed page
// keeps its old bytes until it is reused. ScrubFree overwrites every free
// page so that a wiped secret is gone from the file.

// bucketScrub is a scratch bucket that exists only during ScrubFree.
var bucketScrub = []byte("scrub")

func (t *txn) OATH(username string) (r core.OATHRecord, err error) {
	key := userKey(username)
	if err = t.getJSON(bucketOATH, key, &r); err != nil {
		return r, err
	}
	return t.openOATH(key, r)
}

func (t *txn) PutOATH(username string, r core.OATHRecord) error {
	if r.Active == nil && r.Pending == nil {
		return t.DeleteOATH(username)
	}
	key := userKey(username)
	return t.putJSON(bucketOATH, key, t.sealOATH(key, r))
}

func (t *txn) DeleteOATH(username string) error {
	if t.tx.Bucket(bucketOATH).Get(userKey(username)) == nil {
		return nil
	}
	// Set inside the transaction: a rollback costs one needless scrub.
	t.s.oathDirty.Store(true)
	return t.delete(bucketOATH, userKey(username))
}

func (t *txn) OATHRecords(fn func(string, core.OATHRecord) bool) error {
	c := t.tx.Bucket(bucketOATH).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var r core.OATHRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode oath %s: %w", k, err)
		}
		r, err := t.openOATH(k, r)
		if err != nil {
			return err
		}
		if !fn(string(k), r) {
			return nil
		}
	}
	return nil
}

// ScrubFree overwrites the data file's free pages with zeros, when an OATH
// record was deleted since the last scrub or force is set; it implements
// core.Scrubber. It fills every free page with a scratch bucket of
// zero-filled values in one transaction (bbolt writes whole zeroed page
// buffers) and drops the bucket in a second; the pages freed by that
// second transaction hold only zeros. Pages that a long-running reader
// still pins are not free yet and wait for the next scrub.
func (s *Store) ScrubFree(force bool) error {
	if !s.oathDirty.Swap(false) && !force || s.db == nil {
		// Only the bbolt file keeps old values on free pages; etcd
		// compacts and defragments on its own schedule.
		return nil
	}
	st := s.db.Stats()
	free := st.FreePageN + st.PendingPageN
	if free == 0 {
		return nil
	}
	pageSize := s.db.Info().PageSize
	// Two values to a page with FillPercent 1: each leaf page is one
	// fresh allocation, so the freelist is used up page by page.
	val := make([]byte, pageSize/2-64)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketScrub)
		if err != nil {
			return err
		}
		b.FillPercent = 1.0
		for i := 0; i < 2*free+8; i++ {
			if err := b.Put(seqKey(uint64(i)), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketScrub) })
	}
	if err != nil {
		s.oathDirty.Store(true)
		return fmt.Errorf("scrub free pages: %w", err)
	}
	return nil
}
