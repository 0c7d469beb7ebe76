package attachtest

import (
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// newUIApp is test.NewTempApp with a UI thread, as the real driver has:
// fyne.Do and fyne.DoAndWait run their function on one goroutine, one at
// a time. Fyne's test driver runs each on its caller's goroutine, so the
// console's own goroutines (the event stream, a refresh, a pairing
// answer) and the test would touch the same widgets at once, which the
// real driver never allows and `go test -race` reports.
func newUIApp(t *testing.T) {
	t.Helper()
	a := test.NewTempApp(t)
	u := &uiThread{Driver: a.Driver(), work: make(chan func(), 256), quit: make(chan struct{})}
	started := make(chan struct{})
	go u.run(started)
	<-started
	fyne.SetCurrentApp(uiApp{App: a, d: u})
	// Cleanups run last-added first: the thread stops before
	// NewTempApp's cleanup replaces the app.
	t.Cleanup(func() { close(u.quit) })
}

// uiApp is the test app with the UI thread as its driver.
type uiApp struct {
	fyne.App
	d *uiThread
}

func (a uiApp) Driver() fyne.Driver { return a.d }

// uiThread is Fyne's test driver whose DoFromGoroutine hands the function
// to one goroutine.
type uiThread struct {
	fyne.Driver
	work chan func()
	quit chan struct{}
	id   atomic.Uint64 // the goroutine that runs the work
}

func (u *uiThread) run(started chan<- struct{}) {
	u.id.Store(goroutineID())
	close(started)
	for {
		select {
		case fn := <-u.work:
			fn()
		case <-u.quit:
			return
		}
	}
}

// DoFromGoroutine runs fn on the UI thread; with wait, it returns once fn
// has run. On the UI thread itself, a wait runs fn in place (as the real
// driver does) and otherwise it is queued behind the current function.
func (u *uiThread) DoFromGoroutine(fn func(), wait bool) {
	onThread := goroutineID() == u.id.Load()
	switch {
	case onThread && wait:
		fn()
	case onThread:
		go u.send(fn)
	case wait:
		done := make(chan struct{})
		if u.send(func() { defer close(done); fn() }) {
			select {
			case <-done:
			case <-u.quit:
			}
		}
	default:
		u.send(fn)
	}
}

// send queues fn, or drops it once the test has ended (as the real driver
// does after the app quits); it reports whether fn was queued.
func (u *uiThread) send(fn func()) bool {
	select {
	case u.work <- fn:
		return true
	case <-u.quit:
		return false
	}
}

// goroutineID is the calling goroutine's number, from its stack header
// ("goroutine 42 [running]:"); tests only.
func goroutineID() uint64 {
	var buf [64]byte
	f := strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(f[1], 10, 64)
	return id
}
