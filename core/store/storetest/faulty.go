package storetest

import (
	"sync/atomic"

	"provisio/core"
	"provisio/core/store"
)

// Faulty is a real store whose transactions go through Break while Broken
// is set, so a test can make one kind of read fail (a bad disk sector)
// while the rest of the store, the audit log included, keeps working. It
// counts the write transactions asked of it (Update and Batch), so a test
// can tell how many durable writes a request cost.
type Faulty struct {
	*store.Store
	// Break wraps a transaction's core.Tx while Broken is set; typically
	// it embeds the Tx and overrides the one read that should fail.
	Break  func(core.Tx) core.Tx
	Broken atomic.Bool
	Writes atomic.Int64
}

func (f *Faulty) wrap(fn func(core.Tx) error) func(core.Tx) error {
	return func(tx core.Tx) error {
		if f.Broken.Load() {
			tx = f.Break(tx)
		}
		return fn(tx)
	}
}

// View runs fn on a read transaction, broken while Broken is set.
func (f *Faulty) View(fn func(core.Tx) error) error { return f.Store.View(f.wrap(fn)) }

// Update counts one write and runs fn, broken while Broken is set.
func (f *Faulty) Update(fn func(core.Tx) error) error {
	f.Writes.Add(1)
	return f.Store.Update(f.wrap(fn))
}

// Batch counts one write and runs fn, broken while Broken is set.
func (f *Faulty) Batch(fn func(core.Tx) error) error {
	f.Writes.Add(1)
	return f.Store.Batch(f.wrap(fn))
}
