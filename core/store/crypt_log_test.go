package store_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
	"provisio/core/store"
)

// logRecordKey is the bbolt key of log entry n.
func logRecordKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// TestStore_VerifyLog is #13's second done-when: one flipped byte in one
// log record is found and named; a chain rebuilt under another key is
// detected; the trim leaves a checkpoint verification starts from.
func TestStore_VerifyLog(t *testing.T) {
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		st, err := store.Open(dir, store.Options{Key: mustKey(t, 7)})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if err := st.Update(func(tx core.Tx) error {
				_, err := tx.AppendLog(core.LogEntry{Level: core.LevelInfo, Message: "Entry number " + string(rune('A'+i))})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		v, err := st.VerifyLog()
		if err != nil || v.Last != 10 || v.Checked != 10 || len(v.Head) != 64 {
			t.Fatalf("fresh log: %+v, %v", v, err)
		}
		st.Close()
		return dir
	}
	edit := func(t *testing.T, dir string, fn func(b *bolt.Bucket) error) {
		db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte("log"))) }); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	verify := func(t *testing.T, dir string, key []byte) error {
		st, err := store.Open(dir, store.Options{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.VerifyLog()
		return err
	}
	flip := func(pos func(v []byte) int) func(b *bolt.Bucket) error {
		return func(b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(logRecordKey(6)))
			v[pos(v)] ^= 0x01
			return b.Put(logRecordKey(6), v)
		}
	}
	tests := []struct {
		name string
		fn   func(b *bolt.Bucket) error
		seq  uint64
	}{
		{"a byte of the message", flip(func(v []byte) int { return bytes.Index(v, []byte("Entry")) + 2 }), 6},
		// "Message" → "Messagf"... a case flip JSON decoding forgives.
		{"a byte of a field name", flip(func(v []byte) int { return bytes.Index(v, []byte(`"message"`)) + 1 }), 6},
		{"a byte of the MAC", flip(func(v []byte) int { return bytes.Index(v, []byte(`"mac":"`)) + 8 }), 6},
		{"the entry removed", func(b *bolt.Bucket) error { return b.Delete(logRecordKey(6)) }, 6},
		{"the newest entry removed", func(b *bolt.Bucket) error { return b.Delete(logRecordKey(10)) }, 10},
		{"the oldest entry removed", func(b *bolt.Bucket) error { return b.Delete(logRecordKey(1)) }, 1},
		// Two entries swapped, each record kept whole with its own MAC:
		// the MAC covers the sequence and the previous MAC, so the first
		// of the pair is named.
		{"two entries swapped", func(b *bolt.Bucket) error {
			v4, v7 := bytes.Clone(b.Get(logRecordKey(4))), bytes.Clone(b.Get(logRecordKey(7)))
			if err := b.Put(logRecordKey(4), v7); err != nil {
				return err
			}
			return b.Put(logRecordKey(7), v4)
		}, 4},
		{"an entry moved to the end", func(b *bolt.Bucket) error {
			v := bytes.Clone(b.Get(logRecordKey(3)))
			if err := b.Delete(logRecordKey(3)); err != nil {
				return err
			}
			return b.Put(logRecordKey(11), v)
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			edit(t, dir, tt.fn)
			err := verify(t, dir, mustKey(t, 7))
			var ce *store.LogChainError
			if !errors.As(err, &ce) || ce.Seq != tt.seq {
				t.Fatalf("verify: %v, want entry #%d named", err, tt.seq)
			}
			if !strings.Contains(err.Error(), "#") {
				t.Fatalf("message %q does not name the entry", err)
			}
		})
	}

	t.Run("chain rebuilt under another key", func(t *testing.T) {
		dir := setup(t)
		// The attacker edits entry 4 and recomputes every MAC with a key
		// of their own (they can do all the store does, without our key).
		edit(t, dir, func(b *bolt.Bucket) error {
			v := bytes.Replace(b.Get(logRecordKey(4)), []byte("Entry"), []byte("Enrty"), 1)
			return b.Put(logRecordKey(4), v)
		})
		forged := t.TempDir()
		fst, err := store.Open(forged, store.Options{Key: mustKey(t, 9)})
		if err != nil {
			t.Fatal(err)
		}
		var entries []core.LogEntry
		db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("log")).ForEach(func(k, v []byte) error {
				var e core.LogEntry
				if err := jsonUnmarshal(v, &e); err != nil {
					return err
				}
				entries = append(entries, e)
				return nil
			})
		})
		for _, e := range entries {
			if err := fst.Update(func(tx core.Tx) error { _, err := tx.AppendLog(e); return err }); err != nil {
				t.Fatal(err)
			}
		}
		var rebuilt [][]byte
		fst.Close()
		fdb, err := bolt.Open(filepath.Join(forged, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = fdb.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("log")).ForEach(func(k, v []byte) error { rebuilt = append(rebuilt, bytes.Clone(v)); return nil })
		})
		fdb.Close()
		_ = db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("log"))
			for i, v := range rebuilt {
				if err := b.Put(logRecordKey(uint64(i+1)), v); err != nil {
					return err
				}
			}
			return nil
		})
		db.Close()
		err = verify(t, dir, mustKey(t, 7))
		var ce *store.LogChainError
		if !errors.As(err, &ce) || ce.Seq != 1 {
			t.Fatalf("verify of a forged chain: %v, want entry #1 named", err)
		}
	})

	t.Run("trim keeps a signed checkpoint", func(t *testing.T) {
		dir := setup(t)
		st, err := store.Open(dir, store.Options{Key: mustKey(t, 7)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Update(func(tx core.Tx) error {
			_, _, err := tx.TrimLog(4, func(core.LogEntry, int) bool { return true })
			return err
		}); err != nil {
			t.Fatal(err)
		}
		v, err := st.VerifyLog()
		if err != nil || v.Checkpoint != 4 || v.From != 5 || v.Last != 10 || v.Checked != 6 {
			t.Fatalf("after trim: %+v, %v", v, err)
		}
		st.Close()
		// Deleting the next entry as if trimmed, without a new checkpoint
		// (which needs the key), is found.
		edit(t, dir, func(b *bolt.Bucket) error { return b.Delete(logRecordKey(5)) })
		err = verify(t, dir, mustKey(t, 7))
		var ce *store.LogChainError
		if !errors.As(err, &ce) || ce.Seq != 5 {
			t.Fatalf("verify: %v, want entry #5 named", err)
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func mustAddr(tb testing.TB, s string) netip.Addr {
	tb.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
