package webclient_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// iPhoneUA is Safari on an iPhone.
const iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"

// iPhone makes b an iPhone: Safari's User-Agent and navigator.standalone,
// which iOS has (false in a Safari tab, true in a Home Screen web app)
// and Chromium does not. Call it before the first navigation.
func (b *browser) iPhone(standalone bool) {
	b.t.Helper()
	v := "false"
	if standalone {
		v = "true"
	}
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: iPhoneUA, Platform: "iPhone"}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: "Object.defineProperty(Navigator.prototype, 'standalone', {get: function () { return " + v + "; }, configurable: true});"})
		return err
	}))
}

// hidden reports whether the element is hidden (its hidden attribute).
func (b *browser) hidden(id string) bool {
	b.t.Helper()
	return b.eval(`String(document.getElementById('`+id+`').hidden)`) == "true"
}

// setUpInApp types into the authenticator's "Set up with a code" form
// (emptied first) and taps its button.
func (b *browser) setUpInApp(username, code string) {
	b.t.Helper()
	b.eval(`document.getElementById('setup-username').value = document.getElementById('setup-code').value = ''`)
	b.do(chromedp.SendKeys(chromedp.CSS("#setup-username"), username),
		chromedp.SendKeys(chromedp.CSS("#setup-code"), code),
		chromedp.Tap(chromedp.CSS("#setup-submit")))
}

// TestWebClient_SetUpWithCodeInTheApp: a browser that never saw the
// Provision URL (such as an iPhone's Home Screen copy, whose storage is
// apart from Safari's) sets itself up from the authenticator's empty
// state. Opening the page spends nothing; a wrong code shows the server's
// sentence and keeps what was typed; the right one stores the strings
// and shows the codes, with the code in no URL.
func TestWebClient_SetUpWithCodeInTheApp(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	w.addUser(t, "bob", "2468", "")
	alice := w.code(t, "alice")
	w.code(t, "bob")
	phone := newBrowser(t, budget(t))

	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	if got := phone.text("#setup-submit"); got != "Set up this phone" {
		t.Fatalf("button = %q", got)
	}
	if !phone.hidden("empty-ios") {
		t.Fatal("the iPhone advice shows in Chromium")
	}
	phone.do(chromedp.Reload())
	phone.visible("#setup-form")
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() || pend["bob"].IsZero() {
		t.Fatal("opening the authenticator spent a code")
	}

	// A wrong code: the server's sentence beside the form, the input kept,
	// nothing stored.
	phone.setUpInApp("bob", "WRONG234")
	phone.visible("#setup-problem")
	if got := phone.text("#setup-problem"); !strings.HasPrefix(got, "This code could not be used: it may have been used already, typed wrongly or expired.") {
		t.Fatalf("wrong code says %q", got)
	}
	if got := phone.eval(`document.getElementById('setup-username').value + ' ' + document.getElementById('setup-code').value`); got != "bob WRONG234" {
		t.Fatalf("after a refusal the form holds %q, want what was typed", got)
	}
	if s := phone.stored(); s != "none" {
		t.Fatalf("a refused set-up stored %s", s)
	}
	if u, _ := w.svc.User("bob"); u.DeviceID != "" {
		t.Fatal("a wrong code provisioned bob")
	}

	// The right code sets this browser up.
	phone.setUpInApp("alice", strings.ToLower(alice.Code))
	phone.visible("#pin-view")
	st := parseStored(t, phone.stored())
	u, err := w.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 100 || st.User != "alice" || st.ID == "" || st.ID != u.DeviceID {
		t.Fatalf("stored %+v, want 100 strings for alice's device %s", st, u.DeviceID)
	}
	if !strings.HasPrefix(u.DeviceOS, "web, Chrome ") {
		t.Fatalf("device OS = %q", u.DeviceOS)
	}
	if got := phone.text("#pin-index"); got != "00" {
		t.Fatalf("index shown = %q, want 00", got)
	}
	if !phone.hidden("empty") || !phone.hidden("setup-problem") {
		t.Fatal("the set-up form is still on screen")
	}
	loc := phone.location()
	if strings.Contains(loc, alice.Code) || strings.Contains(loc, st.ID) || !strings.HasSuffix(loc, "/userportal/app/") {
		t.Fatalf("after set-up the phone is at %s", loc)
	}
	if pend, _ := w.svc.PendingCodes(); !pend["alice"].IsZero() || pend["bob"].IsZero() {
		t.Fatalf("pending codes after set-up: %v (alice's spent, bob's kept)", pend)
	}
	// The one-time code works at the VPN.
	phone.do(pinTaps("9132")...)
	phone.visible("#otc-box")
	if res, _, err := w.agent.Login("alice", phone.text("#otc")); err != nil || res != "PASS" {
		t.Fatalf("login with the code of a phone set up in the app: %s %v", res, err)
	}
}

// TestWebClient_IPhoneHomeScreenWording: on an iPhone, Safari and the
// Home Screen copy keep separate storage. In a Safari tab the Provision
// URL page says, before the button, to add the authenticator to the Home
// Screen and set it up there with the user and code, while still allowing
// set-up in Safari; after set-up in Safari the hint says the Home Screen
// copy needs its own set-up. The Home Screen copy itself sets up with the
// code from its empty state. Chromium (no navigator.standalone) sees none
// of this.
func TestWebClient_IPhoneHomeScreenWording(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")
	ctx := budget(t)
	safari := newBrowser(t, ctx)
	safari.iPhone(false)

	safari.do(chromedp.Navigate(ic.URL))
	safari.visible("#ios-first")
	got := strings.Join(strings.Fields(safari.text("#ios-first")), " ")
	for _, want := range []string{
		"On iPhone, add the authenticator to your Home Screen first and set it up there",
		"open it from the Home Screen and enter user alice and code " + ic.Code,
		"Or set up here in Safari",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("iPhone advice %q lacks %q", got, want)
		}
	}
	if before := safari.eval(`String(document.getElementById('ios-first').compareDocumentPosition(document.getElementById('setup-phone')) & Node.DOCUMENT_POSITION_FOLLOWING)`); before == "0" {
		t.Error("the iPhone advice comes after the Set up button")
	}
	if got := safari.eval(`document.querySelector('#ios-first a').getAttribute('href')`); got != "/userportal/app/" {
		t.Errorf("the advice links to %q, want the authenticator", got)
	}
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() {
		t.Fatal("opening the Provision URL spent the code")
	}

	// The authenticator's empty state in the Safari tab says the same.
	other := safari.another()
	other.iPhone(false)
	other.do(chromedp.Navigate(w.url + "/userportal/app/"))
	other.visible("#empty-ios")
	if got := other.text("#empty-ios"); !strings.HasPrefix(got, "On iPhone, add this page to your Home Screen first and set it up there") {
		t.Errorf("empty state on an iPhone says %q", got)
	}

	// Setting up in Safari still works; the hint then promises nothing
	// of the Home Screen copy.
	safari.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	safari.visible("#pin-view")
	safari.visible("#install-ios")
	hint := strings.Join(strings.Fields(safari.text("#install-ios")), " ")
	if !strings.HasPrefix(hint, "On iPhone, a Home Screen copy needs its own set-up.") || !strings.Contains(hint, "will not have these codes") || !strings.Contains(hint, "new code from the self-service page") {
		t.Errorf("post-set-up hint on an iPhone = %q", hint)
	}
	if got := safari.eval(`String(document.querySelector('#install p[data-ios-tab="hide"]').hidden)`); got != "true" {
		t.Error("the generic Add to Home Screen hint shows on an iPhone too")
	}

	// The Home Screen copy (standalone): no advice, and it sets itself up
	// from its empty state with a new code.
	home := safari.another()
	home.iPhone(true)
	ic2 := w.code(t, "alice")
	home.do(chromedp.Navigate(w.url + "/userportal/app/"))
	home.visible("#setup-form")
	if !home.hidden("empty-ios") {
		t.Error("the Home Screen copy is told to add itself to the Home Screen")
	}
	home.setUpInApp("alice", ic2.Code)
	home.visible("#pin-view")
	if st := parseStored(t, home.stored()); st.N != 100 || st.User != "alice" {
		t.Fatalf("Home Screen copy stored %+v", st)
	}
	if u, _ := w.svc.User("alice"); !strings.Contains(u.DeviceOS, "iOS") {
		t.Errorf("device OS of the Home Screen copy = %q", u.DeviceOS)
	}

	// Chromium, which has no navigator.standalone: no iPhone wording.
	plain := safari.another()
	plain.do(chromedp.Navigate(w.code(t, "alice").URL))
	plain.visible("#setup-phone")
	if !plain.hidden("ios-first") {
		t.Error("the iPhone advice shows in Chromium")
	}
}

// TestWebClient_OfflineHangingServer: the office server accepts
// connections but never answers (an office address seen from mobile
// data, a captive Wi-Fi). The service worker gives the network a few
// seconds, then serves the stored page, so the strings are on screen
// within seconds rather than after the browser's own minute-long timeout.
func TestWebClient_OfflineHangingServer(t *testing.T) {
	w := newWorld(t)
	phone, addr := phoneThenServerGone(t, w)

	// The server's address now accepts and holds every connection.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
		// Back for the cleanup's Close.
		if err := w.srv.Open(addr); err != nil {
			t.Error(err)
		}
	}()

	// Reload without waiting for the load event, which is what hangs.
	start := time.Now()
	phone.eval(`setTimeout(function () { location.reload(); }, 0); 'ok'`)
	const limit = 15 * time.Second
	usable := `document.readyState === 'complete' && !!document.getElementById('string-view') && !document.getElementById('string-view').hidden && document.getElementById('status').textContent.indexOf('Offline') >= 0`
	for {
		pctx, cancel := context.WithTimeout(phone.ctx, time.Second)
		ok, err := chromedp.Run(pctx, chromedp.Evaluate[bool](usable))
		cancel()
		if err == nil && ok {
			break
		}
		if time.Since(start) > limit {
			t.Fatalf("the authenticator was not usable %v after the reload with a server that never answers", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("usable offline %v after the reload", time.Since(start).Round(100*time.Millisecond))
	if got := phone.text("#index"); got != "01" {
		t.Fatalf("offline index = %q, want 01", got)
	}
}

// TestWebClient_IPhoneTabAdvisedEvenWhenPersisted: in a Safari tab on an
// iPhone, navigator.storage.persist() answering true spares the codes
// only from eviction when the disk fills; Safari still deletes a tab's
// storage after seven days of use without a visit. So the Home Screen
// advice shows there whatever persist() answers, while a Chromium phone
// that is granted persistence is left alone.
func TestWebClient_IPhoneTabAdvisedEvenWhenPersisted(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	w.addUser(t, "bob", "2468", "")
	safari := newBrowser(t, budget(t))
	safari.iPhone(false)
	safari.initScript(persistAnswers(true))
	safari.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	safari.visible("#pin-view")
	safari.visible("#install")
	safari.visible("#install-ios")

	chromium := safari.another()
	chromium.initScript(persistAnswers(true))
	chromium.do(chromedp.Navigate(w.code(t, "bob").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	chromium.visible("#pin-view")
	time.Sleep(500 * time.Millisecond) // persist() answers
	if !chromium.hidden("install") {
		t.Error("a Chromium phone that keeps the storage is told to install the app")
	}
}
