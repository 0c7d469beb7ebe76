package webclient_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// The phone every browser test emulates: 412×915 CSS pixels, portrait,
// mobile, with touch.
const (
	phoneW = 412
	phoneH = 915
)

// browserBudget bounds each browser test, so a hung page fails the test
// instead of the package timeout.
const browserBudget = 60 * time.Second

// chromiumPath finds Debian's chromium. The browser tests need a real
// browser: without one they fail, never skip (.ci/deps.sh installs it).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed; the web client tests drive a real browser: apt-get install chromium (make deps does)")
	return ""
}

// browser is one phone: a fresh browser context (its own IndexedDB,
// service workers and cookies) in the package's one Chromium process.
// Starting Chromium costs seconds on a busy machine; a context costs
// milliseconds and isolates storage just the same.
type browser struct {
	t   testing.TB
	ctx context.Context
}

// chrome is the package's Chromium, started on first use and stopped by
// TestMain.
var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.cancel != nil {
		chrome.cancel()
	}
	if chrome.dir != "" {
		os.RemoveAll(chrome.dir)
	}
	os.Exit(code)
}

func startChrome(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath(t)
	chrome.once.Do(func() {
		chrome.dir, chrome.err = os.MkdirTemp("", "provisio-chromium-")
		if chrome.err != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			// The test server's certificate is self-signed, as a fresh
			// Provisio's is; a person taps through the warning once.
			chromedp.IgnoreCertErrors,
			chromedp.UserDataDir(chrome.dir),
			chromedp.WindowSize(phoneW, phoneH),
		}
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelB := chromedp.NewContext(actx)
		chrome.ctx, chrome.cancel = bctx, func() { cancelB(); cancelA() }
		// The first run starts the process; no timeout on it, or the
		// timeout would end the browser.
		chrome.err = chromedp.Do(bctx)
	})
	if chrome.err != nil {
		t.Fatalf("start chromium: %v", chrome.err)
	}
	return chrome.ctx
}

// newBrowser is a fresh phone whose actions all finish within the
// deadline of budget.
func newBrowser(t testing.TB, budget context.Context) *browser {
	t.Helper()
	tab, cancel := chromedp.NewContext(startChrome(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action opens the tab and ties it to tab; later actions
	// run under the test's deadline.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("open a phone: %v", err)
	}
	ctx := tab
	if dl, ok := budget.Deadline(); ok {
		var c context.CancelFunc
		ctx, c = context.WithDeadline(tab, dl)
		t.Cleanup(c)
	}
	return &browser{t: t, ctx: ctx}
}

// another is a second phone in the same test.
func (b *browser) another() *browser {
	b.t.Helper()
	dl, _ := b.ctx.Deadline()
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	b.t.Cleanup(cancel)
	return newBrowser(b.t, ctx)
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) visible(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

// stored reads the authenticator's IndexedDB record as the page sees it.
func (b *browser) stored() string {
	return b.eval(`ProvisioStore.load().then(function (s) { return s ? JSON.stringify({n: s.strings.length, next: s.next, user: s.username, replaced: !!s.replaced, id: s.deviceId}) : "none"; })`)
}

func (b *browser) location() string {
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return s
}

func (b *browser) dark(on bool) {
	v := "light"
	if on {
		v = "dark"
	}
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	}))
}

func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// world is a real server over a real bbolt file with the web client
// mounted, as the app wires it.
type world struct {
	svc    *core.Service
	srv    *agentxml.Server
	url    string
	fp     string
	agent  *agentxmltest.AgentClient
	portal *webclient.Handler // the server's web client, nil when an option replaced it
}

// settled waits until the self-service requests answered so far have
// finished issuing: the answer comes at the floor (a millisecond in these
// tests) whether or not the code's commit has (portal.go), so a test that
// looks for the code or its mail waits for the commit first.
func (w *world) settled() {
	if w.portal != nil {
		webclient.Settled(w.portal)
	}
}

func newWorld(t testing.TB) *world {
	t.Helper()
	// Code requests answer after a millisecond instead of a second, so the
	// tests that send many stay short; TestHandler_RequestTimingFloor
	// checks the real floor.
	return newWorldFloor(t, time.Millisecond)
}

// newWorldFloor is newWorld with the given webclient.Options.RequestFloor
// (0: the default).
func newWorldFloor(t testing.TB, floor time.Duration) *world {
	t.Helper()
	return newWorldOn(t, storetest.MustOpen(t), floor)
}

// newWorldOn is newWorldFloor over the store st; opts change the
// server's options further (such as QR codes on the Provision URL page).
func newWorldOn(t testing.TB, st core.Store, floor time.Duration, opts ...func(*agentxml.Options)) *world {
	t.Helper()
	return newWorldSvc(t, storetest.MustServiceOn(t, st), floor, opts...)
}

// newWorldSvc is newWorldOn over the service svc (such as one with a
// clock a test moves).
func newWorldSvc(t testing.TB, svc *core.Service, floor time.Duration, opts ...func(*agentxml.Options)) *world {
	t.Helper()
	var portal *webclient.Handler
	srv, fp := agentxmltest.MustServer(t, svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: floor})
		for _, f := range opts {
			f(o)
		}
		portal, _ = o.Portal.(*webclient.Handler)
	})
	for _, kv := range [][2]string{
		{"server.name", "Provisio test"},
		{"policy.mobile.allow_pin_entry", "Yes"},
		{"policy.mobile.sync_index", "Yes"},
		{"policy.mobile.support_phone", "+44 20 7946 0000"},
		{"policy.mobile.support_email", "help@example.org"},
		{"policy.mobile.vpn_url_scheme", "citrixreceiver://"},
	} {
		if err := svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatalf("set %s: %v", kv[0], err)
		}
	}
	if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"}); err != nil {
		t.Fatal(err)
	}
	ac, err := agentxmltest.NewAgentClient(srv.URL(), fp, "vpn-secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	return &world{svc: svc, srv: srv, url: srv.URL(), fp: fp, agent: ac, portal: portal}
}

func (w *world) addUser(t testing.TB, name, pin, email string) {
	t.Helper()
	u := storetest.MustAddUser(t, w.svc, name, pin)
	if email != "" {
		if _, err := w.svc.UpdateUser(u.Name, func(u *core.User) error { u.Email = email; return nil }); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) code(t testing.TB, name string) core.IssuedCode {
	t.Helper()
	ic, err := w.svc.CreateProvisionCode(name)
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

func budget(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), browserBudget)
	t.Cleanup(cancel)
	return ctx
}

func pinTaps(pin string) []chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for _, d := range pin {
		steps = append(steps, chromedp.Tap(chromedp.CSS(fmt.Sprintf(`[data-digit="%c"]`, d))))
	}
	return append(steps, chromedp.Tap(chromedp.CSS("#pin-ok")))
}

// removedPhone is a phone set up in the browser (alice, PIN 9132) whose
// device the administrator then removed, reloaded so that it shows the
// banner. before, when given, runs once the phone is set up, before the
// removal.
func removedPhone(t *testing.T, before func(phone *browser)) (*world, *browser) {
	t.Helper()
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	if before != nil {
		before(phone)
	}
	if err := w.svc.RevokeDevice("alice"); err != nil {
		t.Fatal(err)
	}
	phone.do(chromedp.Reload())
	phone.visible("#banner")
	return w, phone
}
