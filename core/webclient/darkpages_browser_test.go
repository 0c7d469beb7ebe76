package webclient_test

import (
	"bytes"
	"fmt"
	"image/png"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// The web client's background and text colours (static/app.css), in light
// and in dark mode, as getComputedStyle writes them.
var phoneColours = map[bool]struct{ bg, fg string }{
	false: {"rgb(255, 255, 255)", "rgb(29, 29, 31)"},
	true:  {"rgb(18, 20, 23)", "rgb(236, 239, 243)"},
}

// TestPhonePages_FollowDarkMode: the authenticator followed the phone's
// dark mode, but the authenticator-app pages (the set-up button, the page
// with the otpauth QR code) stayed white, and a refusal showed the
// browser's own dark grey and white: a glaring page at night, and pages
// of one site in three colourings. Every page a phone is sent to shows
// the web client's colours in dark mode, and in light mode the ones it
// had; the QR codes on them stay black on white with a white quiet zone,
// which is what a camera reads.
func TestPhonePages_FollowDarkMode(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpen(t), core.WithOATHKeys(oathkey.Keys{}))
	srv, _ := agentxmltest.MustServer(t, svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
		o.QRPNG = qr.PNG
	})
	for _, kv := range [][2]string{{"oath.enabled", "yes"}, {"policy.selfreset.allow_self_provision", "Yes"}} {
		if err := svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	storetest.MustAddUser(t, svc, "bob", "9132")

	phone := newBrowser(t, budget(t))
	for _, dark := range []bool{false, true} {
		mode := map[bool]string{false: "light", true: "dark"}[dark]
		phone.dark(dark)
		check := func(page string) {
			t.Helper()
			want := phoneColours[dark]
			if bg, fg := phone.pageColours(); bg != want.bg || fg != want.fg {
				t.Errorf("%s, %s mode: background %s and text %s, want the web client's %s and %s", page, mode, bg, fg, want.bg, want.fg)
			}
		}

		phone.do(chromedp.Navigate(srv.URL() + "/userportal/app/"))
		phone.visible("#empty")
		check("the authenticator")
		phone.do(chromedp.Navigate(srv.URL() + "/userportal/"))
		phone.visible("#get-code")
		check("the self-service page")

		mc, err := svc.CreateProvisionCode("bob")
		if err != nil {
			t.Fatal(err)
		}
		phone.do(chromedp.Navigate(mc.URL))
		phone.visible("#setup-phone")
		check("the Provision URL page")
		phone.eval(`document.getElementById('installed-app').open = true; ''`)
		phone.until(`document.querySelector('#installed-app img') && document.querySelector('#installed-app img').complete`, 10*time.Second, "the provision QR code loads")
		if bad := phone.qrDarkOnWhite("#installed-app img"); bad != "" {
			t.Errorf("the Provision URL page's QR code, %s mode: %s", mode, bad)
		}

		ic, err := svc.MailOATHProvisionCode("alice", core.OATHOptions{})
		if err != nil {
			t.Fatal(err)
		}
		phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")))
		check("the authenticator-app set-up page")
		phone.do(chromedp.Click(chromedp.CSS("button[type=submit]")))
		phone.waitPage("This page is shown once")
		phone.until(`document.querySelector('img') && document.querySelector('img').complete`, 10*time.Second, "the otpauth QR code loads")
		check("the authenticator-app QR page")
		if bad := phone.qrDarkOnWhite("img"); bad != "" {
			t.Errorf("the authenticator-app QR code, %s mode: %s", mode, bad)
		}

		// The same link again: refused, on the refusal page.
		phone.do(chromedp.Navigate(ic.URL), chromedp.WaitVisible(chromedp.CSS("button[type=submit]")), chromedp.Click(chromedp.CSS("button[type=submit]")))
		phone.waitPage("has been used or has expired")
		check("the refusal page")
	}
}

// pageColours is the colour the page's background shows (a pixel of the
// screen at its top right corner, beside any text) and the colour of its
// heading's text.
func (b *browser) pageColours() (bg, fg string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	r := img.Bounds()
	cr, cg, cb, _ := img.At(r.Max.X-3, r.Min.Y+3).RGBA()
	bg = fmt.Sprintf("rgb(%d, %d, %d)", cr>>8, cg>>8, cb>>8)
	return bg, b.eval(`getComputedStyle(document.querySelector('h1')).color`)
}

// qrDarkOnWhite is "" when the image sel, as the screen shows it, is a QR
// code black on white whose border (the quiet zone the image holds, four
// modules, at least 2.5 % of its side) is white; otherwise what is wrong.
func (b *browser) qrDarkOnWhite(sel string) string {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("screenshot of %s: %v", sel, err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.t.Fatalf("screenshot of %s: %v", sel, err)
	}
	r := img.Bounds()
	if r.Dx() < 100 || r.Dy() < 100 {
		return fmt.Sprintf("shown %dx%d px", r.Dx(), r.Dy())
	}
	level := func(x, y int) (lo, hi uint32) {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return min(cr, cg, cb) >> 8, max(cr, cg, cb) >> 8
	}
	// The outermost pixels may blend with the page at a fractional
	// position; the band checked starts inside them.
	band := r.Dx() * 25 / 1000
	var dark, light, other int
	for y := r.Min.Y + 2; y < r.Max.Y-2; y++ {
		for x := r.Min.X + 2; x < r.Max.X-2; x++ {
			lo, hi := level(x, y)
			inBorder := x < r.Min.X+2+band || x >= r.Max.X-2-band || y < r.Min.Y+2+band || y >= r.Max.Y-2-band
			switch {
			case lo >= 0xf0:
				light++
			case hi <= 0x30:
				dark++
				if inBorder {
					return fmt.Sprintf("a dark pixel (%d, %d) in the quiet zone", x-r.Min.X, y-r.Min.Y)
				}
			default:
				other++
				if inBorder {
					return fmt.Sprintf("the quiet zone is not white at (%d, %d): %v", x-r.Min.X, y-r.Min.Y, img.At(x, y))
				}
			}
		}
	}
	all := dark + light + other
	if dark < all/5 || light < all/5 || other > all/100 {
		return fmt.Sprintf("%d black, %d white and %d other pixels: not black on white", dark, light, other)
	}
	return ""
}

// The web client's primary button (static/app.css's --accent and
// --accent-fg), in light and in dark mode, as getComputedStyle writes
// them.
var primaryColours = map[bool]struct{ bg, fg string }{
	false: {"rgb(27, 95, 168)", "rgb(255, 255, 255)"},
	true:  {"rgb(106, 168, 255)", "rgb(11, 19, 32)"},
}

// TestPhonePages_OATHSetupButtonIsPrimary: the authenticator-app set-up
// page's one button kept the browser's own style, a small grey button
// (dark grey in dark mode) beside the Provision URL page's full-width
// accent one. It has the other phone pages' primary look: the accent's
// colours in either mode, the column's width, at least 44 px tall.
func TestPhonePages_OATHSetupButtonIsPrimary(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpen(t), core.WithOATHKeys(oathkey.Keys{}))
	agentxmltest.MustServer(t, svc, func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
	})
	if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	ic, err := svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	phone := newBrowser(t, budget(t))
	for _, dark := range []bool{false, true} {
		mode := map[bool]string{false: "light", true: "dark"}[dark]
		phone.dark(dark)
		// Opening the link does not use it up: the same page each time.
		phone.do(chromedp.Navigate(ic.URL))
		phone.visible("#show-qr")
		got := phone.eval(`(function () {
  var b = document.getElementById('show-qr'), s = getComputedStyle(b), r = b.getBoundingClientRect();
  var col = document.getElementById('oath-setup').getBoundingClientRect();
  return [s.backgroundColor, s.color, r.height >= 44 ? 'tall' : r.height.toFixed(1) + ' px tall',
    Math.abs(r.width - col.width) <= 1 ? 'full' : r.width.toFixed(0) + ' of ' + col.width.toFixed(0) + ' px wide'].join('|');
})()`)
		want := primaryColours[dark].bg + "|" + primaryColours[dark].fg + "|tall|full"
		if got != want {
			t.Errorf("%s mode: the set-up button is %s, want %s (background|text|height|width)", mode, got, want)
		}
	}
}
