package etcdstore_test

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"testing"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// connect opens the raw key/value side of a site (no records, no key).
func connect(t *testing.T, site string) *etcdstore.KV {
	t.Helper()
	kv, err := etcdstore.Connect(etcdstore.Config{Endpoints: endpoints(t), Site: site, MaxTxnOps: etcdtest.MaxTxnOps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

func seqK(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

var bucketT = []byte("log")

// put writes keys n..m (inclusive) in one transaction.
func putRange(t *testing.T, kv *etcdstore.KV, n, m uint64) {
	t.Helper()
	if err := kv.Update(func(tx store.KVTx) error {
		for i := n; i <= m; i++ {
			if err := tx.Bucket(bucketT).Put(seqK(i), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, kv *etcdstore.KV, keys ...uint64) {
	t.Helper()
	if err := kv.Update(func(tx store.KVTx) error {
		for _, k := range keys {
			if err := tx.Bucket(bucketT).Delete(seqK(k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// backward returns the keys a Last/Prev walk sees, at most limit.
func backward(t *testing.T, kv *etcdstore.KV, limit int) []uint64 {
	t.Helper()
	var out []uint64
	if err := kv.View(func(tx store.KVTx) error {
		c := tx.Bucket(bucketT).Cursor()
		for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
			out = append(out, binary.BigEndian.Uint64(k))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func down(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i >= to && i > 0; i-- {
		out = append(out, i)
	}
	return out
}

// TestCursor_LastFromTheTail: Last reads forward from the newest key this
// node saw (etcd reads a whole range for a descending read); whatever
// another node did to the bucket since, the walk from Last sees exactly
// the bucket's keys in descending order.
func TestCursor_LastFromTheTail(t *testing.T) {
	tests := []struct {
		name string
		// other changes the bucket through another node after this node
		// saw keys 1..10 (newest 10).
		other func(t *testing.T, b *etcdstore.KV)
		limit int
		want  []uint64
	}{
		{"unchanged", func(*testing.T, *etcdstore.KV) {}, 100, down(10, 1)},
		{"appended past a page", func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 11, 700) }, 3, down(700, 698)},
		{"appended, walked to the start", func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 11, 40) }, 1000, down(40, 1)},
		{"newest seen deleted, later keys", func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 11, 12); del(t, b, 10) }, 100, []uint64{12, 11, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"newest seen deleted, none later", func(t *testing.T, b *etcdstore.KV) { del(t, b, 10, 9) }, 100, down(8, 1)},
		{"all deleted", func(t *testing.T, b *etcdstore.KV) { del(t, b, down(10, 1)...) }, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite()
			a, b := connect(t, site), connect(t, site)
			putRange(t, a, 1, 10)
			if got := backward(t, a, 100); !slices.Equal(got, down(10, 1)) {
				t.Fatalf("first walk = %v", got)
			}
			tt.other(t, b)
			for i := range 2 { // from the hint, then from the hint it moved to
				if got := backward(t, a, tt.limit); !slices.Equal(got, tt.want) {
					t.Fatalf("walk %d = %v, want %v", i, got, tt.want)
				}
			}
		})
	}
}

// appendAfterLast appends one key after the newest the transaction's
// Last finds, with value v; between is called on the first run only,
// after Last. It returns the key written and how many times fn ran.
func appendAfterLast(t *testing.T, kv *etcdstore.KV, v string, between func()) (uint64, int) {
	t.Helper()
	runs := 0
	var next uint64
	err := kv.Update(func(tx store.KVTx) error {
		runs++
		k, _ := tx.Bucket(bucketT).Cursor().Last()
		if runs == 1 && between != nil {
			between()
		}
		next = 1
		if k != nil {
			next = binary.BigEndian.Uint64(k) + 1
		}
		return tx.Bucket(bucketT).Put(seqK(next), []byte(v))
	})
	if err != nil {
		t.Fatal(err)
	}
	return next, runs
}

// TestCursor_LastConflicts: a write transaction that appended after the
// Last it found runs again when another node changed the bucket's end in
// between, whether Last came from a read forward from the newest key seen
// or, after this node's own append, from the end that append left (no
// round trip), so no two appends take one key and none builds on a key
// that is gone (what the audit log's chain relies on).
func TestCursor_LastConflicts(t *testing.T) {
	tests := []struct {
		name string
		// ownAppend: a appended through Last before, so its next Last
		// uses the bucket end that commit left.
		ownAppend bool
		other     func(t *testing.T, b *etcdstore.KV)
		want      map[uint64]string // the bucket's keys 6.. afterwards
		wantRuns  int
	}{
		{"forward read, other appended", false, func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 6, 6) }, map[uint64]string{6: "6", 7: "a"}, 2},
		{"own end, nobody else", true, nil, map[uint64]string{6: "first", 7: "a"}, 1},
		{"own end, other appended", true, func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 7, 8) }, map[uint64]string{6: "first", 7: "7", 8: "8", 9: "a"}, 2},
		{"own end, other rewrote it", true, func(t *testing.T, b *etcdstore.KV) { putRange(t, b, 6, 6) }, map[uint64]string{6: "6", 7: "a"}, 2},
		{"own end, other deleted it", true, func(t *testing.T, b *etcdstore.KV) { del(t, b, 6) }, map[uint64]string{6: "a"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite()
			a, b := connect(t, site), connect(t, site)
			putRange(t, a, 1, 5)
			backward(t, a, 1) // a's newest key seen: 5
			if tt.ownAppend {
				if k, _ := appendAfterLast(t, a, "first", nil); k != 6 {
					t.Fatalf("first append at %d", k)
				}
			}
			var between func()
			if tt.other != nil {
				between = func() { tt.other(t, b) }
			}
			_, runs := appendAfterLast(t, a, "a", between)
			if runs != tt.wantRuns {
				t.Errorf("the append ran %d times, want %d", runs, tt.wantRuns)
			}
			got := map[uint64]string{}
			if err := b.View(func(tx store.KVTx) error {
				c := tx.Bucket(bucketT).Cursor()
				for k, v := c.Seek(seqK(6)); k != nil; k, v = c.Next() {
					got[binary.BigEndian.Uint64(k)] = string(v)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("keys from 6 = %v, want %v", got, tt.want)
			}
		})
	}
}
