package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// ShowNotice makes a small window that says text and closes with its OK
// button, Enter or Escape. package main shows it when the console cannot
// start and nobody reads stderr (started from a desktop menu); the
// caller shows it and runs the app.
func ShowNotice(a fyne.App, title, text string) fyne.Window {
	a.Settings().SetTheme(Theme())
	w := a.NewWindow(title)
	msg := &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
	ok := widget.NewButton("OK", w.Close)
	ok.Importance = widget.HighImportance
	w.SetContent(container.NewBorder(nil, container.NewCenter(ok), nil, nil, msg))
	w.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch ev.Name {
		case fyne.KeyEscape, fyne.KeyReturn, fyne.KeyEnter:
			w.Close()
		}
	})
	w.Resize(fyne.NewSize(440, 160))
	w.CenterOnScreen()
	return w
}
