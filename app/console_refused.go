package main

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"provisio/assets"
	"provisio/core/store"
	"provisio/ui"
)

// consoleRefused says in a window why the console did not open the data,
// when the console was started from a desktop menu: its stderr goes
// nowhere anyone looks, and a data file (or etcd site) of a newer data
// format is exactly what someone who went back to an older version meets
// first. A terminal gets the sentence on stderr only (cli.fail).
func (c *cli) consoleRefused(err error) {
	if errors.Is(err, store.ErrNewerFormat) && !isTerminal(c.errOut) {
		noticeWindow("Provisio cannot open this data", err.Error())
	}
}

// noticeWindow shows text in a window of its own until it is closed.
// Tests replace it: a real window needs a display.
var noticeWindow = func(title, text string) {
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	ui.ShowNotice(a, title, text).ShowAndRun()
}
