package webclient_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
)

type storedState struct {
	N        int    `json:"n"`
	Next     int    `json:"next"`
	User     string `json:"user"`
	Replaced bool   `json:"replaced"`
	ID       string `json:"id"`
}

func parseStored(t *testing.T, s string) storedState {
	t.Helper()
	var st storedState
	if s == "none" {
		return st
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		t.Fatalf("stored state %q: %v", s, err)
	}
	return st
}

// TestWebClient_SetUpPINLoginReloadReplaced follows one phone from the QR
// code to a VPN login and on to being replaced.
func TestWebClient_SetUpPINLoginReloadReplaced(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "alice@example.org")
	events, stop := w.svc.Events().Subscribe()
	defer stop()
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))

	// Opening the Provision URL shows the button first and spends nothing.
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	if got := phone.text("#setup-phone"); got != "Set up this phone" {
		t.Fatalf("button = %q", got)
	}
	if got := phone.eval(`document.querySelector('details#installed-app summary').textContent`); got != "Use an installed app instead" {
		t.Fatalf("hand-entry section = %q", got)
	}
	phone.do(chromedp.Reload())
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() {
		t.Fatal("opening the Provision URL spent the code")
	}

	// A tap on the button sets the phone up.
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	if loc := phone.location(); !strings.HasSuffix(loc, "/userportal/app/") {
		t.Fatalf("after setup the phone is at %s, want the authenticator", loc)
	}
	st := parseStored(t, phone.stored())
	u, err := w.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 100 || st.User != "alice" || st.ID != u.DeviceID || st.Next != 1 {
		t.Fatalf("stored %+v, want 100 strings for alice's device %s with index 0 shown", st, u.DeviceID)
	}
	if !strings.HasPrefix(u.DeviceOS, "web, Chrome ") {
		t.Fatalf("device OS = %q, want web, Chrome …", u.DeviceOS)
	}
	// The console's Reprovision dialog reads this event.
	found := false
	for !found {
		select {
		case ev := <-events:
			if ev.Kind == core.EventProvisioned && ev.User == "alice" {
				found = true
				if !strings.HasPrefix(ev.DeviceOS, "web, ") {
					t.Fatalf("provisioned event device OS = %q", ev.DeviceOS)
				}
			}
		default:
			t.Fatal("no provisioned event for alice")
		}
	}
	if got := phone.text("#pin-index"); got != "00" {
		t.Fatalf("index shown = %q, want 00", got)
	}
	if got := phone.eval(`document.getElementById('support-phone').querySelector('a').getAttribute('href')`); got != "tel:+442079460000" {
		t.Fatalf("support phone link = %q", got)
	}
	if got := phone.eval(`document.getElementById('vpn').getAttribute('href')`); got != "citrixreceiver://" {
		t.Fatalf("VPN link = %q", got)
	}

	// PIN pad → OTC → the VPN accepts it.
	phone.do(pinTaps("9132")...)
	phone.visible("#otc-box")
	otc := phone.text("#otc")
	if len(otc) != 6 || !strings.HasSuffix(otc, "00") {
		t.Fatalf("OTC = %q, want 4 digits and index 00", otc)
	}
	if res, code, err := w.agent.Login("alice", otc); err != nil || res != "PASS" {
		t.Fatalf("login with the phone's OTC %s: %s %s %v", otc, res, code, err)
	}
	if got := phone.text("#pin-dots"); got != "" {
		t.Fatalf("PIN dots left after OK: %q", got)
	}
	if strings.Contains(phone.eval(`JSON.stringify(localStorage)+document.cookie`), "9132") {
		t.Fatal("the PIN was kept in browser storage")
	}

	// A reload keeps the phone set up and shows the next index.
	phone.do(chromedp.Reload())
	phone.visible("#pin-view")
	st2 := parseStored(t, phone.stored())
	if st2.N != 100 || st2.ID != st.ID || st2.Next < 2 {
		t.Fatalf("after reload stored %+v", st2)
	}
	if got := phone.text("#pin-index"); got != "01" {
		t.Fatalf("after reload index = %q, want 01 (00 was used)", got)
	}
	if strings.Contains(phone.location(), st.ID) || strings.Contains(phone.location(), ic.Code) {
		t.Fatal("a secret is in the URL")
	}

	// Sync Index: the user logs in with index 05 (read off this phone's
	// string by hand); on its next start the phone skips to 06.
	s5 := phone.eval(`ProvisioStore.load().then(function (s) { return s.strings[5]; })`)
	var str [10]byte
	copy(str[:], s5)
	if res, _, err := w.agent.Login("alice", core.MobileCode(core.ExtractOTC(str, "9132"), 5)); err != nil || res != "PASS" {
		t.Fatalf("login with index 05: %s %v", res, err)
	}
	phone.do(chromedp.Reload())
	phone.visible("#pin-view")
	if got := phone.text("#pin-index"); got != "06" {
		t.Fatalf("after a login at 05 the phone shows %q, want 06 (Sync Index)", got)
	}

	// The administrator reprovisions alice on another phone.
	ic2 := w.code(t, "alice")
	other, err := agentxmltest.NewMobileClient(ic2.URL, w.fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Provision("iOS 18"); err != nil {
		t.Fatal(err)
	}
	phone.do(chromedp.Reload())
	phone.visible("#banner")
	if got := phone.text("#banner"); !strings.HasPrefix(got, "This phone was replaced") {
		t.Fatalf("banner = %q", got)
	}
	if parseStored(t, phone.stored()).Replaced != true {
		t.Fatal("replaced state not stored")
	}
	phone.do(chromedp.Tap(chromedp.CSS("#forget")), chromedp.WaitVisible(chromedp.CSS("#forget-yes")),
		chromedp.Tap(chromedp.CSS("#forget-yes")), chromedp.WaitVisible(chromedp.CSS("#empty")))
	if s := phone.stored(); s != "none" {
		t.Fatalf("after Forget this phone, stored = %s", s)
	}
}

// TestWebClient_CodeOpenedTwice: two browsers open the same link; only
// the first tap provisions.
func TestWebClient_CodeOpenedTwice(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "bob", "2468", "")
	ic := w.code(t, "bob")
	ctx := budget(t)
	a := newBrowser(t, ctx)
	b := a.another()
	a.do(chromedp.Navigate(ic.URL))
	b.do(chromedp.Navigate(ic.URL))
	a.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	a.visible("#pin-view")
	u, _ := w.svc.User("bob")
	b.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	b.visible("#message")
	if got := b.text("#message"); !strings.HasPrefix(got, "This code could not be used") {
		t.Fatalf("second setup says %q", got)
	}
	b.do(chromedp.Navigate(w.url + "/userportal/app/"))
	b.visible("#empty")
	if s := b.stored(); s != "none" {
		t.Fatalf("second browser stored %s", s)
	}
	if u2, _ := w.svc.User("bob"); u2.DeviceID != u.DeviceID {
		t.Fatal("the second tap changed the device")
	}

	// With few strings left, the phone downloads a new set on start.
	old := a.eval(`ProvisioStore.load().then(function (s) { var first = s.strings[0]; s.next = 95; return ProvisioStore.save(s).then(function () { return first; }); })`)
	a.do(chromedp.Reload())
	a.do(chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.indexOf('New security strings downloaded') >= 0`))
	st := parseStored(t, a.stored())
	if st.N != 100 || st.Next != 1 || a.eval(`ProvisioStore.load().then(function (s) { return s.strings[0]; })`) == old {
		t.Fatalf("after the low-strings download: %+v", st)
	}

	// Small screens: 320 px portrait and a landscape phone never scroll
	// sideways.
	for _, size := range [][2]int64{{320, 640}, {915, 412}} {
		a.do(chromedp.EmulateViewport(size[0], size[1], chromedp.EmulateMobile, chromedp.EmulateTouch))
		if got := a.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
			t.Fatalf("at %dx%d the page scrolls sideways", size[0], size[1])
		}
	}
}

// phoneThenServerGone sets carol's phone up (strings shown, PIN entry off)
// in w, waits until the service worker controls the page, as it does once
// the phone has opened the authenticator, and closes the server. It
// returns the server's address, for the test to reopen it before the
// cleanup's Close.
func phoneThenServerGone(t *testing.T, w *world) (*browser, string) {
	t.Helper()
	if err := w.svc.SetSetting("policy.mobile.allow_pin_entry", "No"); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "carol", "4821", "")
	ic := w.code(t, "carol")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#string-view")
	if got := phone.eval(`navigator.serviceWorker.ready.then(function () { return 'ready'; })`); got != "ready" {
		t.Fatalf("service worker: %s", got)
	}
	addr := w.srv.Addr().String()
	if err := w.srv.Close(); err != nil {
		t.Fatal(err)
	}
	return phone, addr
}

// TestWebClient_Offline: after setup the phone shows its strings with the
// server gone.
func TestWebClient_Offline(t *testing.T) {
	w := newWorld(t)
	phone, addr := phoneThenServerGone(t, w)
	phone.do(chromedp.Reload())
	phone.visible("#string-view")
	if got := phone.text("#index"); got != "01" {
		t.Fatalf("offline index = %q, want 01", got)
	}
	if got := phone.eval(`document.querySelectorAll('#chars td').length + ''`); got != "10" {
		t.Fatalf("offline string has %s characters", got)
	}
	if got := phone.text("#status"); !strings.Contains(got, "Offline") {
		t.Fatalf("status = %q, want it to say offline", got)
	}
	// Back online for the cleanup's Close.
	if err := w.srv.Open(addr); err != nil {
		t.Fatal(err)
	}
}
