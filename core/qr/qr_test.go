package qr_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	"provisio/core/qr"
	"provisio/core/qr/qrtest"
)

// provisionURL is the shape of link the console shows: long, with a query
// string, so the code needs a version well above 1.
const provisionURL = "https://provisio.example.lan:8443/provision?user=alice.smith%40example.com" +
	"&device=phone-2&code=7F3A-9C21-BB04&expires=2025-12-31T23%3A59%3A59Z&v=2"

var roundTripTexts = []struct {
	name string
	text string
}{
	{"short", "hello"},
	{"digits", "0123456789012345678901234567890"},
	{"alphanumeric", "PROVISIO:ABC-123 $%*+./"},
	{"url", provisionURL},
	{"utf8", "Grüße aus Köln – café"},
	{"one char", "x"},
	// Its data holds a finder-like pattern that misleads simple detectors;
	// found by FuzzEncode.
	{"finder-like data", "01$c110Zc17XaCi0798aY90e.la2"},
}

func MustEncode(tb testing.TB, text string) *qr.Code {
	tb.Helper()
	c, err := qr.Encode(text)
	if err != nil {
		tb.Fatalf("Encode(%q): %v", text, err)
	}
	return c
}

func MustDecodePNG(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode PNG: %v", err)
	}
	return img
}

func TestProvisionURLLength(t *testing.T) {
	// Guard the fixture: the brief for the round trip is a ~150-char URL.
	if n := len(provisionURL); n < 140 || n > 170 {
		t.Fatalf("provisionURL is %d chars, want about 150", n)
	}
}

func TestCode_RoundTrip(t *testing.T) {
	for _, tt := range roundTripTexts {
		t.Run(tt.name, func(t *testing.T) {
			c := MustEncode(t, tt.text)
			t.Run("Image", func(t *testing.T) {
				if got := qrtest.MustDecode(t, c.Image(4)); got != tt.text {
					t.Errorf("decoded %q, want %q", got, tt.text)
				}
			})
			t.Run("PNG", func(t *testing.T) {
				data, err := c.PNG(3)
				if err != nil {
					t.Fatal(err)
				}
				if got := qrtest.MustDecode(t, MustDecodePNG(t, data)); got != tt.text {
					t.Errorf("decoded %q, want %q", got, tt.text)
				}
			})
			t.Run("Terminal", func(t *testing.T) {
				img := qrtest.MustParseTerminal(t, c.Terminal(), c.Modules())
				if got := qrtest.MustDecode(t, img); got != tt.text {
					t.Errorf("decoded %q, want %q", got, tt.text)
				}
			})
		})
	}
}

func TestEncode_TooLong(t *testing.T) {
	// 3000 bytes of binary exceeds the 2331-byte capacity of version 40 at
	// level Medium.
	_, err := qr.Encode(strings.Repeat("\xff", 3000))
	if err == nil {
		t.Fatal("Encode of 3000 bytes succeeded, want an error")
	}
	if !strings.HasPrefix(err.Error(), "qr: ") {
		t.Errorf("error %q does not name the package", err)
	}
}

func TestCode_Modules(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		// Version 1 is 21 modules; the quiet zone adds 4 on each side.
		{"version 1", "hello", 21 + 2*qr.QuietZone},
		// About 150 bytes in byte mode at level M needs version 8 (49
		// modules): version 7 holds only 122 bytes.
		{"url", provisionURL, 49 + 2*qr.QuietZone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustEncode(t, tt.text).Modules(); got != tt.want {
				t.Errorf("Modules() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCode_Image(t *testing.T) {
	c := MustEncode(t, provisionURL)
	unit := c.Image(1)
	tests := []struct {
		name string
		ppm  int
		want int // pixels per module actually used
	}{
		{"one", 1, 1},
		{"five", 5, 5},
		{"zero means one", 0, 1},
		{"negative means one", -3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := c.Image(tt.ppm)
			side := c.Modules() * tt.want
			if got := img.Bounds(); got != image.Rect(0, 0, side, side) {
				t.Fatalf("bounds %v, want %dx%d", got, side, side)
			}
			// Every pixel is pure black or white and matches its module,
			// which proves the scaling is exact and nothing is smoothed.
			for y := range side {
				for x := range side {
					got := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
					want := color.GrayModel.Convert(unit.At(x/tt.want, y/tt.want)).(color.Gray).Y
					if got != want || (got != 0 && got != 0xff) {
						t.Fatalf("pixel (%d,%d) = %d, want %d (black or white)", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestCode_QuietZone(t *testing.T) {
	for _, tt := range roundTripTexts {
		t.Run(tt.name, func(t *testing.T) {
			c := MustEncode(t, tt.text)
			img := c.Image(1)
			n := c.Modules()
			for y := range n {
				for x := range n {
					inZone := x < qr.QuietZone || y < qr.QuietZone || x >= n-qr.QuietZone || y >= n-qr.QuietZone
					if inZone && IsDark(img, x, y) {
						t.Fatalf("module (%d,%d) in the quiet zone is dark", x, y)
					}
				}
			}
			// The top-left finder pattern's corner starts right after it.
			if !IsDark(img, qr.QuietZone, qr.QuietZone) {
				t.Error("no dark finder pattern corner inside the quiet zone")
			}
		})
	}
}

func TestCode_Terminal(t *testing.T) {
	c := MustEncode(t, "hello")
	out := c.Terminal()
	if !strings.HasSuffix(out, "\n") {
		t.Error("output does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if want := (c.Modules() + 1) / 2; len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	for i, line := range lines {
		if n := utf8.RuneCountInString(line); n != c.Modules() {
			t.Errorf("line %d is %d runes, want %d", i, n, c.Modules())
		}
		if strings.Trim(line, " ▀▄█") != "" {
			t.Errorf("line %d has runes other than half blocks and space: %q", i, line)
		}
	}
	// The first two lines are quiet zone, so blank.
	if strings.TrimSpace(lines[0]) != "" || strings.TrimSpace(lines[1]) != "" {
		t.Error("quiet zone rows are not blank")
	}
	// Parsed back, the bitmap is the code module for module.
	got := qrtest.MustParseTerminal(t, out, c.Modules())
	want := c.Image(1)
	for y := range c.Modules() {
		for x := range c.Modules() {
			if IsDark(got, x*4, y*4) != IsDark(want, x, y) {
				t.Fatalf("module (%d,%d) differs after the terminal round trip", x, y)
			}
		}
	}
}

func TestPNG(t *testing.T) {
	short := MustEncode(t, "hello").Modules()
	long := MustEncode(t, provisionURL).Modules()
	tests := []struct {
		name      string
		text      string
		size      int
		wantWidth int
	}{
		{"exact multiple", "hello", 10 * short, 10 * short},
		{"rounds module size down", "hello", 256, 256 / short * short},
		{"url at 300", provisionURL, 300, 300 / long * long},
		{"url at 512", provisionURL, 512, 512 / long * long},
		{"too small uses the minimum", provisionURL, 100, qr.MinPixelsPerModule * long},
		{"zero uses the minimum", "hello", 0, qr.MinPixelsPerModule * short},
		{"negative uses the minimum", "hello", -20, qr.MinPixelsPerModule * short},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := qr.PNG(tt.text, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			img := MustDecodePNG(t, data)
			if b := img.Bounds(); b.Dx() != tt.wantWidth || b.Dy() != tt.wantWidth {
				t.Errorf("PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.wantWidth, tt.wantWidth)
			}
			if tt.size >= qr.MinPixelsPerModule*MustEncode(t, tt.text).Modules() && img.Bounds().Dx() > tt.size {
				t.Errorf("PNG is %d wide, more than the %d asked for", img.Bounds().Dx(), tt.size)
			}
			if got := qrtest.MustDecode(t, img); got != tt.text {
				t.Errorf("decoded %q, want %q", got, tt.text)
			}
		})
	}
}

func TestPNG_TooLong(t *testing.T) {
	if _, err := qr.PNG(strings.Repeat("\xff", 3000), 256); err == nil {
		t.Fatal("PNG of 3000 bytes succeeded, want an error")
	}
}

func FuzzEncode(f *testing.F) {
	for _, tt := range roundTripTexts {
		f.Add(tt.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := qr.Encode(text)
		if err != nil {
			return // too long is the only expected failure
		}
		n := c.Modules()
		// Versions 1..40 are 21+4(v-1) modules, plus the quiet zone.
		if core := n - 2*qr.QuietZone; core < 21 || core > 177 || (core-21)%4 != 0 {
			t.Fatalf("Modules() = %d is not a valid QR size plus quiet zone", n)
		}
		if lines := strings.Count(c.Terminal(), "\n"); lines != (n+1)/2 {
			t.Fatalf("Terminal() has %d lines, want %d", lines, (n+1)/2)
		}
		// Decoding guesses the character set of byte-mode data, so only
		// printable ASCII is guaranteed to come back byte for byte.
		if !isPrintableASCII(text) || len(text) > 300 {
			return
		}
		if got := qrtest.MustDecode(t, c.Image(3)); got != text {
			t.Fatalf("decoded %q, want %q", got, text)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	for b.Loop() {
		if _, err := qr.Encode(provisionURL); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNG(b *testing.B) {
	for b.Loop() {
		if _, err := qr.PNG(provisionURL, 300); err != nil {
			b.Fatal(err)
		}
	}
}

// IsDark reports whether the pixel at (x, y) is closer to black than white.
func IsDark(img image.Image, x, y int) bool {
	return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 0x80
}

func isPrintableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
