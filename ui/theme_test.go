package ui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// luminance is the WCAG 2 relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG 2 contrast ratio of two opaque colours.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over composites a translucent colour (hover, selection) over an opaque
// one, as the screen shows it.
func over(top, bottom color.Color) color.Color {
	t := color.NRGBAModel.Convert(top).(color.NRGBA)
	b := color.NRGBAModel.Convert(bottom).(color.NRGBA)
	a := float64(t.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(t.R, b.R), G: mix(t.G, b.G), B: mix(t.B, b.B), A: 0xff}
}

// TestTheme_ContrastAA computes, from the theme's own colours, the
// contrast of every text colour the console uses (labels of every
// importance, placeholders, links) on every background it can sit on
// (window, entries, dialogs, menus, buttons, selected and hovered rows),
// and of the text on coloured buttons, in both variants. WCAG AA asks
// 4.5:1 for normal text.
func TestTheme_ContrastAA(t *testing.T) {
	const aa = 4.5
	texts := []fyne.ThemeColorName{
		theme.ColorNameForeground, theme.ColorNameDisabled, theme.ColorNamePlaceHolder,
		theme.ColorNamePrimary, theme.ColorNameHyperlink, theme.ColorNameError,
		theme.ColorNameSuccess, theme.ColorNameWarning,
	}
	backgrounds := []fyne.ThemeColorName{
		theme.ColorNameBackground, theme.ColorNameInputBackground, theme.ColorNameOverlayBackground,
		theme.ColorNameMenuBackground, theme.ColorNameHeaderBackground, theme.ColorNameButton,
		theme.ColorNameDisabledButton,
	}
	onColours := map[fyne.ThemeColorName]fyne.ThemeColorName{
		theme.ColorNameForegroundOnPrimary: theme.ColorNamePrimary,
		theme.ColorNameForegroundOnError:   theme.ColorNameError,
		theme.ColorNameForegroundOnSuccess: theme.ColorNameSuccess,
		theme.ColorNameForegroundOnWarning: theme.ColorNameWarning,
	}
	th := Theme()
	for _, v := range []struct {
		name    string
		variant fyne.ThemeVariant
	}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}} {
		t.Run(v.name, func(t *testing.T) {
			col := func(n fyne.ThemeColorName) color.Color { return th.Color(n, v.variant) }
			bgs := map[string]color.Color{}
			for _, b := range backgrounds {
				bgs[string(b)] = col(b)
			}
			base := col(theme.ColorNameBackground)
			bgs["selected row"] = over(col(theme.ColorNameSelection), base)
			bgs["hovered row"] = over(col(theme.ColorNameHover), base)
			bgs["pressed"] = over(col(theme.ColorNamePressed), col(theme.ColorNameButton))
			for _, tx := range texts {
				for bn, bc := range bgs {
					if r := contrast(col(tx), bc); r < aa {
						t.Errorf("%s text on %s: %.2f:1, want at least %.1f:1", tx, bn, r, aa)
					}
				}
			}
			for fg, bg := range onColours {
				if r := contrast(col(fg), col(bg)); r < aa {
					t.Errorf("%s on %s: %.2f:1, want at least %.1f:1", fg, bg, r, aa)
				}
			}
		})
	}
}

// TestConsole_UsesContrastTheme checks that the console installs the
// theme the contrast test measured, so the numbers are what admins see.
func TestConsole_UsesContrastTheme(t *testing.T) {
	a := test.NewTempApp(t)
	svc := storetest.MustService(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	c := New(a, w, Deps{Service: svc, Mail: mailer.Tools{}})
	defer c.Close()
	if _, ok := a.Settings().Theme().(consoleTheme); !ok {
		t.Fatalf("the console runs with %T, not its AA theme", a.Settings().Theme())
	}
}
