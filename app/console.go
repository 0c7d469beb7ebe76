package main

import (
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"provisio/app/internal/supervisor"
	"provisio/assets"
	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/mailer"
	"provisio/core/store"
	"provisio/ui"
)

// appID must match FyneApp.toml.
const appID = "io.provisio.console"

// console opens the data directory, starts the embedded server and runs
// the window until it is closed.
func (c *cli) console() error {
	e, err := openEnvKey(c.dataDir, c.keyDir)
	if errors.Is(err, store.ErrLocked) {
		// Held by the service (or another console): attach to it over
		// its admin socket instead of exiting, when it answers there.
		if api, derr := adminapi.Dial(filepath.Join(c.dataDir, adminapi.SocketName)); derr == nil {
			return c.attachedConsole(api)
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrLocked) && !isTerminal(c.errOut) {
			// Started from a desktop menu: stderr goes nowhere anyone
			// looks, so say it in a window too.
			a := app.NewWithID(appID)
			a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
			ui.ShowNotice(a, "Provisio is already running",
				"Another Provisio is already using the data directory "+c.dataDir+
					". Switch to its window, or close it and start Provisio again.").ShowAndRun()
		}
		return err
	}
	defer e.close()
	rs := e.sup
	startErr := rs.Restart()
	defer rs.Stop()
	defer e.startMail()()
	defer e.startWorkers(c.errOut)()
	defer e.startAdmin(c.errOut)()

	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	w := a.NewWindow("Provisio")
	con := ui.New(a, w, ui.Deps{
		Service:       e.svc,
		Mail:          mailer.Tools{},
		Fingerprint:   e.sup.Fingerprint(),
		Version:       appVersion(a),
		DataDir:       c.dataDir,
		Documentation: docsURL(),
		// The console stays useful for users and settings (for example to
		// change server.listen) while the server cannot start; it shows
		// the reason as a sentence.
		StartErr:       startErr,
		ServerURLs:     rs.URLs,
		RestartServer:  rs.Restart,
		RegenerateCert: rs.RegenerateCert,
		Certificate:    e.certInfo,
		CheckCertFiles: supervisor.CheckCertFiles,
	})
	defer con.Close()
	w.ShowAndRun()
	return nil
}

// attachedConsole runs the console attached to the Provisio that holds
// the data directory, through its admin API; closing it leaves that
// server running.
func (c *cli) attachedConsole(api core.AdminAPI) error {
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	w := a.NewWindow("Provisio (attached to the service)")
	w.Resize(fyne.NewSize(1100, 700))
	at := ui.NewAttached(w, ui.AttachedDeps{API: api, DataDir: c.dataDir})
	defer at.Close()
	w.ShowAndRun()
	return nil
}

// certInfo describes the certificate the server presents now, for the
// Server screen.
func (e *env) certInfo() ui.CertInfo {
	c := e.sup.Certificate()
	return ui.CertInfo{Fingerprint: c.Fingerprint, FromFiles: c.FromFiles, Names: c.Names, NotAfter: c.NotAfter, Problem: c.Problem}
}

// isTerminal reports whether w is a terminal, where a person reads what
// the program prints. Anything else (a pipe, a file, a desktop launcher's
// /dev/null, a buffer) is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	// /dev/null is a character device too; desktop launchers use it.
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// appVersion is the version in FyneApp.toml when the package was built
// with the fyne tool, else the source revision Go recorded.
func appVersion(a fyne.App) string {
	if v := a.Metadata().Version; v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "development build " + s.Value[:12]
			}
		}
	}
	return ""
}

// docsURL finds README.md next to the program (the release tarball puts
// it there) or in the working directory (a source checkout).
func docsURL() *url.URL {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
	}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	for _, d := range dirs {
		p := filepath.Join(d, "README.md")
		if _, err := os.Stat(p); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return &url.URL{Scheme: "file", Path: abs}
			}
		}
	}
	return nil
}
