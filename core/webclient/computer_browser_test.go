package webclient_test

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"provisio/core/agentxml"
	"provisio/core/qr"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// TestWebClient_ProvisionLinkOpenedOnAComputer: people read the mail at
// their desk and click the link there. The Provision URL page then offered
// "Set up this phone", which made the computer's browser the
// authenticator and stopped the phone. On a computer (no touch screen)
// it now shows, above the button, a QR code that opens the same
// page on the phone (decoded here from the screen's pixels), and the
// button says it sets up this browser; a phone sees neither. Opening the
// page spends nothing either way.
func TestWebClient_ProvisionLinkOpenedOnAComputer(t *testing.T) {
	w := newWorldOn(t, storetest.MustOpen(t), time.Millisecond, func(o *agentxml.Options) { o.QRPNG = qr.PNG })
	w.addUser(t, "alice", "9132", "")
	ic := w.code(t, "alice")

	phone := newBrowser(t, budget(t))
	phone.do(chromedp.Navigate(ic.URL))
	phone.until(`!document.getElementById('setup-phone').disabled`, 5*time.Second, "the button is ready")
	if !phone.hidden("on-computer") {
		t.Error("a phone is told it is a computer")
	}
	if got := phone.text("#setup-phone"); got != "Set up this phone" {
		t.Errorf("the phone's button says %q", got)
	}

	pc := phone.another()
	pc.computer()
	pc.do(chromedp.Navigate(ic.URL))
	pc.visible("#on-computer")
	pc.until(`!document.getElementById('setup-phone').disabled`, 5*time.Second, "the button is ready")
	if got := pc.text("#setup-phone"); got != "Set up this browser instead" {
		t.Errorf("the computer's button says %q", got)
	}
	pc.until(`document.querySelector('#on-computer img').complete && document.querySelector('#on-computer img').naturalWidth > 0`, 5*time.Second, "the QR code loads")
	pc.eval(`document.querySelector('#on-computer img').scrollIntoView(); ''`)
	shot, err := chromedp.Run(pc.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Decode(img); err != nil || got != ic.URL {
		t.Errorf("the QR code on the computer's screen reads %q (%v), want the Provision URL", got, err)
	}
	if pend, _ := w.svc.PendingCodes(); pend["alice"].IsZero() {
		t.Fatal("opening the Provision URL spent the code")
	}
}

// computer turns the phone b into a desktop browser: a 1280×800 window,
// without a touch screen.
func (b *browser) computer() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(1280, 800), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false})
		return err
	}))
}
