package ui

import (
	"fmt"
	"image/png"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"provisio/core/qr"
	"provisio/core/qr/qrtest"
)

func TestReprovision_CodeInLargeType(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("alice")
	var size float32
	walk(h.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if tx, ok := o.(*canvas.Text); ok && tx.Text == d.code.Text {
			size = tx.TextSize
		}
	})
	if size < largeCodeSize {
		t.Errorf("code drawn at %v, want at least %d", size, largeCodeSize)
	}
}

func TestReprovision_CopyURL(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("bob")
	test.Tap(d.copyURL)
	if got := h.c.app.Clipboard().Content(); got != d.issued.URL {
		t.Errorf("clipboard %q, want the Provision URL %q", got, d.issued.URL)
	}
	if !d.note.Visible() || !strings.HasPrefix(d.note.Text, "Provision URL copied.") {
		t.Errorf("note %q", d.note.Text)
	}
}

// TestReprovision_SpentCodeIsNotCopiedOrSaved: once the code is used,
// Copy URL and Save PNG… are off, as the dialog says not to scan the
// faded QR code; New code turns them on again. They used to copy and
// save a code that no longer works.
func TestReprovision_SpentCodeIsNotCopiedOrSaved(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("bob")
	if d.copyURL.Disabled() || d.savePNG.Disabled() {
		t.Fatal("Copy URL or Save PNG is off for a fresh code")
	}
	if _, err := h.svc.Provision("127.0.0.1", "bob", d.issued.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the code used", func() bool { return d.done })
	if !d.copyURL.Disabled() || !d.savePNG.Disabled() {
		t.Errorf("after the phone provisioned: Copy URL off %v, Save PNG off %v; want both off", d.copyURL.Disabled(), d.savePNG.Disabled())
	}
	test.Tap(d.newCode)
	if d.done || d.copyURL.Disabled() || d.savePNG.Disabled() {
		t.Errorf("after New code: done %v, Copy URL off %v, Save PNG off %v", d.done, d.copyURL.Disabled(), d.savePNG.Disabled())
	}
}

func TestReprovision_SavePNG(t *testing.T) {
	h := newHarness(t)
	d := h.openFor("carol")
	test.Tap(d.savePNG)
	h.waitFor("saved note", func() bool { return strings.HasPrefix(d.note.Text, "QR code saved to ") })
	if !strings.HasSuffix(h.saved, "provision-carol.png") || d.note.Text != "QR code saved to "+h.saved+"." {
		t.Errorf("saved to %q; note %q", h.saved, d.note.Text)
	}
	f, err := os.Open(h.saved)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := qrtest.MustDecode(t, img); got != d.issued.URL {
		t.Errorf("saved QR reads %q, want %q", got, d.issued.URL)
	}
	if w := img.Bounds().Dx(); w != d.modules*pngModulePixels {
		t.Errorf("PNG %d px wide, want %d modules × %d", w, d.modules, pngModulePixels)
	}
}

func TestReprovision_FullScreen(t *testing.T) {
	h := newHarness(t)
	h.win.Resize(fyne.NewSize(1920, 1080))
	d := h.openFor("dave")
	normal := d.qrImage.MinSize().Width

	test.Tap(d.fullScreen)
	if !d.full || d.fullScreen.Text != "Exit full screen" {
		t.Fatalf("full %v, button %q", d.full, d.fullScreen.Text)
	}
	side := int(d.qrImage.MinSize().Width)
	if side < 2*int(normal) || side%d.modules != 0 || side/d.modules < qr.MinPixelsPerModule {
		t.Errorf("full-screen QR %d px for %d modules (normal %v)", side, d.modules, normal)
	}
	if side > int(h.win.Canvas().Size().Height) {
		t.Errorf("full-screen QR %d px is taller than the window", side)
	}
	shot := h.win.Canvas().Capture()
	writeShot(t, "reprovision_full.png", shot)
	if got := qrtest.MustDecode(t, shot); got != d.issued.URL {
		t.Errorf("full-screen QR reads %q", got)
	}
	checkModuleSize(t, h, d, shot)

	// Escape leaves full screen first, then closes the dialog.
	h.c.escape()
	if d.full || d.qrImage.MinSize().Width != normal || h.c.reprov != d {
		t.Errorf("after Escape: full %v, QR %v, dialog open %v", d.full, d.qrImage.MinSize().Width, h.c.reprov == d)
	}
	h.c.escape()
	if h.c.reprov != nil {
		t.Error("second Escape did not close the dialog")
	}
}

// TestReprovision_FullScreenNeverShrinksQR: full screen makes the QR code
// as big as the window allows but never smaller than the dialog shows it
// normally, at whole pixels per module, however small the window (the
// audit saw 392 px shrink to 343 px in a 900×600 window).
func TestReprovision_FullScreenNeverShrinksQR(t *testing.T) {
	for _, size := range []fyne.Size{{Width: 900, Height: 600}, {Width: 640, Height: 400}, {Width: 1280, Height: 800}, {Width: 1920, Height: 1080}} {
		t.Run(fmt.Sprintf("%vx%v", size.Width, size.Height), func(t *testing.T) {
			h := newHarness(t)
			h.win.Resize(size)
			d := h.openFor("dave")
			normal := int(d.qrImage.MinSize().Width)
			test.Tap(d.fullScreen)
			full := int(d.qrImage.MinSize().Width)
			if normal < minQRSide || full < normal {
				t.Errorf("QR %d px normally, %d px full screen: want at least %d and never smaller full screen", normal, full, minQRSide)
			}
			if full%d.modules != 0 || d.qrImage.Image.Bounds().Dx() != full {
				t.Errorf("full-screen QR %d px for %d modules, bitmap %d px: want whole pixels per module, unstretched",
					full, d.modules, d.qrImage.Image.Bounds().Dx())
			}
			if room := d.fullSide(); room >= normal && (full > room || room-full >= d.modules) {
				t.Errorf("full-screen QR %d px with %d px of room: want the biggest whole-module size that fits", full, room)
			}
		})
	}
}

func TestQRModulePixels(t *testing.T) {
	for _, tt := range []struct {
		modules, side, want int
	}{
		{37, 0, 10},    // normal size: ceil(360/37), 370 px
		{37, 343, 10},  // a small window's room: still the normal size
		{37, 1000, 27}, // a big window: as much as fits
		{185, 0, qr.MinPixelsPerModule},
		{185, 700, qr.MinPixelsPerModule},
		{185, 1000, 5},
	} {
		if got := qrModulePixels(tt.modules, tt.side); got != tt.want {
			t.Errorf("qrModulePixels(%d, %d) = %d, want %d", tt.modules, tt.side, got, tt.want)
		}
	}
}
