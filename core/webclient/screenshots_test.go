package webclient_test

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"provisio/core/agentxml/agentxmltest"
)

// TestScreenshots renders the phone pages at 412×915, light and dark, into
// $PROVISIO_WEB_SHOTS (make screenshots sets it to docs/screenshots). It
// does nothing without the variable, so the normal suite stays fast.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PROVISIO_WEB_SHOTS")
	if dir == "" {
		return
	}
	w := newWorld(t)
	for _, kv := range [][2]string{
		{"policy.selfreset.allow_self_provision", "Yes"},
		{"policy.mobile.allow_choose_extraction", "Yes"},
		{"policy.mobile.allow_browse_strings", "Yes"},
	} {
		if err := w.svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	w.addUser(t, "alice", "9132", "alice@example.org")
	for _, dark := range []bool{false, true} {
		suffix := "-light.png"
		if dark {
			suffix = "-dark.png"
		}
		ic := w.code(t, "alice")
		phone := newBrowser(t, budget(t))
		phone.dark(dark)
		phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("#setup-phone")))
		phone.screenshot(dir, "phone-provision"+suffix)
		phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")), chromedp.WaitVisible(chromedp.CSS("#pin-view")))
		phone.do(pinTaps("9132")...)
		phone.visible("#otc-box")
		phone.screenshot(dir, "phone-pin"+suffix)
		phone.do(chromedp.Tap(chromedp.CSS("#mode-string")), chromedp.WaitVisible(chromedp.CSS("#string-view")))
		phone.screenshot(dir, "phone-string"+suffix)

		ic2 := w.code(t, "alice")
		other, err := agentxmltest.NewMobileClient(ic2.URL, w.fp)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Provision("iOS 18"); err != nil {
			t.Fatal(err)
		}
		phone.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#banner")))
		phone.screenshot(dir, "phone-replaced"+suffix)

		phone.do(chromedp.Navigate(w.url+"/userportal/"), chromedp.WaitVisible(chromedp.CSS("#username")))
		phone.screenshot(dir, "phone-portal"+suffix)
	}
}
