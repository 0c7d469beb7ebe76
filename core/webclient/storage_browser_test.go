package webclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"provisio/core/agentxml/agentxmltest"
)

// Browsers whose storage cannot keep the strings, and browsers that will
// not promise to keep them.

// initScript runs js at the start of every page b opens from now on, as
// a browser's own behaviour would be there before the page's scripts.
// Call it before the navigation it should affect.
func (b *browser) initScript(js string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	}))
}

// brokenStorage is how browsers refuse IndexedDB: private windows of
// older browsers, storage blocked in the settings, a full disk.
var brokenStorage = []struct{ name, js string }{
	{"open fails", `IDBFactory.prototype.open = function () {
  var req = { error: new DOMException('The user denied permission to access the database.', 'UnknownError') };
  setTimeout(function () { if (req.onerror) req.onerror({ target: req }); }, 0);
  return req;
};`},
	{"no IndexedDB", `Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });`},
	{"open never answers", `IDBFactory.prototype.open = function () { return {}; };`},
	{"writes fail", `(function () {
  var put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function () {
    var req = put.apply(this, arguments);
    this.transaction.abort();
    return req;
  };
})();`},
}

// storingFails lets IndexedDB open, read and write, except the record of
// a set-up phone: storage that fails between the code's POST and keeping
// its answer (a quota reached at that moment).
const storingFails = `(function () {
  var put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value) {
    var req = put.apply(this, arguments);
    if (value && value.deviceId) this.transaction.abort();
    return req;
  };
})();`

// oldPhone sets alice up on another phone (an installed app) and returns
// its device Id, which a spent code would replace.
func oldPhone(t *testing.T, w *world) string {
	t.Helper()
	mc, err := agentxmltest.NewMobileClient(w.code(t, "alice").URL, w.fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Provision("iOS 18"); err != nil {
		t.Fatal(err)
	}
	u, err := w.svc.User("alice")
	if err != nil || u.DeviceID == "" {
		t.Fatalf("alice's first phone: %+v %v", u, err)
	}
	return u.DeviceID
}

// codeKept fails the test when alice's code was spent or her old phone
// replaced.
func codeKept(t *testing.T, w *world, oldID string) {
	t.Helper()
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() {
		t.Error("the code was spent")
	}
	if u, _ := w.svc.User("alice"); u.DeviceID != oldID {
		t.Error("the old phone was replaced")
	}
}

const cannotKeep = "This browser cannot keep the security strings (private browsing, or storage turned off, does this), so your code was not used. Open this page in a normal tab or the browser's normal window, not a private one, and set up there."

// TestWebClient_NoStorageKeepsTheCode: in a browser whose IndexedDB does
// not work, "Set up this phone" used to send the code all the same: the
// server spent it and replaced the old phone, and the browser kept
// nothing. The page now tries a record first and, when it cannot keep
// one, sends nothing and says why and what to do; the code and the old
// phone keep working. Both taps that redeem a code: the Provision URL
// page's button and the authenticator's own form.
func TestWebClient_NoStorageKeepsTheCode(t *testing.T) {
	for _, bs := range brokenStorage {
		t.Run("provision page, "+bs.name, func(t *testing.T) {
			w := newWorld(t)
			w.addUser(t, "alice", "9132", "")
			old := oldPhone(t, w)
			ic := w.code(t, "alice")
			phone := newBrowser(t, budget(t))
			phone.initScript(bs.js)
			phone.do(chromedp.Navigate(ic.URL))
			phone.visible("#setup-phone")
			phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
			phone.until(`document.getElementById('setup-problem') && !document.getElementById('setup-problem').hidden`, 15*time.Second,
				"the page says this browser cannot keep the strings")
			if got := strings.Join(strings.Fields(phone.text("#setup-problem")), " "); got != cannotKeep {
				t.Errorf("the page says %q", got)
			}
			if !strings.Contains(phone.location(), "/userportal/provision") {
				t.Errorf("the phone left for %s", phone.location())
			}
			if got := phone.eval(`String(document.getElementById('setup-phone').disabled)`); got != "false" {
				t.Error("the button stays disabled")
			}
			codeKept(t, w, old)
		})
	}
	t.Run("authenticator form", func(t *testing.T) {
		w := newWorld(t)
		w.addUser(t, "alice", "9132", "")
		old := oldPhone(t, w)
		ic := w.code(t, "alice")
		phone := newBrowser(t, budget(t))
		phone.initScript(brokenStorage[0].js)
		phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
		phone.visible("#setup-form")
		phone.setUpInApp("alice", ic.Code)
		phone.visible("#setup-problem")
		if got := strings.Join(strings.Fields(phone.text("#setup-problem")), " "); got != cannotKeep {
			t.Errorf("the form says %q", got)
		}
		if got := phone.eval(`document.getElementById('setup-code').value`); got != ic.Code {
			t.Errorf("the code field holds %q, want the code typed", got)
		}
		codeKept(t, w, old)
	})
}

// TestWebClient_StoringFailsAfterSetUpSaysWhatToDo: the server has spent
// the code and the browser then fails to keep the answer. The page used
// to say to open the link again (its code is spent) or nothing useful;
// it says the code was used, that this phone is not set up and the old
// one no longer works, and where a new code comes from.
func TestWebClient_StoringFailsAfterSetUpSaysWhatToDo(t *testing.T) {
	want := []string{
		"Your code was used, but this browser did not keep the security strings",
		"so this phone is not set up and your previous phone, if any, no longer works",
		"get a new code from the self-service page or your helpdesk",
	}
	check := func(t *testing.T, got string) {
		t.Helper()
		got = strings.Join(strings.Fields(got), " ")
		for _, s := range want {
			if !strings.Contains(got, s) {
				t.Errorf("the phone says %q, without %q", got, s)
			}
		}
	}
	t.Run("provision page", func(t *testing.T) {
		w := newWorld(t)
		w.addUser(t, "alice", "9132", "")
		phone := newBrowser(t, budget(t))
		phone.initScript(storingFails)
		phone.do(chromedp.Navigate(w.code(t, "alice").URL))
		phone.visible("#setup-phone")
		phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
		phone.until(`location.pathname === '/userportal/setup' && document.getElementById('message').className === 'problem'`, 10*time.Second,
			"the page says the strings were not kept")
		check(t, phone.text("#message"))
		if got := phone.text("h1"); got != "This phone was not set up" {
			t.Errorf("the page is headed %q", got)
		}
		phone.visible(`a[href="/userportal/"]`)
	})
	t.Run("authenticator form", func(t *testing.T) {
		w := newWorld(t)
		w.addUser(t, "alice", "9132", "")
		phone := newBrowser(t, budget(t))
		phone.initScript(storingFails)
		phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
		phone.visible("#setup-form")
		phone.setUpInApp("alice", w.code(t, "alice").Code)
		phone.visible("#setup-problem")
		check(t, phone.text("#setup-problem"))
	})
}

// persistAnswers makes navigator.storage.persist() answer ok, as a
// browser that grants (true) or refuses (false) to keep the site's
// storage under pressure.
func persistAnswers(ok bool) string {
	v := "false"
	if ok {
		v = "true"
	}
	return `StorageManager.prototype.persist = function () { return Promise.resolve(` + v + `); };`
}

// TestWebClient_PersistRefusedHint: a browser that refuses to keep the
// storage (Safari deletes a site's data after seven days of use without
// a visit) may lose the strings; the app used to ignore the refusal.
// When refused outside an installed app it advises installing it, once:
// dismissed, the advice stays away. Granted, there is no advice.
func TestWebClient_PersistRefusedHint(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	w.addUser(t, "bob", "2468", "")

	refused := newBrowser(t, budget(t))
	refused.initScript(persistAnswers(false))
	refused.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	refused.visible("#pin-view")
	refused.visible("#install")
	got := strings.Join(strings.Fields(refused.text("#install")), " ")
	if !strings.Contains(got, "Install app") || !strings.Contains(got, "Add to Home screen") {
		t.Errorf("the advice says %q", got)
	}
	refused.do(chromedp.Tap(chromedp.CSS("#install-dismiss")))
	refused.until(`document.getElementById('install').hidden`, 5*time.Second, "the advice goes away when dismissed")
	for _, again := range []string{"reload", "come back"} {
		if again == "reload" {
			refused.do(chromedp.Reload())
		} else {
			refused.comeBack()
		}
		refused.visible("#pin-view")
		time.Sleep(500 * time.Millisecond) // persist() answers
		if !refused.hidden("install") {
			t.Errorf("after %s the dismissed advice shows again", again)
		}
	}

	granted := refused.another()
	granted.initScript(persistAnswers(true))
	granted.do(chromedp.Navigate(w.code(t, "bob").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	granted.visible("#pin-view")
	time.Sleep(500 * time.Millisecond) // persist() answers
	if !granted.hidden("install") {
		t.Error("a browser that keeps the storage is told to install the app")
	}
}
