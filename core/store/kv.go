package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
)

// HistoryCompactor is a Backend that keeps the earlier values of its keys
// (etcd's revisions) and can drop them: a key rotation calls it after its
// commit, so that what was sealed under the retired key is no longer
// served.
type HistoryCompactor interface {
	CompactHistory() error
}

// ErrOutcomeUnknown is wrapped by a backend's error when a commit was sent
// but not confirmed (etcd lost its quorum, or its answer, after the
// proposal): the change may yet be applied. A bbolt commit is never in
// doubt.
var ErrOutcomeUnknown = errors.New("the store did not confirm the change, which it may still apply")

// The bucket/key/value seam (issue #16). The record code in this package
// (the records of store.go, sealing, the log chain, login state) reads and
// writes through these small interfaces, so the same code runs over the
// bbolt file or over another ordered, transactional key/value store such
// as etcd (core/etcdstore). The bbolt implementations below are thin
// pointer conversions: no allocation and no change of behaviour.

// KVTx is one transaction of a Backend.
type KVTx interface {
	// Bucket returns the named bucket; every bucket of schema.go exists.
	Bucket(name []byte) KVBucket
}

// KVBucket is one bucket: an ordered map from key to value. Values returned
// are valid until the transaction ends; copy them to keep them.
type KVBucket interface {
	// Get returns the value of key, or nil when there is none.
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() KVCursor
	// NextSequence increments and returns the bucket's sequence.
	NextSequence() (uint64, error)
	// Sequence returns the bucket's sequence without changing it.
	Sequence() uint64
	// SetSequence sets the bucket's sequence (a copy of a store).
	SetSequence(n uint64) error
	// ForEach calls fn for every key in order; fn must not change the
	// bucket.
	ForEach(fn func(k, v []byte) error) error
}

// KVCursor walks a bucket in key order. A nil key means the walk has
// ended.
type KVCursor interface {
	First() (key, value []byte)
	Last() (key, value []byte)
	Next() (key, value []byte)
	Prev() (key, value []byte)
	// Seek moves to key, or the first key after it.
	Seek(seek []byte) (key, value []byte)
	// Delete deletes the key the cursor is on.
	Delete() error
}

// Backend is a transactional key/value store the record code can run
// over (OpenBackend). Update and Batch return nil only once the change is
// durable; Batch's fn may run more than once.
type Backend interface {
	View(fn func(KVTx) error) error
	Update(fn func(KVTx) error) error
	Batch(fn func(KVTx) error) error
	Close() error
	// Where describes the store for messages, e.g. "etcd://h1:2379/site".
	Where() string
}

// boltTx, boltBucket and boltCursor are the bbolt types seen through the
// seam. Conversions of pointers, so wrapping costs nothing.
type (
	boltTx     bolt.Tx
	boltBucket bolt.Bucket
	boltCursor bolt.Cursor
)

func (t *boltTx) Bucket(name []byte) KVBucket { return (*boltBucket)((*bolt.Tx)(t).Bucket(name)) }

func (b *boltBucket) bolt() *bolt.Bucket                       { return (*bolt.Bucket)(b) }
func (b *boltBucket) Get(key []byte) []byte                    { return b.bolt().Get(key) }
func (b *boltBucket) Put(key, value []byte) error              { return b.bolt().Put(key, value) }
func (b *boltBucket) Delete(key []byte) error                  { return b.bolt().Delete(key) }
func (b *boltBucket) Cursor() KVCursor                         { return (*boltCursor)(b.bolt().Cursor()) }
func (b *boltBucket) NextSequence() (uint64, error)            { return b.bolt().NextSequence() }
func (b *boltBucket) SetSequence(n uint64) error               { return b.bolt().SetSequence(n) }
func (b *boltBucket) Sequence() uint64                         { return b.bolt().Sequence() }
func (b *boltBucket) ForEach(fn func(k, v []byte) error) error { return b.bolt().ForEach(fn) }

func (c *boltCursor) bolt() *bolt.Cursor                { return (*bolt.Cursor)(c) }
func (c *boltCursor) First() ([]byte, []byte)           { return c.bolt().First() }
func (c *boltCursor) Last() ([]byte, []byte)            { return c.bolt().Last() }
func (c *boltCursor) Next() ([]byte, []byte)            { return c.bolt().Next() }
func (c *boltCursor) Prev() ([]byte, []byte)            { return c.bolt().Prev() }
func (c *boltCursor) Seek(seek []byte) ([]byte, []byte) { return c.bolt().Seek(seek) }
func (c *boltCursor) Delete() error                     { return c.bolt().Delete() }

// boltKV is the txn of a bbolt transaction.
func boltKV(tx *bolt.Tx) KVTx { return (*boltTx)(tx) }
