package main

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"provisio/app/internal/supervisor"
	"provisio/assets"
	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml"
	"provisio/core/certs"
	"provisio/core/mailer"
	"provisio/core/store"
	"provisio/ui"
)

// appID must match FyneApp.toml.
const appID = "io.provisio.console"

// console opens the data directory, starts the embedded server and runs
// the window until it is closed.
func (c *cli) console() error {
	// Only the process holding the directory serves its admin socket, so
	// an answer there means a server runs on it: attach at once, as the
	// commands do (attach). On an etcd site this is the only sign of it:
	// the records are in etcd and nothing locks the directory, so
	// openEnv below would succeed and start a second server on the same
	// directory, take over its admin socket and leave it dead on close.
	if api, ok := c.dialSocket(); ok {
		return c.attachedConsole(api)
	}
	e, err := c.openEnv(core.ConsoleActor)
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
	// The server runs in this process: on one CPU it needs a second P so
	// that a commit's fdatasync does not stall every other request. The
	// collector setting stays the default: the console's memory is
	// measured (docs/benchmarks.md).
	agentxml.TuneProcs()
	rs := e.sup
	startErr := rs.Restart()
	defer rs.Stop()
	defer e.startMail()()
	defer e.startWorkers(c.errOut)()
	defer e.startBackups()()
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
		RegenerateCert: e.regenerateCert,
		Certificate:    e.certInfo,
		CheckCertFiles: supervisor.CheckCertFiles,
		ServiceCommand: serviceInstallCommand(c.store),
		Store:          e.storeInfo,
	})
	defer con.Close()
	reportStartup(a, c.errOut)
	w.ShowAndRun()
	return nil
}

// reportStartup prints, when PROVISIO_TIMING is set, how long after the
// program started the console's event loop ran: its first frame follows
// within one refresh (docs/benchmarks.md measures it with this).
func reportStartup(a fyne.App, out io.Writer) {
	if os.Getenv("PROVISIO_TIMING") == "" {
		return
	}
	a.Lifecycle().SetOnStarted(func() {
		fmt.Fprintf(out, "timing: console running %.3f s after the program started\n", time.Since(programStart).Seconds())
	})
}

// attachedConsole runs the full console attached to the Provisio that
// holds the data directory, through its admin API (callers on the socket
// have the admin role); closing it leaves that server running.
func (c *cli) attachedConsole(api *adminapi.Client) error {
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	w := a.NewWindow("Provisio (attached to the service)")
	con := ui.New(a, w, c.attachedDeps(a, adminapi.NewConsole(api), c.dataDir, ""))
	defer con.Close()
	w.ShowAndRun()
	return nil
}

// fullConsole says which window a --connect console opens: an admin
// pairing gets the full console, a helpdesk pairing the users and the
// helpdesk's actions (docs/decisions.md), and so does a server that cannot
// say who this console is: the smaller window is the safe guess, and the
// server refuses what the role may not do either way.
func fullConsole(api interface {
	Me() (core.AdminOperator, error)
}) bool {
	me, err := api.Me()
	return err == nil && me.Role == core.RoleAdmin
}

// attachedDeps is what the full console needs when it is attached to a
// service over the admin API at where (a data directory or HOST:PORT).
// What only the process running the server can do (restart it, replace
// its certificate, check certificate files against its key) stays nil:
// the console says to do it on the service. fingerprint is the pinned
// server certificate's, "" to read it from the data directory.
func (c *cli) attachedDeps(a fyne.App, k *adminapi.Console, where, fingerprint string) ui.Deps {
	dataDir := "" // a remote server's is not on this machine
	if fingerprint == "" {
		dataDir = c.dataDir
		fingerprint = certFileFingerprint(c.dataDir, k.Settings().TLSCert)
	}
	return ui.Deps{
		Service: k,
		Mail:    k.MailTools(),
		// Where the service's server answers, its certificate and store,
		// as it reports them (GET /v1/server).
		ServerURLs: func() []string { return k.ServerStatus().URLs },
		Certificate: func() ui.CertInfo {
			cs := k.ServerStatus().Certificate
			ci := ui.CertInfo{Fingerprint: cs.Fingerprint, FromFiles: cs.FromFiles, Names: cs.Names, NotAfter: cs.NotAfter}
			if cs.Problem != "" {
				ci.Problem = errors.New(cs.Problem)
			}
			return ci
		},
		Store:          func() ui.StoreInfo { return k.ServerStatus().Store },
		Fingerprint:    fingerprint,
		Version:        appVersion(a),
		DataDir:        dataDir,
		Documentation:  docsURL(),
		ServiceCommand: serviceInstallCommand(storeChoice{}),
		Attached:       where,
	}
}

// certFileFingerprint is the SHA-256 fingerprint of the certificate the
// service presents: the administrator's file when set, else the one it
// generated in the data directory; "" when it cannot be read.
func certFileFingerprint(dataDir, tlsCert string) string {
	path := tlsCert
	if path == "" {
		path = filepath.Join(dataDir, certs.CertFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return ""
	}
	return core.CertFingerprint(block.Bytes)
}

// remoteConsole opens the console of the server named by --connect, as a
// paired console: the first time it asks for a pairing code in the
// window and pins the server's certificate (adminapi.Pair).
func (c *cli) remoteConsole() error {
	addr, err := adminapi.NormalizeAddr(c.connect)
	if err != nil {
		return usagef("%v", err)
	}
	dir := c.identityDir(addr)
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource(assets.IconResource()))
	w := a.NewWindow("Provisio — " + addr)
	w.Resize(fyne.NewSize(1100, 700))
	var at *ui.Attached
	var con *ui.Console
	var pairing *ui.Pairing
	var problem *ui.ConnectProblem
	defer func() {
		if problem != nil {
			problem.Close()
		}
		if pairing != nil {
			pairing.Close()
		}
		if at != nil {
			at.Close()
		}
		if con != nil {
			con.Close()
		}
	}()
	var connect, pair func()
	// dial connects with the pairing kept in dir and says which window
	// to open; it asks the server, so the connect-problem window calls
	// it off the UI thread. open runs on the UI thread.
	dial := func() (open func(), err error) {
		id, err := adminapi.LoadIdentity(dir)
		if errors.Is(err, adminapi.ErrNotPaired) {
			return func() { pair() }, nil
		}
		var api *adminapi.Client
		if err == nil {
			api, err = adminapi.DialRemote(id)
		}
		if err != nil {
			return nil, err
		}
		if fullConsole(api) {
			return func() {
				con = ui.New(a, w, c.attachedDeps(a, adminapi.NewConsole(api), addr, id.ServerFingerprint))
			}, nil
		}
		return func() { at = ui.NewAttached(w, ui.AttachedDeps{API: api, Remote: addr}) }, nil
	}
	// opening is what dial said, for the UI thread: the window to open,
	// or the connect-problem window with why it could not connect.
	opening := func(open func(), err error) func() {
		if err == nil {
			return open
		}
		return func() {
			problem = ui.ShowConnectProblem(w, ui.ConnectProblemDeps{Server: addr, Err: err, Dial: dial, Repair: func() {
				_ = os.RemoveAll(dir)
				pair()
			}})
		}
	}
	// connect runs at start-up, before the window shows: its request
	// holds no window.
	connect = func() { opening(dial())() }
	pair = func() {
		var fp string
		var serverPEM []byte
		var paired func()
		pairing = ui.NewPairing(w, ui.PairingDeps{
			Server: addr,
			Probe: func() (string, error) {
				var err error
				fp, serverPEM, err = adminapi.ServerFingerprint(addr)
				return fp, err
			},
			// Pair and the first connection run off the UI thread;
			// Paired opens on it what they found.
			Pair: func(code string) error {
				id, err := adminapi.Pair(addr, fp, serverPEM, code)
				if err != nil {
					return err
				}
				if err := id.Save(dir); err != nil {
					return err
				}
				paired = opening(dial())
				return nil
			},
			Paired: func() { paired() },
			Quit:   a.Quit,
		})
	}
	connect()
	w.ShowAndRun()
	return nil
}

// serviceInstallCommand is the command the console's "Install as a
// service" shows: this program by its path, so root runs the same build,
// unless it is a throw-away build of `go run` (make run), which is gone
// once the console closes; with the console's etcd store, sc, so the
// service serves the same site (the unit carries them, service.go).
func serviceInstallCommand(sc storeChoice) string {
	cmd := "sudo provisio"
	if exe, err := os.Executable(); err == nil && !strings.Contains(exe, "go-build") && !strings.ContainsAny(exe, " '\"$`") {
		cmd = "sudo " + exe
	}
	for _, f := range []struct{ flag, v string }{{"--store", sc.url}, {"--etcd-ca", absPath(sc.ca)}, {"--etcd-cert", absPath(sc.cert)}, {"--etcd-key", absPath(sc.key)}} {
		if f.v != "" {
			cmd += " " + f.flag + " " + shellWord(f.v)
		}
	}
	return cmd + " service install"
}

// shellWord quotes v for a POSIX shell unless it is plain.
func shellWord(v string) string {
	const plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._:,=@+-"
	if v != "" && strings.IndexFunc(v, func(r rune) bool { return !strings.ContainsRune(plain, r) }) < 0 {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
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
