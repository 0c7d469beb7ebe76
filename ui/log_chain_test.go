package ui

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// newSealedHarness is newHarness over a store with a data key, whose log
// is MAC-chained (issue #13).
func newSealedHarness(t *testing.T) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	clock := storetest.NewClock(start)
	st := storetest.MustOpenSealed(t)
	svc := storetest.MustServiceOn(t, st, core.WithClock(clock))
	for k, v := range map[string]string{"console.setup_done": "yes", "server.name": "office-pc", "server.siteid": "office"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, svc: svc, st: st, clock: clock, queue: make(chan func(), 4096)}
	h.win = test.NewTempWindow(t, widget.NewLabel(""))
	h.c = newConsole(a, h.win, Deps{Service: svc, Mail: mailer.Tools{}, ServerURLs: func() []string { return []string{"https://127.0.0.1:8443"} }, Fingerprint: testFingerprint}, h.options())
	t.Cleanup(h.c.Close)
	buildScreens(h.c)
	return h
}

func TestLogScreen_Verified(t *testing.T) {
	h := newSealedHarness(t)
	for i := range 5 {
		if err := h.svc.Log(core.LevelInfo, "", "entry %d", i); err != nil {
			t.Fatal(err)
		}
	}
	h.settle()
	l := h.c.log
	l.load()
	v, err := h.svc.VerifyLog()
	if err != nil || v.Last == 0 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	if want := "Log verified up to #" + strconv.FormatUint(v.Last, 10); l.verified.Text != want {
		t.Fatalf("label %q, want %q", l.verified.Text, want)
	}

	// The CSV export ends with the chain head.
	var buf bytes.Buffer
	if _, err := writeLog(&buf, h.svc, func(core.LogEntry) bool { return true }, false); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last[1] != "chain" || !strings.Contains(last[3], "#"+strconv.FormatUint(v.Last, 10)+": "+v.Head) {
		t.Fatalf("last row %q, want the chain head %s", last, v.Head)
	}
}

func TestLogScreen_PlainStoreShowsNoChain(t *testing.T) {
	h := newHarness(t)
	if h.c.log.verified.Text != "" {
		t.Fatalf("label %q on a store without a data key", h.c.log.verified.Text)
	}
}

// TestLogScreen_ShowsABrokenChain: an audit log line edited, deleted or
// moved in the data file itself (the store's raw records, past the record
// code, as someone with the file could) makes the Log screen say, in the
// danger colour, which entry fails instead of "Log verified".
func TestLogScreen_ShowsABrokenChain(t *testing.T) {
	key := func(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
	tests := []struct {
		name string
		edit func(b store.KVBucket, n uint64) error
		seq  func(n uint64) uint64
	}{
		{"a message edited", func(b store.KVBucket, n uint64) error {
			return b.Put(key(n-2), bytes.Replace(bytes.Clone(b.Get(key(n-2))), []byte("entry 2"), []byte("entry 9"), 1))
		}, func(n uint64) uint64 { return n - 2 }},
		{"a line deleted", func(b store.KVBucket, n uint64) error { return b.Delete(key(n - 3)) },
			func(n uint64) uint64 { return n - 3 }},
		{"two lines swapped", func(b store.KVBucket, n uint64) error {
			x, y := bytes.Clone(b.Get(key(n-3))), bytes.Clone(b.Get(key(n-1)))
			if err := b.Put(key(n-3), y); err != nil {
				return err
			}
			return b.Put(key(n-1), x)
		}, func(n uint64) uint64 { return n - 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSealedHarness(t)
			for i := range 5 {
				if err := h.svc.Log(core.LevelInfo, "", "entry %d", i); err != nil {
					t.Fatal(err)
				}
			}
			h.settle()
			v, err := h.svc.VerifyLog()
			if err != nil {
				t.Fatal(err)
			}
			st := h.st.(*store.Store)
			if err := st.EditRaw(func(tx store.KVTx) error { return tt.edit(tx.Bucket([]byte("log")), v.Last) }); err != nil {
				t.Fatal(err)
			}
			l := h.c.log
			l.load()
			want := "The audit log does not verify at entry #" + strconv.FormatUint(tt.seq(v.Last), 10) + ":"
			if !strings.HasPrefix(l.verified.Text, want) || l.verified.Importance != widget.DangerImportance {
				t.Errorf("label %q (importance %v), want it to start %q in the danger colour", l.verified.Text, l.verified.Importance, want)
			}
		})
	}
}
