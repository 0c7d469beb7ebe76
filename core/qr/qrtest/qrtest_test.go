package qrtest_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"strings"
	"testing"

	"provisio/core/qr"
	"provisio/core/qr/qrtest"
)

const url = "https://provisio.example.lan:8443/provision?user=bob%40example.com&code=1234-5678"

// finderLike encodes to a code whose data holds a pattern that looks like a
// finder pattern, which fools the single-code detector at 3 pixels per
// module and more (found by FuzzEncode in package qr).
const finderLike = "01$c110Zc17XaCi0798aY90e.la2"

func MustEncode(tb testing.TB, text string) *qr.Code {
	tb.Helper()
	c, err := qr.Encode(text)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// screenshot fakes a console window: a title bar, lines of "text", a
// coloured panel and the QR code placed at (x, y) among them.
func screenshot(code image.Image, x, y int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	fill(img.Bounds(), color.RGBA{0xf3, 0xf4, 0xf6, 0xff})
	fill(image.Rect(0, 0, 1024, 36), color.RGBA{0x24, 0x29, 0x2f, 0xff})
	fill(image.Rect(0, 36, 220, 768), color.RGBA{0xe1, 0xe4, 0xe8, 0xff})
	// Fixed seed: the scene must be the same on every run.
	rng := rand.New(rand.NewPCG(1, 2))
	for line := range 30 {
		ly := 60 + line*22
		for wx := 240; wx < 560; {
			w := 10 + rng.IntN(50)
			fill(image.Rect(wx, ly, wx+w, ly+10), color.RGBA{0x30, 0x30, 0x30, 0xff})
			wx += w + 6
		}
	}
	fill(image.Rect(x-20, y-20, x+code.Bounds().Dx()+20, y+code.Bounds().Dy()+20), color.RGBA{0x1f, 0x6f, 0xeb, 0xff})
	draw.Draw(img, code.Bounds().Add(image.Pt(x, y)), code, code.Bounds().Min, draw.Src)
	return img
}

func TestDecode(t *testing.T) {
	c := MustEncode(t, url)
	odd := MustEncode(t, finderLike)
	tests := []struct {
		name string
		img  image.Image
		want string
	}{
		{"bare code", c.Image(4), url},
		{"screenshot", screenshot(c.Image(4), 640, 260), url},
		{"screenshot with small modules", screenshot(c.Image(2), 700, 420), url},
		// A sub-image keeps the parent's coordinates, so its bounds do not
		// start at (0, 0).
		{"cropped screenshot", screenshot(c.Image(3), 600, 300).SubImage(image.Rect(500, 200, 1000, 700)), url},
		{"finder-like data", odd.Image(4), finderLike},
		{"finder-like data in screenshot", screenshot(odd.Image(5), 620, 300), finderLike},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := qrtest.Decode(tt.img)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Decode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecode_NoCode(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 200, 100))
	tests := []struct {
		name string
		img  image.Image
	}{
		{"nil", nil},
		{"blank", blank},
		{"screenshot without code", screenshot(image.NewGray(image.Rect(0, 0, 1, 1)), 600, 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := qrtest.Decode(tt.img)
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "qrtest: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}

// fatalTB records Fatal instead of stopping the test, so MustDecode's
// failure path can be observed.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()           {}
func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...) }

func TestMustDecode(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		if got := qrtest.MustDecode(t, MustEncode(t, "hello").Image(4)); got != "hello" {
			t.Errorf("MustDecode = %q, want %q", got, "hello")
		}
	})
	t.Run("not found", func(t *testing.T) {
		tb := &fatalTB{TB: t}
		qrtest.MustDecode(tb, image.NewGray(image.Rect(0, 0, 50, 50)))
		if tb.msg == "" {
			t.Error("MustDecode did not call Fatal for an image without a code")
		}
	})
}
