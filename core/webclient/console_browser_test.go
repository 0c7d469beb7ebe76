package webclient_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// record is what the browser told its console while a test walked the
// pages: script errors, console calls, Content-Security-Policy refusals.
type record struct {
	mu    sync.Mutex
	lines []string
}

func (r *record) add(s string) { r.mu.Lock(); r.lines = append(r.lines, s); r.mu.Unlock() }

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// console starts recording what the pages b opens tell the console: a
// script's console calls, uncaught exceptions and the browser's own
// entries (a CSP refusal, a resource that failed to load).
func (b *browser) console() *record {
	b.t.Helper()
	rec := &record{}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range e.Args {
				v := a.Description
				if len(a.Value) > 0 {
					v = strings.Trim(string(a.Value), `"`)
				}
				args = append(args, v)
			}
			rec.add(fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
		case *runtime.EventExceptionThrown:
			rec.add("exception: " + e.ExceptionDetails.Text + " " + exceptionDescription(e.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			rec.add(fmt.Sprintf("%s %s: %s %s", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL))
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, runtime.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return err
	}))
	return rec
}

func exceptionDescription(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// TestWebClient_PagesKeepTheConsoleClean walks every page a phone user
// meets, from the Provision URL to a removed phone and a browser that
// lost its data, and records what the browser's console is told: nothing.
// A Content-Security-Policy refusal (an inline script or style creeping
// into a page), a script error, a console call (which could carry a code
// or a string) or a file that fails to load would each show there.
func TestWebClient_PagesKeepTheConsoleClean(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	w.addUser(t, "alice", "9132", "alice@example.org")
	ic := w.code(t, "alice")
	phone := newBrowser(t, budget(t))
	rec := phone.console()
	settle := func() { time.Sleep(300 * time.Millisecond) }

	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#setup-phone")
	settle()
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	phone.do(pinTaps("9132")...)
	phone.visible("#otc-box")
	phone.do(chromedp.Reload())
	phone.visible("#pin-view")
	settle()

	phone.do(chromedp.Navigate(w.url+"/userportal/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.Tap(chromedp.CSS("#get-code")),
		chromedp.WaitVisible(chromedp.CSS("#answer")))
	settle()

	// The spent link: the page says this phone is set up; a tap anyway
	// is refused.
	phone.do(chromedp.Navigate(ic.URL))
	phone.visible("#already")
	phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.until(`location.pathname === '/userportal/setup'`, 10*time.Second, "the refused set-up's page")
	settle()

	if err := w.svc.RevokeDevice("alice"); err != nil {
		t.Fatal(err)
	}
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#banner")
	phone.setUpInApp("alice", "WRONG234")
	phone.until(`!document.getElementById('setup-problem').hidden`, 10*time.Second, "the refused code's sentence")
	settle()

	u, err := url.Parse(w.url)
	if err != nil {
		t.Fatal(err)
	}
	phone.clearSiteData(u.Scheme + "://" + u.Host)
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#empty")
	settle()

	if got := rec.String(); got != "" {
		t.Errorf("the browser's console was told:\n%s", got)
	}
}
