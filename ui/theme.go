package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// consoleTheme is Fyne's theme with text colours that meet WCAG AA
// contrast (4.5:1) on every background the console draws them on, in the
// light and the dark variant. Fyne's own light greys and bright status
// colours are around 1.5:1 to 3.7:1: hints, captions (LowImportance
// labels use the Disabled colour), placeholders and red error text were
// hard to read. theme_test.go computes every pair.
type consoleTheme struct{ fyne.Theme }

// Theme returns the console's theme; New installs it on the app.
func Theme() fyne.Theme { return consoleTheme{theme.DefaultTheme()} }

// rgb is an opaque colour from a 0xRRGGBB value.
func rgb(v uint32) color.Color {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// Overrides per variant; names not listed are Fyne's.
var (
	darkColours = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameDisabled:            rgb(0xababab),
		theme.ColorNamePlaceHolder:         rgb(0xb2b2b2),
		theme.ColorNamePrimary:             rgb(0x7aaaff),
		theme.ColorNameHyperlink:           rgb(0x8ab4ff),
		theme.ColorNameError:               rgb(0xff8a80),
		theme.ColorNameSuccess:             rgb(0x5fe35a),
		theme.ColorNameWarning:             rgb(0xffb74d),
		theme.ColorNameForegroundOnPrimary: rgb(0x101012),
		theme.ColorNameForegroundOnError:   rgb(0x101012),
		theme.ColorNameForegroundOnSuccess: rgb(0x101012),
		theme.ColorNameForegroundOnWarning: rgb(0x101012),
		// Fyne's 40% white flash would leave text on a pressed button
		// unreadable for a moment.
		theme.ColorNamePressed: color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 25},
	}
	lightColours = map[fyne.ThemeColorName]color.Color{
		theme.ColorNameForeground:          rgb(0x262626),
		theme.ColorNameDisabled:            rgb(0x5c5c5c),
		theme.ColorNamePlaceHolder:         rgb(0x5a5a5a),
		theme.ColorNamePrimary:             rgb(0x1550bd),
		theme.ColorNameHyperlink:           rgb(0x1550bd),
		theme.ColorNameError:               rgb(0xb3261e),
		theme.ColorNameSuccess:             rgb(0x17622a),
		theme.ColorNameWarning:             rgb(0x8a4b00),
		theme.ColorNameForegroundOnPrimary: rgb(0xffffff),
		theme.ColorNameForegroundOnError:   rgb(0xffffff),
		theme.ColorNameForegroundOnSuccess: rgb(0xffffff),
		theme.ColorNameForegroundOnWarning: rgb(0xffffff),
	}
)

// Color returns the console's colour for n in variant v.
func (t consoleTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	// As Fyne's own theme: anything but light is dark.
	m := darkColours
	if v == theme.VariantLight {
		m = lightColours
	}
	if c, ok := m[n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}
