package webclient_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The empty authenticator's next step: which of its two ways on leads,
// and what it says when neither can work.

// emptySteps describes the ways on the empty authenticator shows: the ids
// of its links and buttons on screen that wear the primary look (the
// accent's background), space-separated; the id of the largest of them
// all; and whether the first primary one spans the section and is at
// least 44 px tall ("" when it does, or when none is primary).
func (b *browser) emptySteps() (primary, largest, size string) {
	b.t.Helper()
	out := strings.Split(b.eval(`(function () {
  var probe = document.createElement('span');
  probe.style.background = 'var(--accent)';
  document.body.appendChild(probe);
  var accent = getComputedStyle(probe).backgroundColor;
  probe.remove();
  var prim = [], big = '', area = 0, size = '';
  var section = document.getElementById('empty').getBoundingClientRect();
  document.querySelectorAll('#empty a, #empty button').forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width === 0) return;
    if (r.width * r.height > area) { area = r.width * r.height; big = e.id || e.textContent.trim(); }
    if (getComputedStyle(e).backgroundColor !== accent) return;
    if (!prim.length && (Math.abs(r.width - section.width) > 1 || r.height < 44)) size = r.width.toFixed(0) + 'x' + r.height.toFixed(0) + ' px in a ' + section.width.toFixed(0) + ' px column';
    prim.push(e.id || e.textContent.trim());
  });
  return prim.join(' ') + '|' + big + '|' + size;
})()`), "|")
	return out[0], out[1], out[2]
}

// leads waits until the empty authenticator's one primary way on is the
// element id (none for ""), as the page settles after its reachability
// check, and checks that it is the largest, spans the column and is
// tall enough to tap.
func (b *browser) leads(id, where string) {
	b.t.Helper()
	var primary, largest, size string
	end := time.Now().Add(10 * time.Second)
	for {
		primary, largest, size = b.emptySteps()
		if primary == id || time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if primary != id {
		b.t.Fatalf("%s: the primary way on is %q, want %q", where, primary, id)
	}
	if id != "" && largest != id {
		b.t.Errorf("%s: the largest way on is %q, not the primary %q", where, largest, id)
	}
	if size != "" {
		b.t.Errorf("%s: the primary %q is %s", where, id, size)
	}
}

// TestWebClient_EmptyAuthenticatorLeadsWithNewCode: a person whose
// strings were deleted was told so, with "Get a new provision code" as
// a text link, while the largest button on the screen was the code
// form's "Set up this phone", for a code the person no longer has. When
// the page knows the phone's strings are gone (deleted while it was
// open, forgotten here, or the phone replaced or removed), the new code
// is the one primary, full-width button and the form is secondary; a
// page that was never set up (or cannot tell) keeps the form first.
func TestWebClient_EmptyAuthenticatorLeadsWithNewCode(t *testing.T) {
	t.Run("never set up", func(t *testing.T) {
		w := newWorld(t)
		phone := newBrowser(t, budget(t))
		phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
		phone.visible("#setup-form")
		phone.leads("setup-submit", "a page never set up")
		// The check that the server is there has come back: it says
		// nothing when it is.
		phone.eval(`new Promise(function (r) { setTimeout(function () { r(''); }, 500); })`)
		if !phone.hidden("empty-offline") {
			t.Errorf("online, the page says %q", phone.text("#empty-offline"))
		}
	})
	t.Run("removed", func(t *testing.T) {
		_, phone := removedPhone(t, nil)
		phone.leads("new-code", "a removed phone")
		if where := phone.onFirstScreen("#new-code"); where != "" {
			t.Errorf("a removed phone's new code is not on the first screen: %s", where)
		}
	})
	t.Run("deleted while open", func(t *testing.T) {
		w := newWorld(t)
		w.addUser(t, "alice", "9132", "")
		phone := newBrowser(t, budget(t))
		phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
		phone.visible("#pin-view")
		phone.clearSiteData(origin(t, w))
		phone.comeBack()
		phone.until(`!document.getElementById('empty-intro').hidden`, 10*time.Second, "the page, shown again, says the strings are gone")
		phone.leads("new-code", "strings deleted under the open page")
		if where := phone.onFirstScreen("#new-code"); where != "" {
			t.Errorf("the new code is not on the first screen: %s", where)
		}
		// The person has a code after all: the form still sets the
		// phone up, and the page shows codes again.
		phone.setUpInApp("alice", w.code(t, "alice").Code)
		phone.visible("#pin-view")
		// Forgotten here: the page knows a new code is needed.
		phone.do(chromedp.Tap(chromedp.CSS("#forget")), chromedp.WaitVisible(chromedp.CSS("#forget-yes")),
			chromedp.Tap(chromedp.CSS("#forget-yes")), chromedp.WaitVisible(chromedp.CSS("#empty")))
		phone.leads("new-code", "a forgotten phone")
	})
}

// TestWebClient_EmptyAuthenticatorOffline: away from the office network
// the empty authenticator's "Get a new provision code" opened the
// browser's error page (the self-service page is not kept on the phone),
// and the page did not say so. When the server cannot be reached the
// page says, above that link, that a new code (and setting up with one)
// needs the office network or VPN, and the link is not the primary step;
// once the server answers again, it is.
func TestWebClient_EmptyAuthenticatorOffline(t *testing.T) {
	const sentence = "This phone cannot reach the server now: getting a new provision code, or setting up with one, needs the office network or VPN."
	offline := func(phone *browser, where string) {
		t.Helper()
		phone.until(`!document.getElementById('empty-offline').hidden`, 10*time.Second, where+": the page says the server cannot be reached")
		if got := phone.text("#empty-offline"); got != sentence {
			t.Errorf("%s: the page says %q", where, got)
		}
		if above := phone.eval(`String(document.getElementById('empty-offline').getBoundingClientRect().bottom <= document.getElementById('new-code').getBoundingClientRect().top)`); above != "true" {
			t.Errorf("%s: the sentence is not above the link it is about", where)
		}
		if where := phone.onFirstScreen("#empty-offline"); where != "" {
			t.Errorf("the sentence is not on the first screen: %s", where)
		}
	}

	t.Run("deleted while open", func(t *testing.T) {
		w := newWorld(t)
		phone, addr := phoneThenServerGone(t, w)
		phone.clearSiteData(origin(t, w))
		phone.comeBack()
		phone.until(`!document.getElementById('empty-intro').hidden`, 10*time.Second, "the page, shown again, says the strings are gone")
		offline(phone, "strings deleted, server gone")
		phone.leads("", "strings deleted, server gone")

		if err := w.srv.Open(addr); err != nil {
			t.Fatal(err)
		}
		phone.comeBack()
		phone.leads("new-code", "strings deleted, server back")
		if !phone.hidden("empty-offline") {
			t.Errorf("with the server back the page still says %q", phone.text("#empty-offline"))
		}
	})
	t.Run("removed", func(t *testing.T) {
		// Its copy kept for offline use first: it is opened from it below.
		w, phone := removedPhone(t, func(phone *browser) {
			if got := phone.eval(`navigator.serviceWorker.ready.then(function () { return 'ready'; })`); got != "ready" {
				t.Fatalf("service worker: %s", got)
			}
		})
		addr := w.srv.Addr().String()
		if err := w.srv.Close(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := w.srv.Open(addr); err != nil {
				t.Error(err)
			}
		})
		// Opened from the phone's copy, away from the office.
		phone.do(chromedp.Reload())
		phone.visible("#banner")
		offline(phone, "a removed phone, server gone")
		phone.leads("", "a removed phone, server gone")
	})
	t.Run("never set up", func(t *testing.T) {
		w := newWorld(t)
		phone := newBrowser(t, budget(t))
		phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
		phone.visible("#setup-form")
		addr := w.srv.Addr().String()
		if err := w.srv.Close(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := w.srv.Open(addr); err != nil {
				t.Error(err)
			}
		})
		phone.comeBack()
		offline(phone, "never set up, server gone")
		// Today's order stays: the page cannot tell a code is needed.
		phone.leads("setup-submit", "never set up, server gone")
	})
}
