package main

import (
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"provisio/assets"
	"provisio/core/agentxml"
	"provisio/core/certs"
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
	rs := &restartable{env: e}
	startErr := rs.Restart()
	defer rs.stop()
	defer e.startMail()()
	defer e.startWorkers(c.errOut)()

	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	w := a.NewWindow("Provisio")
	con := ui.New(a, w, ui.Deps{
		Service:     e.svc,
		Fingerprint: e.fp,
		// The console stays useful for users and settings (for example to
		// change server.listen) while the server cannot start; it shows
		// the reason as a sentence.
		StartErr:       startErr,
		ServerURLs:     rs.URLs,
		RestartServer:  rs.Restart,
		RegenerateCert: rs.RegenerateCert,
	})
	defer con.Close()
	w.ShowAndRun()
	return nil
}

// restartable is the embedded server as the console's Server screen sees
// it: restarted to apply a new address or certificate without restarting
// the program. The UI calls it off the UI thread, hence the mutex.
type restartable struct {
	env    *env
	mu     sync.Mutex
	srv    *agentxml.Server
	listen string
}

// Restart stops the server, if it runs, and starts it with the current
// settings and the certificate on disk.
func (r *restartable) Restart() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
	r.listen = r.env.svc.Settings().Listen
	srv, err := r.env.startServer(r.listen)
	if err != nil {
		return err
	}
	r.srv = srv
	return nil
}

// URLs lists the server's addresses, none while it is stopped.
func (r *restartable) URLs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil {
		return nil
	}
	return serverURLs(r.env.svc, r.listen)
}

// RegenerateCert writes a new certificate; the console restarts the
// server right after, which loads it.
func (r *restartable) RegenerateCert() (string, error) {
	cert, err := certs.Regenerate(r.env.dir, certs.DefaultNames())
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.env.cert, r.env.fp = cert, certs.Fingerprint(cert)
	return r.env.fp, nil
}

func (r *restartable) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
	}
}
