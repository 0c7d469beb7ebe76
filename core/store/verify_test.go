package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
)

// populate makes a data file in dir with enough users and log lines that
// the users and log buckets span pages of their own (not inline), closes
// it and returns its bytes.
func populate(t testing.TB, dir string, users int) []byte {
	t.Helper()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx core.Tx) error {
		for i := 0; i < users; i++ {
			u := core.User{Name: fmt.Sprintf("user%03d", i), Email: fmt.Sprintf("user%03d@example.org", i), FullName: "Some Body"}
			if err := tx.PutUser(u); err != nil {
				return err
			}
			if _, err := tx.AppendLog(core.LogEntry{Message: "User " + u.Name + " added."}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// newestMeta decodes the meta page bbolt would use.
func newestMeta(t testing.TB, data []byte) meta {
	t.Helper()
	m0, p0 := decodeMeta(data, 0)
	m1, p1 := decodeMeta(data[m0.pageSize:], 1)
	if p0 != "" || p1 != "" {
		t.Fatalf("meta pages: %q %q", p0, p1)
	}
	if m1.txid > m0.txid {
		return m1
	}
	return m0
}

// leafOf returns the id of a leaf page that belongs to a bucket's tree
// (not the root page), found by walking the sound file.
func leafOf(t testing.TB, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, p := verifyFile(f, time.Time{}, nil)
	if p != "" {
		t.Fatal(p)
	}
	for id := uint64(2); id < c.meta.hwm; id++ {
		if !c.used[id] || id == c.meta.root || id == c.meta.freelist {
			continue
		}
		buf := make([]byte, pageHeaderSize)
		f.ReadAt(buf, int64(id)*c.psize)
		if ne.Uint16(buf[8:]) == flagLeaf && ne.Uint16(buf[10:]) > 2 {
			return id
		}
	}
	t.Fatal("no leaf page outside the root")
	return 0
}

func TestOpen_RefusesDamagedFiles(t *testing.T) {
	src := t.TempDir()
	sound := populate(t, src, 200)
	m := newestMeta(t, sound)
	ps := int(m.pageSize)
	leaf := int(leafOf(t, filepath.Join(src, FileName)))

	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		problem FileProblem
		want    string // in the message
	}{
		{"zero length", func(b []byte) []byte { return nil }, FileEmpty, "is empty (0 bytes)"},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, FileDamaged, "cut short"},
		{"truncated inside the first page", func(b []byte) []byte { return b[:40] }, FileDamaged, "too short"},
		{"truncated after the first page", func(b []byte) []byte { return b[:ps+10] }, FileDamaged, "cut short"},
		{"not a bbolt file", func(b []byte) []byte { return []byte(strings.Repeat("name,email\n", 1000)) }, FileDamaged, "bbolt marker"},
		{"bytes flipped in meta page 0", func(b []byte) []byte { b[pageHeaderSize+20] ^= 0xff; return b }, FileDamaged, "first header page is damaged: its checksum"},
		{"bytes flipped in meta page 1", func(b []byte) []byte { b[ps+pageHeaderSize+50] ^= 0x5a; return b }, FileDamaged, "second header page is damaged"},
		{"root page type flipped", func(b []byte) []byte { b[int(m.root)*ps+8] ^= 0xff; return b }, FileDamaged, "unknown page type"},
		{"leaf page count flipped", func(b []byte) []byte { b[leaf*ps+10] = 0xff; b[leaf*ps+11] = 0xff; return b }, FileDamaged, "claims"},
		{"leaf page id flipped", func(b []byte) []byte { b[leaf*ps] ^= 0x40; return b }, FileDamaged, "calls itself"},
		{"leaf entry position flipped", func(b []byte) []byte { b[leaf*ps+pageHeaderSize+4+3] = 0x7f; return b }, FileDamaged, "reaches past the page"},
		{"leaf zeroed", func(b []byte) []byte { clear(b[leaf*ps : leaf*ps+ps]); return b }, FileDamaged, "damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, tt.damage(append([]byte(nil), sound...)), 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			st, err := Open(dir, Options{})
			if err == nil {
				st.Close()
				t.Fatal("a damaged file was opened")
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Problem != tt.problem || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want FileError %d containing %q", err, tt.problem, tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasSuffix(msg, ".") {
				t.Fatalf("message is not one sentence: %q", msg)
			}
			// A refusal never changes the file.
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatal("the refused file was changed")
			}
			// Check reports the same damage without failing.
			r, err := Check(dir, Options{})
			if err != nil || r.OK() || r.Damage == "" {
				t.Fatalf("Check: %v, report %+v", err, r)
			}
		})
	}
}

func TestOpen_SoundFileAfterCrashIsOpened(t *testing.T) {
	// bbolt preallocates: a file longer than its pages is sound.
	dir := t.TempDir()
	sound := populate(t, dir, 3)
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, append(sound, make([]byte, 3*len(sound))...), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	st.View(func(tx core.Tx) error {
		return tx.Users(func(core.User) bool { n++; return true })
	})
	if n != 3 {
		t.Fatalf("%d users after reopen, want 3", n)
	}
}

func TestOpen_MissingDataFile(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		opt     Options
		refused bool
	}{
		{"fresh directory", func(*testing.T, string) {}, Options{}, false},
		{"marker left by an earlier open", func(t *testing.T, dir string) {
			populate(t, dir, 1)
			os.Remove(filepath.Join(dir, FileName))
		}, Options{}, true},
		{"caller knows of earlier data", func(*testing.T, string) {}, Options{HeldData: "the server certificate cert.pem is there"}, true},
		{"admin chose to start again", func(t *testing.T, dir string) {
			populate(t, dir, 1)
			os.Remove(filepath.Join(dir, FileName))
		}, Options{CreateEmpty: true}, false},
		{"empty file, admin chose to start again", func(t *testing.T, dir string) {
			populate(t, dir, 1)
			os.WriteFile(filepath.Join(dir, FileName), nil, 0o600)
		}, Options{CreateEmpty: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prepare(t, dir)
			st, err := Open(dir, tt.opt)
			if !tt.refused {
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				if _, err := os.Stat(filepath.Join(dir, MarkerName)); err != nil {
					t.Fatalf("no marker after the first open: %v", err)
				}
				return
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Problem != FileMissing || !strings.Contains(err.Error(), "has held data") {
				if st != nil {
					st.Close()
				}
				t.Fatalf("error %v, want a refusal of the missing file", err)
			}
			if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a refused open created the data file")
			}
		})
	}
}

func TestCheck_Report(t *testing.T) {
	dir := t.TempDir()
	sound := populate(t, dir, 150)
	r, err := Check(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.PageSize == 0 || r.Size != int64(len(sound)) {
		t.Fatalf("sound file: %+v", r)
	}
	got := map[string]int{}
	for _, b := range r.Buckets {
		got[b.Name] = b.Records
	}
	if got["users"] != 150 || got["log"] != 150 || len(got) != len(allBuckets) {
		t.Fatalf("bucket counts %v", got)
	}

	// A value damaged inside a sound page: bbolt has no checksum over
	// values, so only decoding the records finds it.
	i := strings.Index(string(sound), `"user042@example.org"`)
	damaged := append([]byte(nil), sound...)
	damaged[i] = '{'
	os.WriteFile(filepath.Join(dir, FileName), damaged, 0o600)
	r, err = Check(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || r.Damage != "" || !strings.Contains(strings.Join(r.BadRecords, ";"), `record "user042" does not decode`) {
		t.Fatalf("damaged value not reported: %+v", r)
	}
}

// FuzzOpen feeds arbitrary data files to Open: a damaged disk is outside
// input. Whatever the bytes, Open either refuses them with an error or
// returns a store that reads every record without a crash; bbolt faults
// and panics (some in goroutines no recover reaches) must never happen.
func FuzzOpen(f *testing.F) {
	for _, users := range []int{0, 3, 40} {
		sound := populate(f, f.TempDir(), users)
		f.Add(sound)
		f.Add(sound[:len(sound)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("not a database"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Open(dir, Options{CheckBudget: time.Minute})
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("message %q", msg)
			}
			return
		}
		// Reading may fail on a damaged value (a decode error), never crash.
		_ = st.View(func(tx core.Tx) error {
			_ = tx.Users(func(core.User) bool { return true })
			_ = tx.ProvisionCodes(func(string, core.ProvisionCode) bool { return true })
			_ = tx.Mails(func(core.OutMessage) bool { return true })
			_, _ = tx.Agents()
			_, _ = tx.Settings()
			_, _ = tx.LogTail(1000)
			return nil
		})
		_ = st.Update(func(tx core.Tx) error {
			_, err := tx.AppendLog(core.LogEntry{Message: "fuzz"})
			return err
		})
		st.Close()
		if _, err := Check(dir, Options{}); err != nil {
			t.Fatalf("Check after a successful Open: %v", err)
		}
	})
}

func TestOpen_CheckBudget(t *testing.T) {
	dir := t.TempDir()
	sound := populate(t, dir, 200)
	leaf := leafOf(t, filepath.Join(dir, FileName))
	ps := int(newestMeta(t, sound).pageSize)
	damaged := append([]byte(nil), sound...)
	damaged[int(leaf)*ps+8] = 0x7f // an unknown page type, deep in a bucket
	cut := sound[:len(sound)/2]
	tests := []struct {
		name   string
		data   []byte
		budget time.Duration
		opens  bool
	}{
		{"sound file, no time to walk", sound, time.Nanosecond, true},
		// Past the budget a deep page goes unchecked (Check finds it)...
		{"damaged page, no time to walk", damaged, time.Nanosecond, true},
		{"damaged page, walk skipped", damaged, -1, true},
		{"damaged page, time to walk", damaged, 0, false},
		// ...but the header pages and the size are always checked.
		{"cut short, no time to walk", cut, time.Nanosecond, false},
		{"cut short, walk skipped", cut, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, FileName), tt.data, 0o600)
			st, err := Open(d, Options{CheckBudget: tt.budget})
			if st != nil {
				st.Close()
			}
			if (err == nil) != tt.opens {
				t.Fatalf("Open: %v, want opened %v", err, tt.opens)
			}
		})
	}
}
