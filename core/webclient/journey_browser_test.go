package webclient_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"provisio/core/agentxml"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// A phone user's journeys the other browser tests do not walk: a slow
// network and an impatient thumb, the back button after set-up, a long
// username on a narrow screen, two tabs of the authenticator, a phone
// removed by the administrator, coming back to the app after a while.

// slowNetwork makes every answer take at least ms milliseconds to reach
// the page, as on a weak mobile connection; the request itself leaves at
// once, so the server acts before the page hears back.
func (b *browser) slowNetwork(ms float64) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulateByRule, emulateByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: ms, DownloadThroughput: -1, UploadThroughput: -1}}})
		return err
	}))
}

// emulateByRule is Network.emulateNetworkConditionsByRule with the
// parameters Debian's Chromium (148) requires: it still takes "offline"
// beside the rules and answers "Invalid parameters" without it, while
// cdproto follows the newer protocol, where offline moved into each rule.
// Newer Chromium ignores the extra field.
var emulateByRule = cdp.Command[emulateByRuleParams, network.EmulateNetworkConditionsByRuleResult]{Method: network.CommandEmulateNetworkConditionsByRule}

type emulateByRuleParams struct {
	Offline                  bool                  `json:"offline"`
	MatchedNetworkConditions []*network.Conditions `json:"matchedNetworkConditions"`
}

// center is the middle of the element sel, in CSS pixels of the viewport.
func (b *browser) center(sel string) (float64, float64) {
	b.t.Helper()
	xy := strings.Split(b.eval(`(function () { var r = document.querySelector('`+sel+`').getBoundingClientRect(); return (r.left + r.width / 2) + ',' + (r.top + r.height / 2); })()`), ",")
	x, err1 := strconv.ParseFloat(xy[0], 64)
	y, err2 := strconv.ParseFloat(xy[1], 64)
	if err1 != nil || err2 != nil {
		b.t.Fatalf("center of %s: %v", sel, xy)
	}
	return x, y
}

// until waits up to d for the JavaScript condition js, and fails the test
// with what the page says if it never holds. It asks every 100 ms: a
// navigation in between (the set-up page leaving for the authenticator)
// only fails one attempt.
func (b *browser) until(js string, d time.Duration, what string) {
	b.t.Helper()
	end := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(end) {
			page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + ': ' + document.body.innerText`))
			b.t.Fatalf("%s (%v); the phone shows %s", what, err, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// comeBack is the person switching to another app and back to this one:
// the page goes hidden, then visible. Headless Chromium keeps a tab
// visible whatever happens, so the page is told so as a phone would tell
// it: document.hidden changes and visibilitychange fires.
func (b *browser) comeBack() {
	b.t.Helper()
	b.eval(`(function () {
  var hidden = true;
  Object.defineProperty(document, 'hidden', { configurable: true, get: function () { return hidden; } });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return hidden ? 'hidden' : 'visible'; } });
  document.dispatchEvent(new Event('visibilitychange'));
  hidden = false;
  document.dispatchEvent(new Event('visibilitychange'));
  return '';
})()`)
}

// TestWebClient_DoubleTapSetsUpOnce: on a slow connection a person taps
// "Set up this phone" and, seeing nothing happen, taps again. The first
// tap's POST spends the code and replaces the old phone; the browser used
// to drop its answer for the second POST's, "This phone was not set up:
// this code could not be used", with nothing stored: a spent code, a dead
// old phone and no new one. One tap sends one POST.
func TestWebClient_DoubleTapSetsUpOnce(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	phone.slowNetwork(700)
	x, y := phone.center("#setup-phone")
	phone.do(chromedp.TapXY(x, y))
	time.Sleep(250 * time.Millisecond)
	phone.do(chromedp.TapXY(x, y))
	phone.until(`location.pathname === '/userportal/app/' && !document.getElementById('pin-view').hidden`, 15*time.Second,
		"after two quick taps the phone is not set up")
	u, err := w.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if st := parseStored(t, phone.stored()); st.N != 100 || st.ID != u.DeviceID {
		t.Fatalf("stored %+v, want 100 strings of alice's device %s", st, u.DeviceID)
	}
}

// TestWebClient_BackToProvisionPageAfterSetUp: after set-up the back
// button leads to the Provision URL page, whose button invites a tap that
// can only fail ("This phone was not set up"), though the phone is set
// up. The page says it is, and where the codes are.
func TestWebClient_BackToProvisionPageAfterSetUp(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	w.addUser(t, "bob", "2468", "")
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	if !phone.hidden("already") {
		t.Fatal("a phone never set up is told it is")
	}
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")

	// The back button; after this evaluation has answered, so its answer
	// does not race the navigation.
	phone.eval(`setTimeout(function () { history.back(); }, 0); ''`)
	phone.until(`location.pathname === '/userportal/provision' && document.getElementById('already') && !document.getElementById('already').hidden`, 10*time.Second,
		"back on the Provision URL page after set-up")
	// Read from script: the page came back from the back-forward cache,
	// and chromedp's Text waits on a DOM tree it did not see return.
	if got := phone.shownText("#already"); !strings.HasPrefix(got, "This phone is already set up for alice.") {
		t.Fatalf("the page says %q", got)
	}
	if got := phone.eval(`document.querySelector('#already a').getAttribute('href')`); got != "/userportal/app/" {
		t.Fatalf("the link goes to %q, want the authenticator", got)
	}
	if got := phone.eval(`String(document.getElementById('setup-phone').disabled)`); got != "false" {
		t.Fatal("the button stays disabled after coming back")
	}

	// Another user's link on the same browser says nothing of the kind.
	phone.do(chromedp.Navigate(w.code(t, "bob").URL))
	phone.visible("#setup-phone")
	time.Sleep(300 * time.Millisecond) // the check reads IndexedDB
	if !phone.hidden("already") {
		t.Fatal("bob's link says the phone is set up for him")
	}
}

// TestWebClient_LongUsernameFitsAt320: usernames may have 64 characters
// without a space (an email address, firstname.lastname plus a
// department). On a 320 px phone such a name, and the Provision URL
// page's 320 px QR code, used to push the page sideways: the button's
// note, the settings table and the authenticator's header ran off the
// screen.
func TestWebClient_LongUsernameFitsAt320(t *testing.T) {
	st := storetest.MustOpen(t)
	w := newWorldOn(t, st, time.Millisecond, func(o *agentxml.Options) { o.QRPNG = qr.PNG })
	long := "maximilian.alexander.featherstonehaugh.cholmondeley.finance.ops"
	if len(long) > 64 {
		t.Fatalf("test name has %d characters", len(long))
	}
	w.addUser(t, long, "9132", "")
	ic := w.code(t, long)
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(320, 640, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	fits := func(where string) {
		t.Helper()
		if got := phone.eval(`document.documentElement.scrollWidth + ' ' + window.innerWidth`); got != "320 320" {
			t.Errorf("%s at 320 px: page width and viewport %s, want 320 320 (nothing off screen)", where, got)
		}
	}
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	fits("Provision URL page")
	phone.eval(`document.getElementById('installed-app').open = true; ''`)
	phone.until(`document.querySelector('#installed-app img').complete`, 5*time.Second, "the QR code loads")
	fits("Provision URL page with the installed-app settings open")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	fits("the authenticator")
}

// tab is another tab of the same phone's browser: the same storage, as
// an Android phone's installed app and its Chrome tabs share it.
func (b *browser) tab() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	nb := &browser{t: b.t, ctx: ctx}
	nb.do(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	return nb
}

// otc taps the PIN into the pad and returns the one-time code shown.
func (b *browser) otc(pin string) string {
	b.t.Helper()
	b.do(pinTaps(pin)...)
	b.visible("#otc-box")
	return b.text("#otc")
}

// TestWebClient_TwoTabsShareOneSetOfStrings: two tabs of the
// authenticator share one stored record (an Android phone's installed app
// and a Chrome tab of the same address, or a tab left open). Coming back
// to a tab used to show what that tab remembered: an index the other tab
// had already shown and the VPN had accepted (a code that fails), and
// after the other tab downloaded a new set, the old strings, written back
// over the new ones so every code failed until the next download. Coming
// back reads the stored record again.
func TestWebClient_TwoTabsShareOneSetOfStrings(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")
	a := newBrowser(t, budget(t))
	a.do(chromedp.Navigate(ic.URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	a.visible("#pin-view")
	if got := a.text("#pin-index"); got != "00" {
		t.Fatalf("first tab shows index %s, want 00", got)
	}

	b := a.tab()
	b.do(chromedp.Navigate(w.url + "/userportal/app/"))
	b.visible("#pin-view")
	if got := b.text("#pin-index"); got != "01" {
		t.Fatalf("second tab shows index %s, want 01", got)
	}
	if res, _, err := w.agent.Login("alice", b.otc("9132")); err != nil || res != "PASS" {
		t.Fatalf("login with the second tab's code: %s %v", res, err)
	}

	// Back to the first tab: a code the VPN has not seen.
	a.comeBack()
	a.until(`document.getElementById('pin-index').textContent === '02'`, 5*time.Second, "the first tab, shown again, shows index 02")
	if res, _, err := w.agent.Login("alice", a.otc("9132")); err != nil || res != "PASS" {
		t.Fatalf("login with the first tab's code after coming back: %s %v", res, err)
	}

	// The second tab downloads a new set (few strings left).
	b.eval(`ProvisioStore.load().then(function (s) { s.next = 95; return ProvisioStore.save(s); }).then(function () { return ''; })`)
	b.do(chromedp.Reload())
	b.until(`document.getElementById('status').textContent.indexOf('New security strings downloaded') >= 0`, 10*time.Second, "the second tab downloads new strings")
	fresh := b.eval(`ProvisioStore.load().then(function (s) { return s.strings[0]; })`)

	a.comeBack()
	a.until(`document.getElementById('pin-index').textContent === '01'`, 5*time.Second, "the first tab, shown again, shows index 01 of the new set")
	if got := a.eval(`ProvisioStore.load().then(function (s) { return s.strings[0]; })`); got != fresh {
		t.Fatal("the first tab wrote its old strings over the new set")
	}
	if res, _, err := w.agent.Login("alice", a.otc("9132")); err != nil || res != "PASS" {
		t.Fatalf("login with the first tab's code after the other tab's download: %s %v", res, err)
	}
}

// TestWebClient_ComingBackChecksTheServer: a phone keeps the
// authenticator in memory for days; switching back to it is how people
// open it. It used to check with the server only when the page loaded:
// back online, it still said "Offline", and a phone the administrator had
// removed kept showing codes that fail. Coming back checks, as opening
// does.
func TestWebClient_ComingBackChecksTheServer(t *testing.T) {
	w := newWorld(t)
	phone, addr := phoneThenServerGone(t, w)
	phone.do(chromedp.Reload())
	phone.visible("#string-view")
	if got := phone.text("#status"); !strings.Contains(got, "Offline") {
		t.Fatalf("status = %q, want it to say offline", got)
	}
	if err := w.srv.Open(addr); err != nil {
		t.Fatal(err)
	}
	phone.comeBack()
	phone.until(`document.getElementById('status').textContent.indexOf('Offline') < 0`, 10*time.Second, "back online, the page stops saying offline")

	if err := w.svc.RevokeDevice("carol"); err != nil {
		t.Fatal(err)
	}
	phone.comeBack()
	phone.until(`!document.getElementById('banner').hidden`, 10*time.Second, "coming back to a removed phone shows the banner")
	if !phone.hidden("auth") {
		t.Fatal("a removed phone still shows codes")
	}
}

// TestWebClient_RemovedPhoneSaysSo: a phone the administrator removed
// (Revoke device, or the user deleted) is told so; the banner used to
// say only that the account "was set up on another device", which sent
// the person looking for a phone that does not exist.
func TestWebClient_RemovedPhoneSaysSo(t *testing.T) {
	_, phone := removedPhone(t, nil)
	got := phone.text("#banner")
	if !strings.Contains(got, "your administrator removed this phone") || !strings.Contains(got, "so these codes no longer work") {
		t.Fatalf("banner for a removed phone = %q", got)
	}
}

// TestWebClient_PINPadFitsWithLargeText: with large text (iOS scales the
// page's rem with Larger Text: here the root font at 200%) on a 320 px
// phone, the PIN pad's third column, OK included, used to sit off screen
// behind a sideways scroll, as did a long support address. The mode
// switch and Previous/Next stay on screen too.
func TestWebClient_PINPadFitsWithLargeText(t *testing.T) {
	w := newWorld(t)
	for _, k := range []string{"policy.mobile.allow_choose_extraction", "policy.mobile.allow_browse_strings"} {
		if err := w.svc.SetSetting(k, "Yes"); err != nil {
			t.Fatal(err)
		}
	}
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(320, 640, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	phone.eval(`document.documentElement.style.fontSize = '200%'; ''`)
	off := phone.eval(`(function () {
  var out = [];
  document.querySelectorAll('.pad button, .modes button, .row button, #support a').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width === 0) return;
    if (r.left < 0 || r.right > 320 || (e.tagName === 'BUTTON' && r.height < 44)) out.push(e.textContent.trim() + ' ' + Math.round(r.left) + '-' + Math.round(r.right) + ' x' + Math.round(r.height));
  });
  return out.join(', ');
})()`)
	if off != "" {
		t.Errorf("at 320 px with large text these are off screen (or buttons under 44 px): %s", off)
	}
	if got := phone.eval(`document.documentElement.scrollWidth + ''`); got != "320" {
		t.Errorf("the page is %s px wide at 320 px with large text", got)
	}
	// The pad still works.
	if otc := phone.otc("9132"); len(otc) != 6 {
		t.Fatalf("OTC = %q", otc)
	}
}

// TestWebClient_LoadEndingAfterTheTapKeepsTheButtonOff: the button's
// "sent" guard was reset by every pageshow, including the one a page
// fires when it finishes loading; a page that finished loading while the
// tap's storage check ran turned the button back on, and a second tap
// sent the code again. Only a return from the back-forward cache
// (persisted) turns it back on.
func TestWebClient_LoadEndingAfterTheTapKeepsTheButtonOff(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	// A storage check that takes a while, as on a slow phone.
	phone.eval(`(function () { var probe = ProvisioStore.probe; ProvisioStore.probe = function () { return new Promise(function (r) { setTimeout(r, 800); }).then(probe); }; })(); ''`)
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.eval(`window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: false})); ''`)
	if got := phone.eval(`String(document.getElementById('setup-phone').disabled)`); got != "true" {
		t.Fatal("the page's load ending during the storage check turned the button back on, inviting a second tap")
	}
	phone.until(`location.pathname === '/userportal/app/' && !document.getElementById('pin-view').hidden`, 15*time.Second,
		"the phone is set up")
}

// TestWebClient_AppSetUpSaysItIsWorking: on a slow connection the
// authenticator's own "Set up this phone" button was turned off and
// looked just as before, while "Provisioning. Please wait..." appeared in
// the status line at the top of the page, off screen once the person had
// scrolled down to the button (always, with the keyboard up). The button
// says it, as the Provision URL page's does, and reads as before once the
// answer came.
func TestWebClient_AppSetUpSaysItIsWorking(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	phone.slowNetwork(1500)
	phone.setUpInApp("alice", "WRONG234")
	phone.until(`document.getElementById('setup-submit').disabled`, 5*time.Second, "the button turns off while the code is sent")
	if got := phone.text("#setup-submit"); got != "Provisioning. Please wait..." {
		t.Errorf("while the code is on its way the button reads %q", got)
	}
	phone.until(`!document.getElementById('setup-problem').hidden && !document.getElementById('setup-submit').disabled`, 10*time.Second, "the refused code's sentence")
	if got := phone.text("#setup-submit"); got != "Set up this phone" {
		t.Errorf("after the answer the button reads %q", got)
	}
}
