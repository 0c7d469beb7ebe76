package ui

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
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
