package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"

	"provisio/assets"
	"provisio/ui"
)

// appID must match FyneApp.toml.
const appID = "io.provisio.console"

// console opens the data directory, starts the embedded server and runs
// the window until it is closed.
func (c *cli) console() error {
	e, err := openEnv(c.dataDir)
	if err != nil {
		return err
	}
	defer e.close()
	listen := e.svc.Settings().Listen
	srv, srvErr := e.startServer(listen)
	if srv != nil {
		defer srv.Close()
	}
	defer e.startMail()()

	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := a.NewWindow("Provisio")
	con := ui.New(a, w, ui.Deps{
		Service:     e.svc,
		Fingerprint: e.fp,
		ServerURLs: func() []string {
			if srv == nil {
				return nil
			}
			return serverURLs(e.svc, listen)
		},
	})
	defer con.Close()
	if srvErr != nil {
		// The console stays useful for managing users and settings (for
		// example to change server.listen) while the server cannot start.
		dialog.ShowError(srvErr, w)
	}
	w.ShowAndRun()
	return nil
}
