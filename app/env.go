package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/certs"
	"provisio/core/mailer"
	"provisio/core/qr"
	"provisio/core/store"
)

// env is an opened data directory: the store, the service over it and the
// server certificate.
type env struct {
	dir  string
	st   *store.Store
	svc  *core.Service
	cert tls.Certificate
	fp   string
}

// defaultDataDir is os.UserConfigDir()/provisio.
func defaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "provisio-data"
	}
	return filepath.Join(dir, "provisio")
}

// openEnv opens the data directory, creating it on first use. It fails
// within about a second with a plain sentence when another Provisio holds
// the directory.
func openEnv(dir string) (*env, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	st, err := store.Open(dir, store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%s is in use: %w", dir, store.ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	svc, err := core.NewService(st, core.WithFreeSpace(store.FreeSpace(dir)))
	if err != nil {
		st.Close()
		return nil, err
	}
	return &env{dir: dir, st: st, svc: svc}, nil
}

// loadCert loads the server certificate, generating it on first run.
func (e *env) loadCert() error {
	cert, err := certs.LoadOrCreate(e.dir, certs.DefaultNames())
	if err != nil {
		return err
	}
	e.cert, e.fp = cert, certs.Fingerprint(cert)
	return nil
}

func (e *env) close() { e.st.Close() }

// startServer opens the HTTPS listener (and the plain one when set).
func (e *env) startServer(listen string) (*agentxml.Server, error) {
	if err := e.loadCert(); err != nil {
		return nil, err
	}
	srv := agentxml.New(e.svc, agentxml.Options{Certificate: e.cert, Fingerprint: e.fp, QRPNG: qr.PNG})
	if err := srv.Open(listen); err != nil {
		return nil, fmt.Errorf("start the server on %s: %w", listen, err)
	}
	if h := e.svc.Settings().HTTPListen; h != "" {
		if err := srv.OpenHTTP(h); err != nil {
			srv.Close()
			return nil, fmt.Errorf("start the plain HTTP listener on %s: %w", h, err)
		}
	}
	return srv, nil
}

// mailQRSize is the width in pixels of the QR image in provision mail:
// big enough to scan from a phone held to a laptop screen.
const mailQRSize = 300

// mailWorker returns the sender of the outbox.
func (e *env) mailWorker() *mailer.Worker {
	return &mailer.Worker{
		Service: e.svc,
		QRPNG:   func(text string) ([]byte, error) { return qr.PNG(text, mailQRSize) },
	}
}

// startMail runs the outbox sender until the returned stop function is
// called; stop waits for it, so the store can be closed after.
func (e *env) startMail() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.mailWorker().Run(ctx)
	}()
	return func() { cancel(); <-done }
}

// startWorkers runs the service's background work (aggregated refusals,
// audit log trim, free-space check) until the returned stop function is
// called, and sends health problems and failed commits to errOut, where a
// person sees them even when the log cannot be written.
func (e *env) startWorkers(errOut io.Writer) (stop func()) {
	e.svc.SetReport(func(msg string) { fmt.Fprintf(errOut, "provisio: %s\n", msg) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.RunMaintenance(ctx, func(err error) { fmt.Fprintf(errOut, "provisio: %v\n", err) })
	}()
	return func() { cancel(); <-done }
}

// serverURLs lists the addresses phones and agents can use: the advertised
// host first, then every LAN address when listening on all interfaces.
func serverURLs(svc *core.Service, listen string) []string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		u := "https://" + net.JoinHostPort(h, port) + "/"
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	add(svc.AdvertisedHost())
	if host == "" || host == "0.0.0.0" || host == "::" {
		for _, a := range core.LANAddresses() {
			add(a.String())
		}
	} else {
		add(host)
	}
	return out
}
