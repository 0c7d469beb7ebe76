package webclient

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"provisio/assets"
)

// Icon sizes the manifest lists: 192 for the home screen, 512 for the
// splash screen. Both are made from the application icon on first use.
var iconSizes = map[string]int{"192": 192, "512": 512}

var icons sync.Map // size string → []byte

func (h *Handler) icon(w http.ResponseWriter, r *http.Request) {
	size := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, App+"icon-"), ".png")
	px, ok := iconSizes[size]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, ok := icons.Load(size)
	if !ok {
		img, err := scaledIcon(px)
		if err != nil {
			h.svc.RequestFailed("Web client icon", err)
			http.Error(w, "The icon could not be made.", http.StatusInternalServerError)
			return
		}
		b, _ = icons.LoadOrStore(size, img)
	}
	data := b.([]byte)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "max-age=86400")
	_, _ = w.Write(data)
}

// scaledIcon shrinks the 512-pixel icon to px pixels by averaging the
// source pixels each target pixel covers (a box filter), which keeps the
// edges smooth without an image library.
func scaledIcon(px int) ([]byte, error) {
	src, err := png.Decode(bytes.NewReader(assets.Icon))
	if err != nil {
		return nil, err
	}
	sb := src.Bounds()
	if sb.Dx() == px && sb.Dy() == px {
		return assets.Icon, nil
	}
	dst := image.NewNRGBA(image.Rect(0, 0, px, px))
	for y := 0; y < px; y++ {
		y0, y1 := sb.Min.Y+y*sb.Dy()/px, sb.Min.Y+(y+1)*sb.Dy()/px
		for x := 0; x < px; x++ {
			x0, x1 := sb.Min.X+x*sb.Dx()/px, sb.Min.X+(x+1)*sb.Dx()/px
			var r, g, b, a, n uint64
			for sy := y0; sy < max(y1, y0+1); sy++ {
				for sx := x0; sx < max(x1, x0+1); sx++ {
					c := color.NRGBA64Model.Convert(src.At(sx, sy)).(color.NRGBA64)
					// Weight colour by alpha so transparent pixels do not
					// darken the edges.
					r += uint64(c.R) * uint64(c.A)
					g += uint64(c.G) * uint64(c.A)
					b += uint64(c.B) * uint64(c.A)
					a += uint64(c.A)
					n++
				}
			}
			if a > 0 {
				dst.SetNRGBA(x, y, color.NRGBA{R: uint8(r / a >> 8), G: uint8(g / a >> 8), B: uint8(b / a >> 8), A: uint8(a / n >> 8)})
			}
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
