package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
)

// abandon stops using the store the way a crash does: nothing is
// checkpointed or synced, the WAL stays, and the page cache keeps every
// write (what kill -9 leaves). Closing bbolt's handle only releases its
// lock; with NoSync it writes nothing.
func (s *Store) abandon(t testing.TB) {
	t.Helper()
	if s.wal == nil {
		t.Fatal("the store is not in WAL mode")
	}
	s.wal.releasePin()
	s.wal.f.Close()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
}

// walWrites makes n acknowledged changes the way the server does, from
// several goroutines at once through the group commit (a user and a log
// line each), plus a few through Update, and returns the users written.
func walWrites(t testing.TB, st *Store, prefix string, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				name := fmt.Sprintf("%s%04d", prefix, i)
				write := st.Batch
				if i%50 == 0 {
					write = st.Update
				}
				err := write(func(tx core.Tx) error {
					if err := tx.PutUser(core.User{Name: name, Email: name + "@example.org"}); err != nil {
						return err
					}
					_, err := tx.AppendLog(core.LogEntry{Level: core.LevelInfo, User: name, Message: "Login successful for user: " + name + "."})
					return err
				})
				if err != nil {
					t.Errorf("write %s: %v", name, err)
					return
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acked
}

// checkRecovered opens dir and checks that every acknowledged user is
// there, the log chain holds, and the file checks clean.
func checkRecovered(t *testing.T, dir string, key []byte, acked []string) {
	t.Helper()
	st, err := Open(dir, Options{Key: key})
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	err = st.View(func(tx core.Tx) error {
		for _, name := range acked {
			if _, err := tx.User(name); err != nil {
				return fmt.Errorf("acknowledged user %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if key != nil {
		v, err := st.VerifyLog()
		if err != nil || v.Checked < len(acked) {
			t.Fatalf("log chain after recovery: %+v, %v (want at least %d entries)", v, err, len(acked))
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, WALName)); !os.IsNotExist(err) {
		t.Fatalf("the WAL is still there after Close: %v", err)
	}
	rep, err := Check(dir, Options{Key: key})
	if err != nil || !rep.OK() {
		t.Fatalf("Check after recovery: %+v, %v", rep, err)
	}
}

// TestWAL_PowerCut writes through the WAL, stops without closing, puts the
// data file into what a power cut can leave of it, and opens it again:
// every acknowledged write must be there. The page cache's view (kill -9)
// is the mildest case; the others keep the newest header pages while the
// data pages written after the checkpoint are old or garbage, which bbolt
// alone would read as a damaged tree.
func TestWAL_PowerCut(t *testing.T) {
	if !walSupported {
		t.Fatal("the WAL is not built for this platform")
	}
	tests := []struct {
		name string
		cut  func(ckpt, now []byte, ps int) []byte
	}{
		{"every write reached the disk (kill -9)", func(_, now []byte, _ int) []byte { return now }},
		{"no write after the checkpoint reached the disk", func(ckpt, _ []byte, _ int) []byte { return ckpt }},
		{"only the header pages reached the disk", func(ckpt, now []byte, ps int) []byte {
			out := append([]byte(nil), ckpt...)
			if len(now) > len(out) {
				out = append(out, make([]byte, len(now)-len(out))...)
			}
			copy(out[:2*ps], now[:2*ps])
			return out
		}},
		{"every page written since is garbage", func(ckpt, now []byte, ps int) []byte {
			out := append([]byte(nil), now...)
			for off := 2 * ps; off+ps <= len(out); off += ps {
				if off+ps > len(ckpt) || !bytes.Equal(ckpt[off:off+ps], now[off:off+ps]) {
					rand.Read(out[off : off+ps])
				}
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := make([]byte, KeySize)
			rand.Read(key)
			path := filepath.Join(dir, FileName)
			st, err := Open(dir, Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			before := walWrites(t, st, "early", 40)
			// A checkpoint, as Close or a full WAL makes one.
			if err := st.wal.exclusive(func() error { return nil }); err != nil {
				t.Fatal(err)
			}
			ckpt, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			acked := append(before, walWrites(t, st, "user", 400)...)
			st.abandon(t)
			now, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ps := int(newestMeta(t, ckpt).pageSize)
			pinned(t, ckpt, now)
			// Same inode: the WAL belongs to this file.
			if err := os.WriteFile(path, tt.cut(ckpt, now, ps), 0o600); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, dir, key, acked)
		})
	}
}

// pinned checks what recovery relies on: no page the checkpoint's tree
// uses was written over after it.
func pinned(t *testing.T, ckpt, now []byte) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "ckpt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(ckpt)
	c, p := verifyFile(f, time.Time{}, nil)
	if p != "" {
		t.Fatalf("the checkpoint's file: %s", p)
	}
	ps := int(c.psize)
	for id := range c.used {
		if id < 2 {
			continue // the header pages: bbolt writes them in turn
		}
		off := int(id) * ps
		if off+ps > len(now) || !bytes.Equal(ckpt[off:off+ps], now[off:off+ps]) {
			t.Fatalf("page %d of the checkpoint's tree was written over after it", id)
		}
	}
}

// TestWAL_CheckpointsUnderLoad lowers the checkpoint size so that many
// checkpoints happen while writes run, then stops without closing.
func TestWAL_CheckpointsUnderLoad(t *testing.T) {
	old := walCheckpointBytes
	walCheckpointBytes = 16 << 10
	t.Cleanup(func() { walCheckpointBytes = old })
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gen0 := st.wal.gen
	acked := walWrites(t, st, "user", 600)
	st.wal.mu.Lock()
	gen := st.wal.gen
	st.wal.mu.Unlock()
	if gen == gen0 {
		t.Fatal("no checkpoint happened")
	}
	st.abandon(t)
	checkRecovered(t, dir, nil, acked)
}

// TestWAL_OfAnotherFileIsSetAside: a data file replaced by another one (a
// copy, a restored backup) never gets the old file's WAL applied; the WAL
// is kept beside it under another name.
func TestWAL_OfAnotherFileIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	walWrites(t, st, "user", 20)
	st.abandon(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A new inode with the same bytes (made while the old one is still
	// in use, so its number cannot be reused).
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	names, _ := filepath.Glob(filepath.Join(dir, WALName+".unused-*"))
	if len(names) != 1 {
		t.Fatalf("WAL set aside as %v, want one file", names)
	}
}

// TestWAL_TornTail: a record cut short by the crash ends the records;
// everything before it is applied.
func TestWAL_TornTail(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	acked := walWrites(t, st, "user", 30)
	end := st.wal.end
	st.abandon(t)
	walPath := filepath.Join(dir, WALName)
	f, err := os.OpenFile(walPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Half a record after the last one: a length, a wrong checksum.
	f.WriteAt([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'x'}, end)
	f.Close()
	checkRecovered(t, dir, nil, acked)
	if strings.Contains(dir, "unused") {
		t.Fatal("unreachable")
	}
}

// TestLogRecord_WithMACIsCanonical: the record putLog builds from the
// entry's encoding is byte for byte what the chain's verifier encodes.
func TestLogRecord_WithMACIsCanonical(t *testing.T) {
	mac := bytes.Repeat([]byte{0xa5, 0x3c}, 16)
	for _, e := range []core.LogEntry{
		{},
		{Seq: 7, Time: time.Date(2026, 11, 30, 13, 0, 0, 123, time.UTC), Level: core.LevelWarn, User: "zoë", Message: `Login failed for user: "x" <&>`},
		{Seq: 1 << 40, Message: "no user"},
	} {
		body, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(logRecord{LogEntry: e, MAC: hex.EncodeToString(mac)})
		if err != nil {
			t.Fatal(err)
		}
		if got := withMAC(body, mac); !bytes.Equal(got, want) {
			t.Errorf("withMAC = %s\nwant      %s", got, want)
		}
	}
}
