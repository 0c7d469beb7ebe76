package ui

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// testFingerprint is a made-up certificate fingerprint for the status line.
const testFingerprint = "AB:CD:EF:01:23:45:67:89"

// harness is a console over a real service and bbolt store in a test
// window. UI work from the bridge and the countdown is queued and run on
// the test goroutine, which plays Fyne's main thread, so tests see the
// same ordering as the app and the race detector stays quiet.
type harness struct {
	t     *testing.T
	svc   *core.Service
	st    core.Store // the service's store, for records no screen sets
	clock *storetest.Clock
	win   fyne.Window
	c     *Console
	queue chan func()
	// saved is where the last file was saved; open is the file the next
	// open dialog picks ("" cancels it).
	saved, open string
	// usersOnly, set before the console is built, leaves the other
	// screens unbuilt, as in a console that has shown only User
	// Management: they ignore events until built (ui.go).
	usersOnly bool
	// openHeld, set before the console is built, says its network is
	// held from the start: the harness does not wait for its first
	// reads (attachedService.holdOpen).
	openHeld bool
	// parking, when set, takes the next UI work queued instead of the
	// queue, once (answerHeldBack): set by the test, taken by the
	// goroutine that queues work.
	parking atomic.Pointer[chan func()]
}

func TestMain(m *testing.M) {
	// Times on screen are local; goldens must not depend on the machine.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// start is the fake clock's starting time.
var start = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness { t.Helper(); return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with deps adjusted by edit before the
// console is built.
func newHarnessWith(t *testing.T, edit func(h *harness, d *Deps)) *harness {
	t.Helper()
	return newHarnessOn(t, storetest.MustOpen(t), edit)
}

// newHarnessOn is newHarnessWith over the store st, e.g. a sealed one.
func newHarnessOn(t *testing.T, st core.Store, edit func(h *harness, d *Deps)) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	clock := storetest.NewClock(start)
	svc := storetest.MustServiceOn(t, st, core.WithClock(clock))
	if err := svc.SetSetting("server.siteid", "office"); err != nil {
		t.Fatal(err)
	}
	// The first-run setup has its own tests; the server name is the host
	// name by default, which layouts must not depend on.
	for k, v := range map[string]string{"console.setup_done": "yes", "server.name": "office-pc"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, svc: svc, st: st, clock: clock, queue: make(chan func(), 4096)}
	h.win = test.NewTempWindow(t, widget.NewLabel(""))
	d := Deps{
		Service:     svc,
		Mail:        mailer.Tools{},
		ServerURLs:  func() []string { return []string{"https://127.0.0.1:8443"} },
		Fingerprint: testFingerprint,
	}
	if edit != nil {
		edit(h, &d)
	}
	h.c = newConsole(a, h.win, d, h.options())
	t.Cleanup(h.c.Close)
	if !h.usersOnly {
		buildScreens(h.c)
	}
	// An attached console's screens read off the UI thread as they are
	// built; a person sees them once the answers came.
	if !h.openHeld {
		if h.c.attached() {
			// The event stream opens in the background; a change a
			// test makes before it is open would never be announced.
			h.waitFor("the event stream open", func() bool { return h.c.streamOpened })
		}
		h.answered()
	}
	return h
}

// buildScreens builds every screen now, as a person clicking through the
// navigation would, so tests can reach each screen's widgets; the
// console itself builds a screen when it is first shown
// (TestConsole_BuildsScreensWhenShown).
func buildScreens(c *Console) {
	for i := range c.screens {
		c.screenContent(i)
	}
}

// testAddrs are the LAN addresses the console detects in tests.
var testAddrs = []netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("10.0.0.5")}

// options are the test seams: UI work queued for the test goroutine, a
// fast countdown, fixed LAN addresses, and files saved to a temporary
// directory instead of through the file dialog.
func (h *harness) options() options {
	dir := h.t.TempDir()
	return options{
		do: func(fn func()) {
			// Taken, not read: two goroutines queueing at once both
			// read it set, and the second's work went into the parking
			// channel after the test had taken the first, where nothing
			// ever ran it.
			if p := h.parking.Swap(nil); p != nil {
				*p <- fn
				return
			}
			h.queue <- fn
		},
		tick:       5 * time.Millisecond,
		statusTick: 20 * time.Millisecond,
		lanAddrs:   func() []netip.Addr { return testAddrs },
		saveFile: func(name string) (string, bool) {
			h.saved = filepath.Join(dir, name)
			return h.saved, true
		},
		openFile: func() (string, bool) { return h.open, h.open != "" },
	}
}

// waitLimit bounds the harness's waits for a condition: only how long a
// failure takes to show. An attached console's answers cross a socket,
// and under the race detector on a loaded 2-CPU machine (CI runs several
// packages at once) 5 s was not always enough.
const waitLimit = 30 * time.Second

// waitFor runs queued UI work until cond holds, failing after waitLimit.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	h.waitWithin(waitLimit, what, cond)
}

// waitWithin is waitFor for work that takes seconds by itself (importing
// 10,000 users under the race detector on a busy machine).
func (h *harness) waitWithin(limit time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(limit)
	for !cond() {
		select {
		case fn := <-h.queue:
			fn()
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// answered runs queued UI work until the answer of every request the
// console sent off the UI thread has been applied (request.go): an
// attached console's buttons send theirs so. A console on its own store
// has none waiting.
func (h *harness) answered() {
	h.t.Helper()
	h.waitFor("the service's answers", func() bool { return h.c.requests == 0 })
}

// settle runs queued UI work for a moment, so events already published
// have been applied. (The countdown keeps the queue busy, so it cannot wait
// for the queue to go quiet.)
func (h *harness) settle() {
	deadline := time.After(100 * time.Millisecond)
	for {
		select {
		case fn := <-h.queue:
			fn()
		case <-deadline:
			return
		}
	}
}

// visibleTexts returns the text of every label in the object tree, so a
// test can assert what the admin would read.
func visibleTexts(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.Visible() && l.Text != "" {
			out = append(out, l.Text)
		}
	})
	return out
}

// walk visits o and everything rendered inside it.
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch c := o.(type) {
	case *fyne.Container:
		for _, ch := range c.Objects {
			walk(ch, fn)
		}
	case fyne.Widget:
		for _, ch := range test.WidgetRenderer(c).Objects() {
			walk(ch, fn)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
