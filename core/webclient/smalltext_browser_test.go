package webclient_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebClient_InputsStay16pxWithSmallText: iOS zooms the page into a
// text field whose font is under 16 px when it is focused, and the pages
// take their text size from the system's (the root font is
// -apple-system-body on iOS, 14 px at the smallest Text Size): the
// username and code fields followed it down to 14 px, so a tap on them
// zoomed the page and pushed the button off screen. Fields stay at 16 px
// at least; here the root font is set to 14 px as that setting makes it.
func TestWebClient_InputsStay16pxWithSmallText(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	phone := newBrowser(t, budget(t))
	small := func(sels ...string) {
		t.Helper()
		phone.eval(`document.documentElement.style.fontSize = '14px'; ''`)
		for _, sel := range sels {
			got := phone.eval(`(function () { var f = getComputedStyle(document.querySelector('` + sel + `')).fontSize; return parseFloat(f) >= 16 ? '' : f; })()`)
			if got != "" {
				t.Errorf("%s %s: font %s with the smallest text, under the 16 px iOS zooms at", phone.location(), sel, got)
			}
		}
	}
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	small("#setup-username", "#setup-code")
	phone.do(chromedp.Navigate(w.url + "/userportal/"))
	phone.visible("#username")
	small("#username")
}

// TestWebClient_TapTargetsStay44pxWithSmallText: buttons were 3rem tall
// and links on a line of their own 2.75rem, 48 and 44 px at the usual
// 16 px; at the smallest system Text Size (a 14 px root) they shrank to
// 42 and 38.5 px, under the 44 px a thumb hits reliably. They stay at 44
// px at least.
func TestWebClient_TapTargetsStay44pxWithSmallText(t *testing.T) {
	w := newWorld(t)
	for _, k := range []string{"policy.selfreset.allow_self_provision", "policy.mobile.allow_choose_extraction", "policy.mobile.allow_browse_strings"} {
		if err := w.svc.SetSetting(k, "Yes"); err != nil {
			t.Fatal(err)
		}
	}
	w.addUser(t, "alice", "9132", "")
	phone := newBrowser(t, budget(t))
	short := func(where string) {
		t.Helper()
		phone.eval(`document.documentElement.style.fontSize = '14px'; ''`)
		if s := phone.shortTargets(`button, input, .button, a.tap, #support a, summary`); s != "" {
			t.Errorf("%s with the smallest text: targets under 44 px: %s", where, s)
		}
	}
	phone.do(chromedp.Navigate(w.url + "/userportal/app/"))
	phone.visible("#setup-form")
	short("the empty authenticator")
	phone.do(chromedp.Navigate(w.url + "/userportal/"))
	phone.visible("#username")
	short("self-service")
	phone.do(chromedp.Navigate(w.code(t, "alice").URL), chromedp.Tap(chromedp.CSS("#setup-phone")))
	phone.visible("#pin-view")
	short("the PIN pad")
}
