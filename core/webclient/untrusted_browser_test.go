package webclient_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A phone whose browser does not trust the server's certificate: a fresh
// Provisio's is self-signed, and a person taps through the browser's
// warning to reach the Provision URL page.

// distrustingPhone is a phone browser that, unlike the package's Chromium,
// checks certificates: its own Chromium process without
// --ignore-certificate-errors, its own profile, a 390×844 touch screen.
// It shares the test's deadline.
func distrustingPhone(t *testing.T, budget context.Context) *browser {
	t.Helper()
	dir, err := os.MkdirTemp("", "provisio-chromium-strict-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir), chromedp.WindowSize(390, 844))
	bctx, cancelB := chromedp.NewContext(actx)
	// Cleanups run last-added first: the browser goes before its profile.
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("start a second chromium: %v", err)
	}
	ctx := bctx
	if dl, ok := budget.Deadline(); ok {
		var c context.CancelFunc
		ctx, c = context.WithDeadline(bctx, dl)
		t.Cleanup(c)
	}
	return &browser{t: t, ctx: ctx}
}

// throughTheWarning opens link and, on the browser's certificate warning,
// chooses Advanced, then Proceed, as a person does for a self-signed
// server.
func (b *browser) throughTheWarning(link string) {
	b.t.Helper()
	// The warning page is the navigation's answer: chromedp reports it as
	// a failed load, which it is not for the person looking at it.
	_ = chromedp.Do(b.ctx, chromedp.Navigate(link))
	b.until(`location.protocol === 'chrome-error:' && document.getElementById('details-button')`, 10*time.Second, "the certificate warning")
	// The warning is Chromium's own page, not the server's: its links are
	// clicked from script.
	b.eval(`document.getElementById('details-button').click(); ''`)
	b.until(`document.getElementById('proceed-link') && document.getElementById('proceed-link').offsetHeight > 0`, 5*time.Second, "the warning's Proceed link")
	b.eval(`document.getElementById('proceed-link').click(); ''`)
	b.until(`location.protocol === 'https:'`, 10*time.Second, "the page past the warning")
}

// TestWebClient_UntrustedCertificateSaysOfflineWontWork: Chromium will not
// register a service worker for a site whose certificate it does not
// trust ("An SSL certificate error occurred when fetching the script"),
// so with the self-signed certificate the authenticator does not open
// without a connection and cannot be installed, while the page advised
// installing it "so it opens like an app, even offline" and said nothing
// else. The page now says so, and what would help.
func TestWebClient_UntrustedCertificateSaysOfflineWontWork(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ctx := budget(t)
	phone := distrustingPhone(t, ctx)
	phone.throughTheWarning(w.code(t, "alice").URL)
	phone.visible("#setup-phone")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	phone.until(`document.getElementById('untrusted') && !document.getElementById('untrusted').hidden`, 10*time.Second,
		"the phone says the authenticator will not open offline")
	got := phone.text("#untrusted")
	for _, want := range []string{"will not open without a connection", "does not trust the server's certificate", "administrator"} {
		if !strings.Contains(got, want) {
			t.Errorf("the untrusted-certificate advice says %q, want %q in it", got, want)
		}
	}
	if !phone.hidden("install") {
		t.Error("the page still advises installing the app, which this browser refuses")
	}
	if otc := phone.otc("9132"); len(otc) != 6 {
		t.Fatalf("OTC = %q", otc)
	} else if res, _, err := w.agent.Login("alice", otc); err != nil || res != "PASS" {
		t.Fatalf("login with the code on screen: %s %v", res, err)
	}

	// A browser that trusts the certificate keeps the app offline: no
	// such advice.
	trusting := newBrowser(t, ctx)
	trusting.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	trusting.visible("#pin-view")
	if got := trusting.eval(`navigator.serviceWorker.ready.then(function () { return 'ready'; })`); got != "ready" {
		t.Fatalf("service worker: %s", got)
	}
	if !trusting.hidden("untrusted") {
		t.Error("a browser that trusts the certificate is told it does not")
	}
}
