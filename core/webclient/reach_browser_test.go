package webclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provisio/core/agentxml"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// shortTargets lists the elements sel matched that are on screen and
// under 44 CSS px tall, the smallest target a thumb hits reliably.
func (b *browser) shortTargets(sel string) string {
	b.t.Helper()
	return b.eval(`(function () {
  var out = [];
  document.querySelectorAll('` + sel + `').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width === 0) return;
    if (r.height < 44) out.push('"' + e.textContent.trim() + '" ' + r.height.toFixed(1) + ' px');
  });
  return out.join(', ');
})()`)
}

// TestWebClient_LinksAreTapTargets: the pages' links that stand on their
// own line ("No code? Ask for a provision code", "Open the authenticator
// on this phone", the helpdesk's phone and email) were about 19 px tall,
// a target a thumb misses; each is at least 44 px tall at a 390×844 phone.
func TestWebClient_LinksAreTapTargets(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	check := func(where, sel string, n int) {
		t.Helper()
		if got := phone.eval(`document.querySelectorAll('` + sel + `').length + ''`); got != string(rune('0'+n)) {
			t.Fatalf("%s: %s links matched, want %d", where, got, n)
		}
		if short := phone.shortTargets(sel); short != "" {
			t.Errorf("%s: links under 44 px tall: %s", where, short)
		}
	}

	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	check("the authenticator, not set up", `#empty a[href="/userportal/"]`, 1)

	phone.do(chromedp.Navigate(w.url + "/userportal/"))
	phone.visible("h1")
	check("self-service", `a[href="/userportal/app/"]`, 1)

	// A refused set-up's page links back to self-service.
	ic := w.code(t, "alice")
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	phone.eval(`document.querySelector('input[name=code]').value = 'WRONG234'; ''`)
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.until(`location.pathname === '/userportal/setup'`, 10*time.Second, "the refused set-up's page")
	check("a refused set-up", `a[href="/userportal/"]`, 1)

	phone.do(chromedp.Navigate(w.code(t, "alice").URL))
	phone.visible("#setup-phone")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.until(`location.pathname === '/userportal/app/' && !document.getElementById('support').hidden`, 10*time.Second, "the authenticator shows the help")
	check("the authenticator's help", `#support a`, 2)
}

// TestWebClient_ProvisionPageFitsWithLargeText: with large text (the root
// font at 200%) on a 320 px phone, the settings table under "Use an
// installed app instead" was about 10 px wider than the screen, so the
// Provision URL page scrolled sideways.
func TestWebClient_ProvisionPageFitsWithLargeText(t *testing.T) {
	st := storetest.MustOpen(t)
	w := newWorldOn(t, st, time.Millisecond, func(o *agentxml.Options) { o.QRPNG = qr.PNG })
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.EmulateViewport(320, 640, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.do(chromedp.Navigate(w.code(t, "alice").URL))
	phone.visible("#setup-phone")
	phone.eval(`document.documentElement.style.fontSize = '200%'; document.getElementById('installed-app').open = true; ''`)
	phone.until(`document.querySelector('#installed-app img').complete`, 5*time.Second, "the QR code loads")
	if got := phone.eval(`document.documentElement.scrollWidth + ' ' + window.innerWidth`); got != "320 320" {
		t.Errorf("page width and viewport %s with large text, want 320 320 (nothing off screen)", got)
	}
	off := phone.eval(`(function () {
  var out = [];
  document.querySelectorAll('body *').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && (r.left < 0 || r.right > 320)) out.push(e.tagName + ' "' + e.textContent.trim().slice(0, 20) + '" ' + Math.round(r.left) + '-' + Math.round(r.right));
  });
  return out.join(', ');
})()`)
	if off != "" {
		t.Errorf("off screen at 320 px with large text: %s", off)
	}
	// Every setting is still there to read.
	text := strings.Join(strings.Fields(phone.text("#installed-app table")), " ")
	for _, want := range []string{"Site ID", "Connection type", "Provision code"} {
		if !strings.Contains(text, want) {
			t.Errorf("the settings read %q, without %q", text, want)
		}
	}
}
