package webclient_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// The phone user's journeys of 1 December: the code on a small screen,
// codes the browser deleted, a phone the administrator removed, and a
// mailed code that expired before the tap.

// mailbox turns self-service on in w and delivers its mail to a loopback
// SMTP server; deliver sends the outbox and returns the Provision URL of
// the n-th message (1-based) there.
func (w *world) mailbox(t *testing.T, ctx context.Context) (deliver func(n int) string) {
	t.Helper()
	capture, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capture.Close() })
	for _, kv := range [][2]string{
		{"policy.selfreset.allow_self_provision", "Yes"},
		{"smtp.host", capture.Host()},
		{"smtp.port", strings.TrimPrefix(capture.Addr()[strings.LastIndex(capture.Addr(), ":"):], ":")},
		{"smtp.security", "none"},
		{"smtp.from", "provisio@example.org"},
	} {
		if err := w.svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatalf("set %s: %v", kv[0], err)
		}
	}
	worker := &mailer.Worker{Service: w.svc, QRPNG: func(s string) ([]byte, error) { return qr.PNG(s, 300) }}
	return func(n int) string {
		t.Helper()
		w.settled() // the code and its mail are committed
		if err := worker.Flush(ctx); err != nil {
			t.Fatalf("deliver the outbox: %v (%s)", err, mailer.Describe(err))
		}
		msgs, err := capture.Wait(n, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		text := plainText(t, msgs[n-1].Data)
		link := regexp.MustCompile(`https://\S+/userportal/provision\?\S+`).FindString(text)
		if link == "" {
			t.Fatalf("no Provision URL in the mail:\n%s", text)
		}
		return link
	}
}

// clearSiteData deletes everything this browser keeps for the server's
// origin (IndexedDB, the service worker and its cache), as Safari does
// after seven days of use without a visit, or a person clearing the
// browser's data.
func (b *browser) clearSiteData(origin string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: origin, StorageTypes: "all"})
		return err
	}))
}

// onFirstScreen is "" when the element sel is shown entirely within the
// viewport, without scrolling; otherwise where it is.
func (b *browser) onFirstScreen(sel string) string {
	b.t.Helper()
	return b.eval(`(function () {
  var e = document.querySelector('` + sel + `');
  if (!e) return 'not on the page';
  var r = e.getBoundingClientRect();
  if (r.height === 0) return 'not shown';
  if (r.top >= 0 && r.bottom <= window.innerHeight + 0.5) return '';
  return 'at ' + Math.round(r.top) + '-' + Math.round(r.bottom) + ' px of a ' + window.innerHeight + ' px screen';
})()`)
}

// shownText is the text of the element sel, or "(none)" when the page has
// none: chromedp's Text would wait for it until the test's deadline.
func (b *browser) shownText(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.eval(`(function () { var e = document.querySelector('` + sel + `'); return e ? e.textContent : '(none)'; })()`))
}

// TestWebClient_OneTimeCodeInView: on a small phone (an iPhone SE's Safari
// tab leaves 375×548 CSS px to the page) the one-time code appeared below
// the PIN pad, under the bottom of the screen: after OK nothing seemed to
// happen unless the person thought of scrolling. OK brings the code into
// view.
func TestWebClient_OneTimeCodeInView(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	for _, size := range [][2]int64{{375, 548}, {320, 568}} {
		phone.do(chromedp.EmulateViewport(size[0], size[1], chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
		phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
		phone.visible("#pin-view")
		phone.eval(`window.scrollTo(0, 0); ''`)
		phone.do(pinTaps("9132")...)
		phone.visible("#otc-box")
		otc := phone.text("#otc")
		if len(otc) != 6 {
			t.Fatalf("OTC = %q", otc)
		}
		if where := phone.onFirstScreen("#otc"); where != "" {
			t.Errorf("at %dx%d the one-time code is off screen after OK: %s", size[0], size[1], where)
		}
		if res, _, err := w.agent.Login("alice", otc); err != nil || res != "PASS" {
			t.Fatalf("login with the code on screen: %s %v", res, err)
		}
	}
}

// TestWebClient_LostCodesGetANewOne: the browser deleted the phone's
// codes (Safari does after a week without a visit; here the site's data
// is cleared). The authenticator used to say "This phone is not set up
// yet. Open the provision link your administrator gave you", whose code
// is spent, with the way to a new code two screens down: a helpdesk call.
// It now says what happened and offers a new code on the first screen;
// the person gets one by mail and sets the phone up again, and asking
// too often is told how long to wait (it said "a few minutes" of a
// 15-minute window, so a person trying again after three was refused
// again).
func TestWebClient_LostCodesGetANewOne(t *testing.T) {
	w := newWorld(t)
	ctx := budget(t)
	deliver := w.mailbox(t, ctx)
	w.addUser(t, "alice", "9132", "alice@example.org")
	phone := newBrowser(t, ctx)
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	oldID := parseStored(t, phone.stored()).ID

	phone.clearSiteData(origin(t, w))
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#empty")
	if s := phone.stored(); s != "none" {
		t.Fatalf("after clearing the site's data the phone still holds %s", s)
	}
	intro := phone.shownText("#empty-intro")
	for _, want := range []string{"Have a provision code? Enter it below.", "set up before", "deleted", "get a new one"} {
		if !strings.Contains(intro, want) {
			t.Errorf("the empty authenticator says %q, want it to mention %q", intro, want)
		}
	}
	if got := phone.shownText(`#empty a[href="/userportal/"]`); got != "Get a new provision code" {
		t.Errorf("the link to self-service reads %q", got)
	}
	if where := phone.onFirstScreen(`#empty a[href="/userportal/"]`); where != "" {
		t.Errorf("the way to a new code is not on the first screen: %s", where)
	}

	// Self-service: the code comes by mail; the old link is spent.
	phone.do(chromedp.Tap(chromedp.CSS(`#empty a[href="/userportal/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.Tap(chromedp.CSS("#get-code")),
		chromedp.WaitVisible(chromedp.CSS("#answer")))
	link := deliver(1)
	if strings.Contains(phone.eval(`document.body.innerText`), "code=") {
		t.Fatal("the self-service page shows the code")
	}
	// Asking again and again: the third request for the name still gets
	// the one answer, the fourth is told to wait, and the form stays.
	for i := 2; i <= 4; i++ {
		// The page the form is sent from shows the previous answer
		// already: mark it, and wait for the answer on a page without
		// the mark, loaded to its style sheet, or the next request is
		// typed into this one while the answer is on its way (and lost
		// with it), or tapped where the button was before the page's
		// layout changed.
		phone.eval(`window.sentFrom = true; ''`)
		phone.do(chromedp.SendKeys(chromedp.CSS("#username"), "alice"), chromedp.Tap(chromedp.CSS("#get-code")))
		phone.until(`!window.sentFrom && document.readyState === 'complete' && document.querySelector('#answer, #problem')`, 10*time.Second, "the self-service answer")
	}
	if got := phone.text("#problem"); got != "Too many requests; wait 15 minutes and try again." {
		t.Errorf("the fourth request in a row says %q", got)
	}
	if phone.eval(`String(!!document.getElementById('username') && !document.getElementById('get-code').disabled)`) != "true" {
		t.Error("after too many requests the form is gone")
	}

	phone.do(chromedp.Navigate(link))
	phone.visible("#setup-phone")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	st := parseStored(t, phone.stored())
	if st.N != 100 || st.User != "alice" || st.ID == "" || st.ID == oldID {
		t.Fatalf("after the new code the phone holds %+v (old device %s)", st, oldID)
	}
	if otc := phone.otc("9132"); len(otc) != 6 {
		t.Fatalf("OTC = %q", otc)
	} else if res, _, err := w.agent.Login("alice", otc); err != nil || res != "PASS" {
		t.Fatalf("login with the new set-up's code: %s %v", res, err)
	}
}

// TestWebClient_RemovedPhoneSetsUpAgain: a phone the administrator removed
// was told to "ask for a new code to set it up again", with neither a way
// to ask nor a place to enter one until the person found "Forget this
// phone" at the bottom and confirmed it. The banner now links to a new
// code and the set-up form is under it; a new code sets the phone up
// again in place.
func TestWebClient_RemovedPhoneSetsUpAgain(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	if err := w.svc.RevokeDevice("alice"); err != nil {
		t.Fatal(err)
	}
	phone.do(chromedp.Reload())
	phone.visible("#banner")
	if !phone.hidden("auth") {
		t.Fatal("a removed phone still shows codes")
	}
	if got := phone.text("#banner"); !strings.Contains(got, "your administrator removed this phone") {
		t.Fatalf("banner = %q", got)
	}
	if phone.hidden("setup-form") || phone.hidden("empty") {
		t.Fatal("a removed phone offers no place to enter a new code")
	}
	if !phone.hidden("empty-intro") {
		t.Errorf("a removed phone says %q", phone.text("#empty-intro"))
	}
	if where := phone.onFirstScreen(`#empty a[href="/userportal/"]`); where != "" {
		t.Errorf("the way to a new code is not on the first screen: %s", where)
	}

	if got := phone.eval(`document.getElementById('setup-username').value`); got != "alice" {
		t.Errorf("the set-up form's username = %q, want the phone's user filled in", got)
	}

	ic := w.code(t, "alice")
	phone.setUpInApp("alice", ic.Code)
	phone.until(`!document.getElementById('pin-view').hidden && document.getElementById('banner').hidden`, 15*time.Second,
		"the removed phone is set up again")
	st := parseStored(t, phone.stored())
	u, err := w.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.Replaced || st.ID != u.DeviceID || st.N != 100 {
		t.Fatalf("after the new code the phone holds %+v, alice's device is %s", st, u.DeviceID)
	}
	if !phone.hidden("empty") {
		t.Error("the set-up form stays on a phone that works again")
	}
}

// TestWebClient_ExpiredCodeSaysWhatNext: the mailed code expired before
// the tap (self-service codes last ten minutes). The answer's one way on
// was a link reading "Self-service", which does not say it leads to a
// new code; it now reads "Get a new provision code", and the page links
// the authenticator too (it may be set up already).
func TestWebClient_ExpiredCodeSaysWhatNext(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	w := newWorldSvc(t, storetest.MustServiceOn(t, storetest.MustOpen(t), core.WithClock(clock)), time.Millisecond)
	if err := w.svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "alice", "9132", "alice@example.org")
	ic := w.code(t, "alice")
	clock.Advance(time.Until(ic.Expires) + time.Minute)
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.until(`location.pathname === '/userportal/setup'`, 10*time.Second, "the refused set-up's page")
	if got := phone.text("#message"); !strings.HasPrefix(got, "This code could not be used: it may have been used already, typed wrongly or expired.") {
		t.Fatalf("an expired code says %q", got)
	}
	if got := phone.shownText(`a[href="/userportal/"]`); got != "Get a new provision code" {
		t.Errorf("the way to a new code reads %q", got)
	}
	if where := phone.onFirstScreen(`a[href="/userportal/"]`); where != "" {
		t.Errorf("the way to a new code is not on the first screen: %s", where)
	}
	if got := phone.shownText(`a[href="/userportal/app/"]`); got != "Open the authenticator" {
		t.Errorf("the link to the authenticator reads %q", got)
	}
	phone.do(chromedp.Tap(chromedp.CSS(`a[href="/userportal/"]`)))
	phone.visible("#get-code")
	if strings.Contains(phone.location(), ic.Code) {
		t.Fatal("the code is in the URL")
	}
}

// TestWebClient_PortalNamesTheHelpdesk: with self-service off, a phone
// whose codes are gone reaches "To set up a new phone, ask your helpdesk
// for a provision code." and nothing else: the helpdesk's phone and email
// were in the authenticator's Help section, which an empty phone does not
// have. The page now gives them (Policy → Mobile Client's support phone
// and email) as tap targets, whether or not self-service is on.
func TestWebClient_PortalNamesTheHelpdesk(t *testing.T) {
	w := newWorld(t)
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	for _, self := range []string{"No", "Yes"} {
		if err := w.svc.SetSetting("policy.selfreset.allow_self_provision", self); err != nil {
			t.Fatal(err)
		}
		phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
		phone.visible("#empty")
		phone.do(chromedp.Tap(chromedp.CSS(`#empty a[href="/userportal/"]`)))
		phone.visible("h1")
		if self == "No" {
			if got := phone.shownText("#helpdesk"); got != "To set up a new phone, ask your helpdesk for a provision code." {
				t.Fatalf("self-service off says %q", got)
			}
		}
		for sel, want := range map[string]string{`a[href="tel:+442079460000"]`: "+44 20 7946 0000", `a[href="mailto:help@example.org"]`: "help@example.org"} {
			if got := phone.shownText(sel); got != want {
				t.Errorf("self-service %s: the helpdesk link %s reads %q, want %q", self, sel, got, want)
			}
		}
		if short := phone.shortTargets(`a[href^="tel:"], a[href^="mailto:"]`); short != "" {
			t.Errorf("self-service %s: helpdesk links under 44 px tall: %s", self, short)
		}
		if got := phone.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
			t.Errorf("self-service %s: the page scrolls sideways", self)
		}
	}
	// No helpdesk set: no empty heading.
	for _, k := range []string{"policy.mobile.support_phone", "policy.mobile.support_email"} {
		if err := w.svc.SetSetting(k, ""); err != nil {
			t.Fatal(err)
		}
	}
	phone.do(chromedp.Reload())
	phone.visible("h1")
	if got := phone.eval(`String(!!document.getElementById('support'))`); got != "false" {
		t.Error("with no helpdesk contact the page still has its section")
	}
}

// TestWebClient_SetUpLimitSaysHowLong: the eleventh set-up from one phone
// in 15 minutes is refused; it said "wait a few minutes" of a fixed
// 15-minute window, so a person who tried again after a few was refused
// again. It names the 15 minutes, and the form keeps what was typed.
func TestWebClient_SetUpLimitSaysHowLong(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	for i := 1; i <= 11; i++ {
		phone.setUpInApp("alice", "WRONG234")
		phone.until(`!document.getElementById('setup-problem').hidden && !document.getElementById('setup-submit').disabled`, 10*time.Second, "the refused code's sentence")
		if i < 11 {
			phone.eval(`document.getElementById('setup-problem').hidden = true; ''`)
		}
	}
	if got := phone.text("#setup-problem"); got != "Too many attempts from this phone; wait 15 minutes and try again." {
		t.Errorf("the eleventh set-up says %q", got)
	}
	if got := phone.eval(`document.getElementById('setup-code').value`); got != "WRONG234" {
		t.Errorf("the form lost the code typed: %q", got)
	}
}

// TestWebClient_CodesDeletedWhileAwaySaysOneThing: a phone keeps the
// authenticator's page in memory for days, and Safari deletes the site's
// data after a week without a visit whether or not a tab still shows it
// (as does a person clearing the browser's data). Coming back to the page
// then showed the empty authenticator under what the page had said of
// the stored phone: "Offline: using the strings stored on this phone" (a
// phone away from the office network says so) above "This phone holds no
// security strings", or the banner of a removed phone above it. Only the
// empty authenticator's sentence and its way to a new code remain.
func TestWebClient_CodesDeletedWhileAwaySaysOneThing(t *testing.T) {
	t.Run("offline", func(t *testing.T) {
		w := newWorld(t)
		phone, addr := phoneThenServerGone(t, w)
		t.Cleanup(func() {
			if err := w.srv.Open(addr); err != nil {
				t.Error(err)
			}
		})
		phone.do(chromedp.Reload())
		phone.visible("#string-view")
		if got := phone.text("#status"); !strings.Contains(got, "Offline") {
			t.Fatalf("status = %q, want it to say offline", got)
		}
		phone.clearSiteData(origin(t, w))
		phone.comeBack()
		phone.until(`!document.getElementById('empty').hidden`, 10*time.Second, "the page, shown again, says the strings are gone")
		if got := phone.shownText("#status"); got != "" {
			t.Errorf("over the empty authenticator the status still says %q", got)
		}
		if !phone.hidden("auth") || phone.hidden("empty-intro") {
			t.Error("the page shows codes, or not why there are none")
		}
	})
	t.Run("removed", func(t *testing.T) {
		w, phone := removedPhone(t, nil)
		phone.clearSiteData(origin(t, w))
		phone.comeBack()
		phone.until(`!document.getElementById('empty-intro').hidden`, 10*time.Second, "the page, shown again, says the strings are gone")
		if !phone.hidden("banner") {
			t.Errorf("over the empty authenticator the banner still says %q", phone.text("#banner"))
		}
		if where := phone.onFirstScreen(`#empty a[href="/userportal/"]`); where != "" {
			t.Errorf("the way to a new code is not on the first screen: %s", where)
		}
	})
}

// origin is the scheme and host of w's server, whose site data a browser
// clears.
func origin(t *testing.T, w *world) string {
	t.Helper()
	u, err := url.Parse(w.url)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}
