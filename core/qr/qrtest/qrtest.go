// Package qrtest decodes QR codes in tests, so tests can assert what a phone
// would read rather than comparing pixels.
//
// It uses github.com/makiuchi-d/gozxing, a decoder written independently of
// the encoder in package qr, so a round trip through both checks the encoder
// against the standard and not against itself. Decode works on whole
// screenshots: the code may sit anywhere in a larger image with other content
// around it, as long as its quiet zone is intact.
package qrtest

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Decode finds a QR code in img and returns the text it encodes. If img
// holds several codes, which one is returned is unspecified.
//
// Decode tries several strategies in turn and returns the first success, so
// a failure means none of them could read the image.
func Decode(img image.Image) (string, error) {
	if img == nil {
		return "", errors.New("qrtest: decode: nil image")
	}
	src := gozxing.NewLuminanceSourceFromImage(img)
	var errs []error
	for _, s := range strategies {
		text, err := s.decode(src)
		if err == nil {
			return text, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
	}
	b := img.Bounds()
	return "", fmt.Errorf("qrtest: no QR code decoded in %dx%d image: %w", b.Dx(), b.Dy(), errors.Join(errs...))
}

// strategy is one way of reading a code, named for error messages.
type strategy struct {
	name   string
	decode func(gozxing.LuminanceSource) (string, error)
}

// tryHarder makes the detector scan every row for finder patterns instead
// of skipping rows, which a small code in a big screenshot needs.
var tryHarder = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}

var strategies = []strategy{
	// The hybrid binarizer copes with gradients and surrounding content.
	{"hybrid", single(gozxing.NewHybridBinarizer, tryHarder)},
	// The global binarizer suits small, flat images where the hybrid
	// binarizer's local blocks are too coarse.
	{"global", single(gozxing.NewGlobalHistgramBinarizer, tryHarder)},
	// The single-code detector keeps only the three likeliest finder
	// patterns, and data that happens to contain a finder-like pattern can
	// outrank a real one. The multi-code detector tries every combination,
	// which rescues such codes in a screenshot.
	{"multi", multi(gozxing.NewHybridBinarizer, tryHarder)},
	// An image that is exactly a code and its quiet zone can be read
	// without finder detection at all.
	{"pure", single(gozxing.NewHybridBinarizer, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})},
}

func single(binarizer func(gozxing.LuminanceSource) gozxing.Binarizer, hints map[gozxing.DecodeHintType]any) func(gozxing.LuminanceSource) (string, error) {
	return func(src gozxing.LuminanceSource) (string, error) {
		bmp, err := gozxing.NewBinaryBitmap(binarizer(src))
		if err != nil {
			return "", err
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
		if err != nil {
			return "", err
		}
		return res.GetText(), nil
	}
}

func multi(binarizer func(gozxing.LuminanceSource) gozxing.Binarizer, hints map[gozxing.DecodeHintType]any) func(gozxing.LuminanceSource) (string, error) {
	return func(src gozxing.LuminanceSource) (string, error) {
		bmp, err := gozxing.NewBinaryBitmap(binarizer(src))
		if err != nil {
			return "", err
		}
		res, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints)
		if err != nil {
			return "", err
		}
		if len(res) == 0 {
			return "", errors.New("no code found")
		}
		return res[0].GetText(), nil
	}
}

// MustDecode is Decode for tests: it fails tb at once if no code is found.
func MustDecode(tb testing.TB, img image.Image) string {
	tb.Helper()
	text, err := Decode(img)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

// MustParseTerminal turns Terminal output back into an image with modules
// 4 pixels square, reading a glyph as ink (dark) the way a light terminal
// shows it.
func MustParseTerminal(tb testing.TB, out string, modules int) image.Image {
	tb.Helper()
	const ppm = 4
	img := image.NewGray(image.Rect(0, 0, modules*ppm, modules*ppm))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	set := func(x, y int) {
		for dy := range ppm {
			for dx := range ppm {
				img.SetGray(x*ppm+dx, y*ppm+dy, color.Gray{})
			}
		}
	}
	for row, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		x := 0
		for _, r := range line {
			top, bottom := false, false
			switch r {
			case '█':
				top, bottom = true, true
			case '▀':
				top = true
			case '▄':
				bottom = true
			case ' ':
			default:
				tb.Fatalf("line %d: unexpected rune %q", row, r)
			}
			if x >= modules {
				tb.Fatalf("line %d is wider than %d modules", row, modules)
			}
			if top {
				set(x, 2*row)
			}
			if bottom {
				if 2*row+1 >= modules {
					tb.Fatalf("line %d: ink below the last module row", row)
				}
				set(x, 2*row+1)
			}
			x++
		}
	}
	return img
}
