package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"provisio/app/internal/supervisor"
	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/mailer"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store"
)

// env is an opened data directory: the store, the service over it and the
// server certificate.
type env struct {
	dir string
	// keyDir holds the data key and the generated certificate's private
	// key, apart from dir (#13).
	keyDir string
	st     *store.Store
	svc    *core.Service
	// sup runs the HTTPS server and holds its certificate.
	sup *supervisor.Supervisor
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
func openEnv(dir string) (*env, error) { return openEnvKey(dir, "") }

// keyDirFor is the key directory for dataDir: the --key-dir flag (flag),
// PROVISIO_KEY_DIR, or the sibling "<data>-keys".
func keyDirFor(dataDir, flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("PROVISIO_KEY_DIR"); d != "" {
		return d
	}
	return store.DefaultKeyDir(dataDir)
}

// openEnvKey is openEnv with the data key read from keyDir (keyDirFor).
// opts are extra service options (tests inject a clock).
func openEnvKey(dir, keyDir string, opts ...core.Option) (*env, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	keyDir = keyDirFor(dir, keyDir)
	st, err := store.Open(dir, store.Options{HeldData: heldData(dir), KeyDir: keyDir})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%s is in use: %w", dir, store.ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	svc, err := core.NewService(st, append([]core.Option{core.WithOATHKeys(oathkey.Keys{}), core.WithFreeSpace(store.FreeSpace(dir))}, opts...)...)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := moveTLSKey(dir, keyDir); err != nil {
		_ = svc.Log(core.LevelError, "", "The server certificate's private key was not moved to the key directory: %v", err)
	}
	e := &env{dir: dir, keyDir: keyDir, st: st, svc: svc, sup: supervisor.New(dir, keyDir, svc)}
	svc.SetBackupWriter(e.backupEngine())
	return e, nil
}

// heldData says why dir is known to have held data, for store.Options:
// a server certificate is made on the first console or server start, so
// a directory that has one had a data file too.
func heldData(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, certs.CertFile)); err == nil {
		return "its server certificate " + certs.CertFile + " is there"
	}
	return ""
}

func (e *env) close() { e.st.Close() }

// logPanic writes a recovered panic's value to the audit log, never its
// stack (which could show data), and reports whether the write worked. A
// second panic while logging (the store itself failing) is swallowed.
func (e *env) logPanic(what string, v any) (logged bool) {
	defer func() {
		if recover() != nil {
			logged = false
		}
	}()
	return e.svc.Log(core.LevelError, "", "%s, error: internal error: %v", what, v) == nil
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
		// A goroutine of its own: a panic here would end the program with
		// a stack trace, taking the server down with it.
		defer func() {
			if v := recover(); v != nil {
				e.logPanic("Mail sending stopped until Provisio restarts", v)
			}
		}()
		e.mailWorker().Run(ctx)
	}()
	// Unconfirmed OATH tokens expire on the same lifetime (core/oath.go).
	oathDone := make(chan struct{})
	go func() {
		defer close(oathDone)
		e.svc.RunOATHExpiry(ctx.Done(), func(err error) {
			_ = e.svc.Log(core.LevelError, "", "OATH token expiry failed: %v", err)
		})
	}()
	return func() { cancel(); <-done; <-oathDone }
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

// startBackups takes the scheduled backups (backup.* settings) until the
// returned stop function is called. It is wired once, in the process
// that serves (serve, or the console running the server).
func (e *env) startBackups() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				e.logPanic("Scheduled backups stopped until Provisio restarts", v)
			}
		}()
		e.svc.RunScheduledBackups(ctx, core.BackupCheckEvery)
	}()
	return func() { cancel(); <-done }
}

// startAdmin serves the admin API on the data directory's admin.sock, so
// CLI commands (and later consoles) started while this process holds the
// directory attach to it instead of failing, and to paired remote
// consoles over mutual TLS on server.admin_listen (startRemoteAdmin).
// Without either the server still authenticates; the reason goes to
// errOut and the log.
func (e *env) startAdmin(errOut io.Writer) (stop func()) {
	stopRemote := e.startRemoteAdmin(errOut)
	srv, err := adminapi.Listen(filepath.Join(e.dir, adminapi.SocketName), e.svc)
	if err != nil {
		fmt.Fprintf(errOut, "provisio: %v; commands cannot attach to this server.\n", err)
		_ = e.svc.Log(core.LevelError, "", "The admin socket did not open (%v); commands cannot attach to this server.", err)
		return stopRemote
	}
	return func() { srv.Close(); stopRemote() }
}

// startRemoteAdmin opens the remote admin listener (server.admin_listen)
// with the server's certificate and the console CA in the key directory.
// It is read once at start, like the other listeners.
func (e *env) startRemoteAdmin(errOut io.Writer) (stop func()) {
	listen := e.svc.Settings().AdminListen
	if listen == "" {
		return func() {}
	}
	if e.sup.Reloader() == nil {
		if err := e.sup.LoadCert(); err != nil {
			_ = e.svc.Log(core.LevelError, "", "The remote console listener (server.admin_listen %s) did not start: %v", listen, err)
			return func() {}
		}
	}
	srv, err := adminapi.ListenRemote(listen, e.svc, adminapi.RemoteOptions{
		GetCertificate: e.sup.Reloader().GetCertificate,
		CA:             certs.NewConsoleCA(e.keyDir), // beside the device CA (#14)
	})
	if err != nil {
		// Not fatal: phones and agents are served either way.
		fmt.Fprintf(errOut, "provisio: %v; remote consoles cannot connect.\n", err)
		_ = e.svc.Log(core.LevelError, "", "The remote console listener (server.admin_listen %s) did not start: %v", listen, err)
		return func() {}
	}
	e.svc.SetConsoleEndpoint(consoleAddr(e.svc, srv.Addr()), e.sup.Reloader().Fingerprint)
	return func() {
		e.svc.SetConsoleEndpoint("", nil)
		srv.Close()
	}
}

// consoleAddr is the address a remote console is told to connect to:
// the listener's, with the advertised host when it listens on every
// interface.
func consoleAddr(svc *core.Service, bound string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = svc.AdvertisedHost()
	}
	return net.JoinHostPort(host, port)
}

// moveTLSKey moves a generated certificate's private key made before #13
// from the data directory into the key directory, where it is kept since.
// The copy is synced before the original is removed, so a crash leaves
// one of the two.
func moveTLSKey(dataDir, keyDir string) error {
	from, to := filepath.Join(dataDir, certs.KeyFile), filepath.Join(keyDir, certs.KeyFile)
	data, err := os.ReadFile(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := os.Stat(to); err == nil {
		// Both exist (a crash between the two steps): the key directory's
		// copy is the one in use.
		return os.Remove(from)
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(to+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(to+".tmp", to)
	}
	if err != nil {
		return err
	}
	return os.Remove(from)
}
