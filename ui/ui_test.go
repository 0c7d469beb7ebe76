package ui

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

func TestConsole_MainWindowLayout(t *testing.T) {
	a := test.NewTempApp(t)
	svc := storetest.MustService(t)
	if err := svc.SetSetting("server.siteid", "office"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("console.setup_done", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "alice", FullName: "Alice Liddell", Email: "alice@example.org", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	c := New(a, w, Deps{
		Service:     svc,
		Mail:        mailer.Tools{},
		ServerURLs:  func() []string { return []string{"https://192.168.1.10:8443"} },
		Fingerprint: testFingerprint,
	})
	defer c.Close()
	// New installs the console's theme, whose colours repeat (white is
	// background and overlay); the test theme's are unique, so the markup
	// names each colour the same way every run.
	a.Settings().SetTheme(test.Theme())

	if got := w.Canvas().Size(); got.Width != 1280 || got.Height != 800 {
		t.Errorf("window is %v, want 1280×800", got)
	}
	writeShot(t, "golden_main_window.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "main_window.xml", w.Canvas())

	c.showScreen(c.screenTitled("Policy → Mobile Client"))
	writeShot(t, "golden_policy_mobile.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "policy_mobile.xml", w.Canvas())
	c.showScreen(c.screenTitled("Policy → Self-Reset"))
	writeShot(t, "golden_policy_selfreset.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "policy_selfreset.xml", w.Canvas())
}

func TestConsole_StatusLineFollowsConfig(t *testing.T) {
	h := newHarness(t)
	want := "Site ID office   ·   0 devices provisioned   ·   0 codes pending   ·   https://127.0.0.1:8443"
	if h.c.status.Text != want || h.c.serverState.Text != "● Server running" {
		t.Errorf("status %q %q, want %q", h.c.serverState.Text, h.c.status.Text, want)
	}
	if want := "Certificate SHA-256 " + testFingerprint; h.c.certLine.Text != want {
		t.Errorf("certificate line %q, want %q", h.c.certLine.Text, want)
	}
	if err := h.svc.SetSetting("server.siteid", "branch-2"); err != nil {
		t.Fatal(err)
	}
	want = "Site ID branch-2   ·   0 devices provisioned   ·   0 codes pending   ·   https://127.0.0.1:8443"
	h.waitFor("new Site ID in the status line", func() bool { return h.c.status.Text == want })

	// Devices and codes are counted as they change.
	storetest.MustAddUser(t, h.svc, "alice", "1357")
	storetest.MustAddUser(t, h.svc, "bob", "1357")
	ic, err := h.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("two codes pending", func() bool { return strings.Contains(h.c.status.Text, "   ·   2 codes pending") })
	if _, err := h.svc.Provision("127.0.0.1", "alice", ic.Code, "iOS 17"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("one device, one code", func() bool {
		return strings.Contains(h.c.status.Text, "   ·   1 device provisioned   ·   1 code pending   ·   ")
	})
	// Codes expire without an event; the status clock notices.
	h.clock.Advance(11 * time.Minute)
	h.waitFor("no code pending", func() bool { return strings.Contains(h.c.status.Text, "   ·   0 codes pending") })

}

// TestConsole_StatusBarFitsAt1280: at the smallest window the console is
// made for, every part of the status bar is read in full: the counts the
// helpdesk glances at and the whole fingerprint a phone user compares.
// (On one line, the counts were cut after "3 device…".)
func TestConsole_StatusBarFitsAt1280(t *testing.T) {
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		d.Fingerprint = shotFingerprint
		d.ServerURLs = func() []string { return []string{"https://192.168.1.10:8443/"} }
	})
	seedOffice(t, h)
	h.settle()
	h.win.Resize(fyne.NewSize(1280, 800))
	h.waitFor("the counts in the status bar", func() bool { return strings.Contains(h.c.status.Text, " pending") })
	for _, l := range []*widget.Label{h.c.serverState, h.c.status, h.c.modeNote, h.c.certLine} {
		need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
		if got := l.Size().Width; got < need {
			t.Errorf("%q is cut at 1280×800: %.0f px wide, needs %.0f", l.Text, got, need)
		}
	}
	for _, b := range []*widget.Button{h.c.copyFP, h.c.installSvc} {
		if b.Size().Width < b.MinSize().Width {
			t.Errorf("button %q is cut at 1280×800", b.Text)
		}
	}
}

func TestConsole_NavigationShowsScreens(t *testing.T) {
	h := newHarness(t)
	for i, s := range h.c.screens {
		h.c.nav.Select(i)
		if got := h.c.body.Objects; len(got) != 1 || got[0] != s.content {
			t.Errorf("selecting %q did not show it", s.title)
		}
	}
}

func TestConsole_CloseIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.c.Close()
	h.c.Close()
	// Events after Close change nothing and do not block the service.
	storetest.MustAddUser(t, h.svc, "late", "1234")
	h.settle()
	if len(h.c.users.shown) != 0 {
		t.Error("a closed console still follows events")
	}
}

// TestConsole_CloseWaitsForTheStatusClock: the status clock asks
// Deps.Certificate off the UI thread, and that hook can write (app's
// certificate reloader makes a new certificate when the files are gone).
// Close returns only once a call under way has returned, and none starts
// after: the caller may then close the store and remove the directory.
func TestConsole_CloseWaitsForTheStatusClock(t *testing.T) {
	var armed, returned atomic.Bool
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	h := newHarnessWith(t, func(_ *harness, d *Deps) {
		d.Certificate = func() CertInfo {
			calls.Add(1)
			if armed.CompareAndSwap(true, false) {
				close(entered)
				<-release
				returned.Store(true)
			}
			return CertInfo{Fingerprint: testFingerprint}
		}
	})
	armed.Store(true)
	// The clock asks again once its last recount has run on the UI thread.
	h.waitFor("the status clock to ask for the certificate", func() bool {
		select {
		case <-entered:
			return true
		default:
			return false
		}
	})
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	h.c.Close()
	if !returned.Load() {
		t.Fatal("Close returned while the status clock's Deps.Certificate call was under way")
	}
	n := calls.Load()
	time.Sleep(10 * h.c.opts.statusTick)
	if got := calls.Load(); got != n {
		t.Errorf("Deps.Certificate called %d more times after Close", got-n)
	}
}

// TestConsole_CloseDoesNotWaitForAHungService: an attached console's
// certificate hook is a request to the service; one that does not answer
// keeps Close waiting only for closeWait, not for the request's timeout.
func TestConsole_CloseDoesNotWaitForAHungService(t *testing.T) {
	var armed atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := newHarnessWith(t, func(_ *harness, d *Deps) {
		d.Certificate = func() CertInfo {
			if armed.CompareAndSwap(true, false) {
				close(entered)
				<-release // the service never answers while Close runs
			}
			return CertInfo{Fingerprint: testFingerprint}
		}
	})
	h.c.opts.closeWait = 50 * time.Millisecond
	armed.Store(true)
	h.waitFor("the status clock to ask for the certificate", func() bool {
		select {
		case <-entered:
			return true
		default:
			return false
		}
	})
	closed := make(chan struct{})
	go func() { h.c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waits for a certificate call that never returns")
	}
}

// TestConsole_BuildsScreensWhenShown: the console builds only the users
// screen at start (the first frame need not lay out every form, #15);
// another screen is built when first shown and then shows what changed
// before it existed, and events for screens not built yet are dropped
// without harm.
func TestConsole_BuildsScreensWhenShown(t *testing.T) {
	h := newHarness(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	c := newConsole(h.c.app, w, h.c.deps, h.options())
	defer c.Close()
	if c.users == nil {
		t.Fatal("the users screen is not built at start")
	}
	for name, built := range map[string]bool{"mobile": c.mobile != nil, "pin": c.pin != nil, "server": c.server != nil, "log": c.log != nil, "outbox": c.outbox != nil, "agents": c.agents != nil} {
		if built {
			t.Errorf("the %s screen is built before it is shown", name)
		}
	}
	// Changes while the screens do not exist yet: their events come and go.
	if err := h.svc.SetSetting("policy.mobile.support_email", "help@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Log(core.LevelInfo, "", "written before the log screen existed"); err != nil {
		t.Fatal(err)
	}
	h.settle()

	for i, s := range c.screens {
		if s.title == "Policy → Mobile Client" {
			c.nav.Select(i)
		}
	}
	if c.mobile == nil || c.body.Objects[0] != c.mobile.content {
		t.Fatal("selecting Policy → Mobile Client did not build and show it")
	}
	if got := c.mobile.entries["policy.mobile.support_email"].entry.Text; got != "help@example.org" {
		t.Errorf("support email on the newly built screen %q, want the value set before it was built", got)
	}
	c.showScreen(c.screenTitled("Log"))
	found := false
	for _, e := range c.log.shown {
		found = found || e.Message == "written before the log screen existed"
	}
	if !found {
		t.Error("the log screen built late does not show an entry written before")
	}
	if c.screenTitled("Log") != c.log.content {
		t.Error("showing the log screen again built a second one")
	}
}

// consoleServingFingerprint is a console built without its Server screen
// whose certificate (Deps.Certificate) presents the fingerprint last
// given to serve, testFingerprint at first. The status clock reads it off
// the UI thread, hence the lock.
func consoleServingFingerprint(t *testing.T) (*harness, *Console, func(fp string)) {
	t.Helper()
	var mu sync.Mutex
	fp := testFingerprint
	h := newHarnessWith(t, func(_ *harness, d *Deps) {
		d.Certificate = func() CertInfo { mu.Lock(); defer mu.Unlock(); return CertInfo{Fingerprint: fp} }
	})
	w := test.NewTempWindow(t, widget.NewLabel(""))
	c := newConsole(h.c.app, w, h.c.deps, h.options())
	t.Cleanup(c.Close)
	return h, c, func(s string) { mu.Lock(); defer mu.Unlock(); fp = s }
}

// TestConsole_FollowsAReplacedCertificate: when the certificate the server
// presents is replaced elsewhere (another server of an etcd site
// regenerated it, #16) the configuration-changed event that follows makes
// the status bar and Help → About show the new fingerprint, also while
// the Server screen has not been built yet.
func TestConsole_FollowsAReplacedCertificate(t *testing.T) {
	h, c, serve := consoleServingFingerprint(t)
	if c.server != nil || c.certLine.Text != "Certificate SHA-256 "+testFingerprint {
		t.Fatalf("server screen built %v, certificate line %q", c.server != nil, c.certLine.Text)
	}
	serve("11:22:33")
	h.svc.Events().Publish(core.Event{Kind: core.EventConfigChanged, Reason: "server certificate", At: time.Now()})
	h.waitFor("the new fingerprint in the status bar", func() bool {
		return c.certLine.Text == "Certificate SHA-256 11:22:33"
	})
	if got := c.fingerprintText(); got != "11:22:33" {
		t.Errorf("Help → About shows %q, want the new fingerprint", got)
	}
}

// TestConsole_FollowsACertificateRenewedInPlace: a certificate file
// renewed under the same path changes the served fingerprint with no
// configuration change; the status bar follows it on its own clock, and
// Help → About shows the certificate served when it opens.
func TestConsole_FollowsACertificateRenewedInPlace(t *testing.T) {
	h, c, serve := consoleServingFingerprint(t)
	serve("44:55:66")
	h.waitFor("the renewed fingerprint in the status bar", func() bool {
		return c.certLine.Text == "Certificate SHA-256 44:55:66"
	})
	serve("77:88:99")
	c.showAbout()
	if got := c.aboutBox.fingerprint.Text; got != "77:88:99" {
		t.Errorf("Help → About shows %q, want the certificate served now", got)
	}
}
