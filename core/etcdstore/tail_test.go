package etcdstore_test

import (
	"encoding/binary"
	"fmt"
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

// TestCursor_LastConflicts: a write transaction that appended after the
// Last it read runs again when another node appended in between, so no
// two appends take one key (what the audit log's chain relies on).
func TestCursor_LastConflicts(t *testing.T) {
	site := newSite()
	a, b := connect(t, site), connect(t, site)
	putRange(t, a, 1, 5)
	backward(t, a, 1) // a's hint: key 5
	runs := 0
	err := a.Update(func(tx store.KVTx) error {
		runs++
		k, _ := tx.Bucket(bucketT).Cursor().Last()
		if runs == 1 {
			putRange(t, b, 6, 6)
		}
		next := binary.BigEndian.Uint64(k) + 1
		return tx.Bucket(bucketT).Put(seqK(next), []byte("a"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("the append ran %d times, want 2 (a conflict, then a rerun)", runs)
	}
	var v6, v7 string
	if err := b.View(func(tx store.KVTx) error {
		v6, v7 = string(tx.Bucket(bucketT).Get(seqK(6))), string(tx.Bucket(bucketT).Get(seqK(7)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v6 != "6" || v7 != "a" {
		t.Fatalf("key 6 = %q, key 7 = %q; want b's 6 kept and a's append at 7", v6, v7)
	}
}
