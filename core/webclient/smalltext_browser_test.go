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
