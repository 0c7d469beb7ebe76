// Package qr turns text (usually a provisioning URL) into a QR code and
// renders it as an image, a PNG or a block of terminal text.
//
// It wraps github.com/skip2/go-qrcode so that the rest of Provisio sees one
// small type, Code, and one fixed choice of options: error correction level
// Medium and the 4-module quiet zone the QR specification requires. Rendering
// is done here rather than by the library because the library scales to a
// requested pixel size, which blurs or unevenly stretches modules; scanners
// read crisp, whole-pixel modules far more reliably.
package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QuietZone is the width, in modules, of the light border every Code keeps
// around the symbol. Scanners need it to find the finder patterns.
const QuietZone = 4

// MinPixelsPerModule is the smallest module size, in pixels, that PNG uses.
// Smaller modules are hard to scan from a screen.
const MinPixelsPerModule = 4

// palette is black and white only, so PNGs are written 1 bit per pixel.
var palette = color.Palette{color.White, color.Black}

// Code is an encoded QR symbol: a square grid of dark and light modules,
// quiet zone included. A Code is immutable and safe for concurrent use.
type Code struct {
	size int
	dark []bool // row-major, size*size
}

// Encode encodes text as a QR code with error correction level Medium.
// It fails if text is too long to fit in the largest QR version.
func Encode(text string) (*Code, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: encode %d bytes: %w", len(text), err)
	}
	// Bitmap already includes the quiet zone; go-qrcode leaves it on by
	// default and we never disable it.
	bm := q.Bitmap()
	c := &Code{size: len(bm), dark: make([]bool, 0, len(bm)*len(bm))}
	for _, row := range bm {
		if len(row) != c.size {
			return nil, fmt.Errorf("qr: encode: library returned a non-square bitmap (%dx%d)", len(row), c.size)
		}
		c.dark = append(c.dark, row...)
	}
	return c, nil
}

// Modules returns the side length of the code in modules, quiet zone
// included.
func (c *Code) Modules() int { return c.size }

// isDark reports whether the module at column x, row y is dark. Positions
// outside the code are light, which lets callers read past the edge.
func (c *Code) isDark(x, y int) bool {
	if x < 0 || y < 0 || x >= c.size || y >= c.size {
		return false
	}
	return c.dark[y*c.size+x]
}

// Image renders the code black on white with every module exactly
// pixelsPerModule pixels square, so the image is Modules()*pixelsPerModule
// pixels wide and high. Values below 1 are treated as 1.
func (c *Code) Image(pixelsPerModule int) image.Image {
	ppm := max(pixelsPerModule, 1)
	side := c.size * ppm
	img := image.NewPaletted(image.Rect(0, 0, side, side), palette)
	// Paletted pixels start at index 0 (white); only dark rows are written.
	for y := range side {
		row := img.Pix[y*img.Stride : y*img.Stride+side]
		for x := range side {
			if c.dark[(y/ppm)*c.size+x/ppm] {
				row[x] = 1
			}
		}
	}
	return img
}

// PNG encodes Image(pixelsPerModule) as a 1-bit PNG.
func (c *Code) PNG(pixelsPerModule int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.Image(pixelsPerModule)); err != nil {
		return nil, fmt.Errorf("qr: png: %w", err)
	}
	return buf.Bytes(), nil
}

// Terminal renders the code as text for a monospaced terminal, two module
// rows per line using the half blocks '▀', '▄', '█' and space.
//
// Convention: a dark module is drawn with ink (the terminal's foreground
// colour) and a light module is left as background. The result scans as
// printed on a light terminal (dark text on a light background); on a dark
// terminal it appears inverted, which many but not all phone scanners
// accept. The quiet zone is included, so keep the lines' trailing spaces.
// Every line, including the last, ends in '\n'.
func (c *Code) Terminal() string {
	var b strings.Builder
	// Each line is c.size runes of up to 3 bytes plus a newline.
	b.Grow((c.size + 1) / 2 * (3*c.size + 1))
	// The size is odd, so the last line pairs the final row with a light
	// row beyond the edge, which only widens the bottom quiet zone.
	for y := 0; y < c.size; y += 2 {
		for x := range c.size {
			switch top, bottom := c.isDark(x, y), c.isDark(x, y+1); {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// PNG encodes text and renders it as a PNG about size pixels wide: the
// module size is the whole number of pixels that fits size (rounded down),
// but never less than MinPixelsPerModule, so long texts in a small size come
// out wider than asked rather than unreadable.
func PNG(text string, size int) ([]byte, error) {
	c, err := Encode(text)
	if err != nil {
		return nil, err
	}
	return c.PNG(c.pixelsPerModuleFor(size))
}

// pixelsPerModuleFor returns the module size PNG uses for a requested width.
func (c *Code) pixelsPerModuleFor(size int) int {
	return max(size/c.size, MinPixelsPerModule)
}
