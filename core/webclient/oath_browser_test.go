package webclient_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// TestOATH_SetUpPageCrossSiteInChromium: in a real browser, the
// authenticator set-up page's own button still shows the otpauth:// link
// (its POST is same-origin), while another site's page that posts the same
// form with the code, as a page on the internet could make a visitor's
// browser on the LAN do, is refused with a sentence, on a page laid out
// for the phone, and spends nothing.
func TestOATH_SetUpPageCrossSiteInChromium(t *testing.T) {
	svc, srv, ic := oathLink(t, storetest.MustOpen(t))
	u, err := url.Parse(ic.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Another site, on another port of loopback: a page whose form posts
	// the code to the set-up page's address.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = template.Must(template.New("").Parse(`<!doctype html><form id="f" method="post" action="{{.Action}}">
<input type="hidden" name="username" value="alice"><input type="hidden" name="code" value="{{.Code}}">
<button id="go" type="submit">Win a prize</button></form>`)).Execute(w, map[string]string{
			"Action": srv.URL() + "/userportal/oath", "Code": u.Query().Get("code")})
	}))
	t.Cleanup(evil.Close)

	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#go")), chromedp.Click(chromedp.CSS("#go")))
	phone.waitPage("another website")
	if body := phone.text("body"); strings.Contains(body, "otpauth") || !strings.Contains(body, "This request came from another website") {
		t.Fatalf("another site's POST shows %q", body)
	}
	// On a page laid out for the phone's width: as text/plain it was
	// laid out 980 px wide, in type too small to read.
	if got := phone.eval(`window.innerWidth + ' ' + document.documentElement.scrollWidth`); got != fmt.Sprintf("%d %d", phoneW, phoneW) {
		t.Errorf("another site's POST: viewport and page width %s on a %d px phone, want the phone's width", got, phoneW)
	}
	if pend, err := svc.PendingCodes(); err != nil || pend["alice"].IsZero() {
		t.Fatalf("alice's code after another site's POST: %v %v", pend, err)
	}

	phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")), chromedp.Click(chromedp.CSS("button[type=submit]")))
	phone.waitPage("This page is shown once")
	if href := phone.eval(`(document.querySelector('a[href^="otpauth://"]') || {}).href || ""`); !strings.HasPrefix(href, "otpauth://") {
		t.Fatalf("the set-up page's own button shows no otpauth:// link: %q", phone.text("body"))
	}
}

// waitPage waits until the page that a form's submission navigates to
// shows want: evaluating during the navigation fails, so it asks again.
func (b *browser) waitPage(want string) {
	b.t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil && strings.Contains(s, want) {
			return
		}
	}
	b.t.Fatalf("the page never showed %q", want)
}

// TestOATH_SecretPageFitsA320Phone: the page that shows the otpauth QR
// code once is read on the phone that holds the authenticator app. Its
// 320 px QR code beside the body's margins made a 320 px phone's page
// 336 px wide (sideways scrolling, the code's right quiet zone off
// screen), and the "Add to authenticator app" link was 42 px tall, under
// the 44 px of a tap target.
func TestOATH_SecretPageFitsA320Phone(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpen(t), core.WithOATHKeys(oathkey.Keys{}))
	agentxmltest.MustServer(t, svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
		o.QRPNG = qr.PNG
	})
	if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	ic, err := svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}

	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(320, 568, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")), chromedp.Click(chromedp.CSS("button[type=submit]")))
	phone.waitPage("This page is shown once")
	phone.until(`document.querySelector('img') && document.querySelector('img').complete`, 10*time.Second, "the QR code loads")
	if got := phone.eval(`document.documentElement.scrollWidth + ' ' + window.innerWidth`); got != "320 320" {
		t.Errorf("page width and viewport %s at 320 px, want 320 320 (nothing off screen)", got)
	}
	if got := phone.eval(`(function () { var r = document.querySelector('img').getBoundingClientRect(); return r.left >= 0 && r.right <= 320 ? 'in' : Math.round(r.left) + '-' + Math.round(r.right); })()`); got != "in" {
		t.Errorf("the QR code spans %s px on a 320 px screen", got)
	}
	h := phone.eval(`String(document.querySelector('a[href^="otpauth://"]').getBoundingClientRect().height)`)
	if px, err := strconv.ParseFloat(h, 64); err != nil || px < 44 {
		t.Errorf("the Add to authenticator app link is %s px tall, want at least 44", h)
	}
}

// TestPages_RefusalsReadableOnAPhone: a used, wrong or expired
// authenticator set-up link, and a Provision URL cut short (a mail client
// that wrapped the link), were answered as text/plain, which a phone lays
// out 980 px wide: the one sentence that says what happened was in type
// too small to read. Each is a page laid out for the phone's width.
func TestPages_RefusalsReadableOnAPhone(t *testing.T) {
	_, srv, ic := oathLink(t, storetest.MustOpen(t))
	phone := newBrowser(t, budget(t))
	readable := func(where, want string) {
		t.Helper()
		phone.waitPage(want)
		if got := phone.eval(`window.innerWidth + ' ' + document.documentElement.scrollWidth`); got != fmt.Sprintf("%d %d", phoneW, phoneW) {
			t.Errorf("%s: viewport and page width %s on a %d px phone, want the phone's width (the sentence laid out for a desktop)", where, got, phoneW)
		}
	}

	// Used once, then the same link again (a second tap, the back button).
	for i, want := range []string{"This page is shown once", "has been used or has expired"} {
		phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")), chromedp.Click(chromedp.CSS("button[type=submit]")))
		if i == 0 {
			phone.waitPage(want)
			continue
		}
		readable("a used set-up link", want)
	}
	// A Provision URL without its username.
	phone.do(chromedp.Navigate(srv.URL() + "/userportal/provision?code=ABCD2345&siteid=x"))
	readable("a Provision URL cut short", "This provision link is incomplete")
}

// TestOATH_SetUpButtonSendsOnePOST: on a slow line a person taps "Show my
// authenticator QR code" again while the first tap's answer is on its
// way. A second POST made the browser show its answer, "used", while the
// first had issued the token: the QR code shown only once was lost. The
// page's script sends one POST however often the button is pressed.
//
// The test holds the store's writer, so the first POST cannot finish
// before the second press.
func TestOATH_SetUpButtonSendsOnePOST(t *testing.T) {
	st := storetest.MustOpen(t)
	_, _, ic := oathLink(t, st)

	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")))

	release := storetest.HoldWriter(t, st)
	// Both presses are scheduled by one evaluation: once the first has
	// started a navigation, chromedp waits for it to end before it
	// evaluates anything more.
	phone.eval(`(function () {
		var b = document.querySelector('button[type=submit]');
		setTimeout(function () { b.click(); }, 0);
		setTimeout(function () { b.click(); }, 500);
		return "";
	})()`)
	time.Sleep(1500 * time.Millisecond) // the first POST waits for the writer meanwhile
	release()
	phone.waitPage("This page is shown once")
	if href := phone.eval(`(document.querySelector('a[href^="otpauth://"]') || {}).href || ""`); !strings.HasPrefix(href, "otpauth://") {
		t.Fatalf("after two presses the page shows no otpauth:// link: %q", phone.text("body"))
	}
}

// oathLink serves a site on st with authenticator apps turned on and the
// web client, and returns alice's authenticator set-up link.
func oathLink(t *testing.T, st *store.Store) (*core.Service, *agentxml.Server, core.IssuedCode) {
	t.Helper()
	svc := storetest.MustServiceOn(t, st, core.WithOATHKeys(oathkey.Keys{}))
	srv, _ := agentxmltest.MustServer(t, svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
	})
	if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	ic, err := svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, srv, ic
}
