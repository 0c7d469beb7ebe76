package webclient_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestWebClient_SetUpButtonWaitsForItsScript: the Provision URL page's
// button is what checks the browser can keep the strings and sends one
// POST for two taps (provision.js). A tap before that script has run (a
// slow connection) or in a browser with JavaScript off posted the form
// all the same: the code was spent, the old phone stopped, and the answer
// page, whose own script keeps the strings, kept nothing. The button
// starts disabled, the script turns it on, and without scripts the page
// says why and what else to do.
func TestWebClient_SetUpButtonWaitsForItsScript(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")

	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	// Evaluation runs even with the page's scripts off.
	if got := phone.eval(`String(document.getElementById('setup-phone').disabled)`); got != "true" {
		t.Fatal("without its script the set-up button can be tapped")
	}
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	time.Sleep(500 * time.Millisecond)
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() {
		t.Fatal("a tap without the page's script spent the code")
	}
	if got := phone.eval(`document.body.innerText`); !strings.Contains(got, "needs JavaScript") {
		t.Fatalf("without scripts the page does not say why the button is off:\n%s", got)
	}

	// With scripts on, the button works, and the notice is not shown.
	on := phone.another()
	on.do(chromedp.Navigate(ic.URL))
	on.visible("#setup-phone")
	on.until(`!document.getElementById('setup-phone').disabled`, 10*time.Second, "the script turns the button on")
	if got := on.eval(`document.body.innerText`); strings.Contains(got, "needs JavaScript") {
		t.Fatal("the no-script notice shows with scripts on")
	}
	on.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	on.visible("#pin-view")
}

// TestWebClient_AuthenticatorSaysItNeedsJavaScript: the authenticator is
// drawn by its script; with JavaScript off (a Home Screen copy opened
// after the setting changed, the set-up answer's "Open the authenticator"
// link) it showed its heading and nothing else, not a word of why. It
// says what is missing and what to do, and says nothing of it with
// scripts on.
func TestWebClient_AuthenticatorSaysItNeedsJavaScript(t *testing.T) {
	w := newWorld(t)
	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("h1")
	if got := phone.eval(`document.body.innerText`); !strings.Contains(got, "needs JavaScript") || !strings.Contains(got, "Turn JavaScript on") {
		t.Fatalf("with JavaScript off the authenticator does not say why it is empty:\n%s", got)
	}

	on := phone.another()
	on.do(chromedp.Navigate(w.url + "/userportal/app/"))
	on.visible("#setup-form")
	if got := on.eval(`document.body.innerText`); strings.Contains(got, "needs JavaScript") {
		t.Fatalf("the no-script notice shows with scripts on:\n%s", got)
	}
}
