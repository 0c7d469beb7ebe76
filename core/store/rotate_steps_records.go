package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"provisio/core"
)

// The records' steps of a key rotation in steps (rotate_steps.go): a
// stretch of one bucket at a time, and whatever is left for the last step.

// recordStep re-seals the records of bucket b from the key from on that
// do not open under the new key yet, as many as one transaction holds,
// and returns the key to go on from (nil at the bucket's end).
func (r *stepRotation) recordStep(tx KVTx, b, from []byte) (more []byte, err error) {
	rec, err := r.rotation(tx)
	if err != nil {
		return nil, err
	}
	old, nx := &txn{tx: tx, s: r.s}, &txn{tx: tx, s: &Store{crypt: r.next}}
	// Room: the record's rewrite and a few compares of the step's own.
	room, size, n := r.ops-4, 0, 0
	type put struct{ k, v []byte }
	var puts []put
	c := tx.Bucket(b).Cursor()
	var k, v []byte
	if from == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(from)
	}
	for ; k != nil; k, v = c.Next() {
		nv, err := reseal(old, nx, b, k, v)
		if err != nil {
			return nil, err
		}
		if nv == nil {
			continue
		}
		if len(puts) >= room || (len(puts) > 0 && size+len(k)+len(nv) > r.bytes) {
			more = bytes.Clone(k)
			break
		}
		puts = append(puts, put{bytes.Clone(k), nv})
		size += len(k) + len(nv)
		n++
	}
	for _, p := range puts {
		if err := tx.Bucket(b).Put(p.k, p.v); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return more, nil
	}
	rec.Records += n
	return more, putRotation(tx, *rec, r.next)
}

// reseal returns record v of bucket b sealed under the new key, or nil
// when it already opens under it.
func reseal(old, nx *txn, b, k, v []byte) ([]byte, error) {
	switch {
	case bytes.Equal(b, bucketStrings):
		if _, err := nx.s.crypt.openBytes(v, ad(bucketStrings, k, "strings")); err == nil {
			return nil, nil
		}
		p, err := old.s.crypt.openBytes(v, ad(bucketStrings, k, "strings"))
		if err != nil {
			return nil, fmt.Errorf("strings of %s: %w", k, err)
		}
		return nx.s.crypt.sealBytes(p, ad(bucketStrings, k, "strings")), nil
	case bytes.Equal(b, bucketUsers):
		return resealJSON(v, func(u *core.User) error { _, err := nx.openUser(k, *u); return err },
			func(u *core.User) (any, error) {
				p, err := old.openUser(k, *u)
				return nx.sealUser(k, p), err
			})
	case bytes.Equal(b, bucketOATH):
		return resealJSON(v, func(o *core.OATHRecord) error { _, err := nx.openOATH(k, *o); return err },
			func(o *core.OATHRecord) (any, error) {
				p, err := old.openOATH(k, *o)
				return nx.sealOATH(k, p), err
			})
	case bytes.Equal(b, bucketClientLogs):
		return resealJSON(v, func(l *core.ClientLog) error { _, err := nx.openClientLog(k, *l); return err },
			func(l *core.ClientLog) (any, error) {
				p, err := old.openClientLog(k, *l)
				return nx.sealClientLog(k, p), err
			})
	case bytes.Equal(b, bucketOutbox):
		return resealJSON(v, func(m *core.OutMessage) error { _, err := nx.openMail(*m); return err },
			func(m *core.OutMessage) (any, error) {
				p, err := old.openMail(*m)
				return nx.sealMail(p), err
			})
	}
	return nil, fmt.Errorf("no re-sealing for bucket %s", b)
}

// resealJSON decodes v afresh for each try (the openers change tokens and
// entries in place): nil when it opens under the new key, else the record
// opened under the old one and sealed under the new.
func resealJSON[T any](v []byte, opensNew func(*T) error, move func(*T) (any, error)) ([]byte, error) {
	var a T
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, err
	}
	if opensNew(&a) == nil {
		return nil, nil
	}
	var b T
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, err
	}
	out, err := move(&b)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// resealRest re-seals every record of the buckets that does not open
// under the new key, if there are at most room of them in bytes; ok is
// false when there are more.
func (r *stepRotation) resealRest(tx KVTx, room, maxBytes int) (n int, ok bool, err error) {
	old, nx := &txn{tx: tx, s: r.s}, &txn{tx: tx, s: &Store{crypt: r.next}}
	type put struct{ b, k, v []byte }
	var puts []put
	size := 0
	for _, b := range rotatedBuckets {
		c := tx.Bucket(b).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			nv, err := reseal(old, nx, b, k, v)
			if err != nil {
				return 0, false, err
			}
			if nv == nil {
				continue
			}
			size += len(k) + len(nv)
			if len(puts) >= room || size > maxBytes {
				return 0, false, nil
			}
			puts = append(puts, put{b, append([]byte(nil), k...), nv})
		}
	}
	for _, p := range puts {
		if err := tx.Bucket(p.b).Put(p.k, p.v); err != nil {
			return 0, false, err
		}
	}
	return len(puts), true, nil
}

// openEverything opens every sealed value under the store's key, so that
// a rotation in steps finds nothing that stops it half way.
func (t *txn) openEverything() error {
	for _, b := range rotatedBuckets {
		c := t.tx.Bucket(b).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if _, err := reseal(t, t, b, k, v); err != nil {
				return err
			}
		}
	}
	if _, err := t.Settings(); err != nil && !errors.Is(err, core.ErrNotFound) {
		return err
	}
	if v := t.tx.Bucket(bucketConfig).Get(keySharedIdentity); v != nil {
		if _, err := t.s.openIdentity(v); err != nil {
			return err
		}
	}
	return nil
}
