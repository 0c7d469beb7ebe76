package store

import (
	"bytes"
	"fmt"
)

// Copying a store to another (issue #16: "provisio store copy"), the
// bbolt file to etcd or back. Records are copied as stored, sealed values
// included: their sealing binds bucket and key, not the backend, so the
// copy opens with the same data key.

// CopyReport is what CopyRecords copied and checked.
type CopyReport struct {
	Counts  map[string]int // records per bucket, as in both stores
	LogLast uint64         // the newest audit log entry
	LogHead string         // its chain MAC (empty for a store without a key)
}

// CopyRecords copies every record and bucket sequence of src into dst,
// which must hold nothing yet but what opening it wrote, reading src in
// one read transaction. It writes at most chunk records per transaction
// (0: all in one), for a backend that bounds a transaction's size; a
// failure part way leaves dst partly written, and the next attempt needs
// it emptied. Before it returns nil it checks that dst holds the same
// number of records in every bucket and the same sequences as src, and
// that the audit log's chain verifies in dst to the same head.
func CopyRecords(src, dst *Store, chunk int) (rep CopyReport, err error) {
	if err := dst.view(func(tx KVTx) error { return checkEmpty(tx) }); err != nil {
		return rep, err
	}
	type rec struct{ k, v []byte }
	data := map[string][]rec{}
	seqs := map[string]uint64{}
	rep.Counts = map[string]int{}
	err = src.view(func(tx KVTx) error {
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			seqs[string(name)] = b.Sequence()
			if err := b.ForEach(func(k, v []byte) error {
				data[string(name)] = append(data[string(name)], rec{bytes.Clone(k), bytes.Clone(v)})
				return nil
			}); err != nil {
				return err
			}
			rep.Counts[string(name)] = len(data[string(name)])
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("read %s: %w", src.Path(), err)
	}
	var pending []func(KVTx) error
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		p := pending
		pending = nil
		return dst.update(func(tx KVTx) error {
			for _, f := range p {
				if err := f(tx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, name := range allBuckets {
		for _, r := range data[string(name)] {
			pending = append(pending, func(tx KVTx) error { return tx.Bucket(name).Put(r.k, r.v) })
			if chunk > 0 && len(pending) >= chunk {
				if err := flush(); err != nil {
					return rep, fmt.Errorf("write %s: %w", dst.Path(), err)
				}
			}
		}
		seq := seqs[string(name)]
		pending = append(pending, func(tx KVTx) error { return tx.Bucket(name).SetSequence(seq) })
	}
	if err := flush(); err != nil {
		return rep, fmt.Errorf("write %s: %w", dst.Path(), err)
	}
	// Verify from what dst holds now.
	err = dst.view(func(tx KVTx) error {
		for _, name := range allBuckets {
			b := tx.Bucket(name)
			n := 0
			if err := b.ForEach(func(_, _ []byte) error { n++; return nil }); err != nil {
				return err
			}
			if n != rep.Counts[string(name)] {
				return fmt.Errorf("the copy holds %d records in %s, the source %d", n, name, rep.Counts[string(name)])
			}
			if s := b.Sequence(); s != seqs[string(name)] {
				return fmt.Errorf("the copy's sequence of %s is %d, the source's %d", name, s, seqs[string(name)])
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("verify the copy: %w", err)
	}
	if src.crypt != nil {
		want, err := src.VerifyLog()
		if err != nil {
			return rep, fmt.Errorf("the source's audit log: %w", err)
		}
		// The copy is read with dst's key: the same key, or the chain
		// would not verify.
		got, err := dst.VerifyLog()
		if err != nil {
			return rep, fmt.Errorf("the copy's audit log: %w", err)
		}
		if got.Head != want.Head || got.Last != want.Last {
			return rep, fmt.Errorf("the copy's audit log ends at #%d, the source's at #%d", got.Last, want.Last)
		}
		rep.LogLast, rep.LogHead = got.Last, got.Head
	}
	return rep, nil
}

// checkEmpty refuses a destination that holds records: only what opening
// a store writes (the key check, the login-state marker, the data format
// number) may be there. The copy then writes the source's values over
// them, so a copy, and a backup made from one, has the source's format.
func checkEmpty(tx KVTx) error {
	for _, name := range allBuckets {
		var found []byte
		_ = tx.Bucket(name).ForEach(func(k, _ []byte) error {
			if bytes.Equal(name, bucketConfig) && (bytes.Equal(k, keyKeyCheck) || bytes.Equal(k, keyLoginsMigrated) || bytes.Equal(k, keyFormat)) {
				return nil
			}
			found = bytes.Clone(k)
			return errStop
		})
		if found != nil {
			return fmt.Errorf("the destination already holds records (%s/%s); copy only into an empty store", name, found)
		}
	}
	return nil
}

var errStop = fmt.Errorf("stop")
