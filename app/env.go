package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"provisio/app/internal/supervisor"
	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/etcdstore"
	"provisio/core/mailer"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store"
	"provisio/ui"
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
	// kv is the etcd cluster the records are in (--store etcd://...);
	// nil for the data file.
	kv *etcdstore.KV
	// node names this server among those sharing kv, and leader elects
	// the one that sends mail and trims the log (issue #16).
	node   string
	leader *etcdstore.Leader
	// unlockDir releases the data directory a server on etcd holds
	// (openEnvStore); nil when nothing was taken.
	unlockDir func()
	// identityMu keeps regenerateCert and syncIdentity apart (identity.go):
	// a check between a regeneration's local files and its copy in the
	// store would put the old certificate back, or log the server's own
	// new one as another server's.
	identityMu sync.Mutex
}

// tightenDataDir makes the data directory 0700 when this process owns it
// and others may enter it: os.MkdirAll leaves an existing directory as it
// is, and one made by hand (or by service install before the service
// first ran) may be 0755, while it holds the records, the generated
// certificate and the admin socket. It returns a sentence saying so when
// it changed the mode (the next open finds 0700 and says nothing), or why
// it could not; "" otherwise, also when the directory does not exist yet
// (openEnvStore creates it 0700). A directory another user owns (root
// running a command on the service's) is left alone.
func tightenDataDir(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 == 0 || !ownedBySelf(fi) {
		return ""
	}
	old := fi.Mode().Perm()
	if err := os.Chmod(dir, old&^0o077); err != nil {
		return fmt.Sprintf("provisio: the data directory %s lets other users in (mode %04o) and could not be restricted: %v.", dir, old, err)
	}
	return fmt.Sprintf("provisio: the data directory %s let other users in (mode %04o); it is now %04o, for its owner only.", dir, old, old&^0o077)
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

// openEnvKey is openEnv with the data key read from keyDir (keyDirFor),
// and the store PROVISIO_STORE names, if any, acting for the console.
// opts are extra service options (tests inject a clock).
func openEnvKey(dir, keyDir string, opts ...core.Option) (*env, error) {
	return openEnvStore(dir, keyDir, storeChoice{}.withEnvDefaults(), core.ConsoleActor, opts...)
}

// openEnvStore is openEnvKey with the records where sc says: with etcd
// the data directory still holds this node's certificate files and admin
// socket, and the data key is read from the key directory as for the
// file (every node is given the same provisio.key). The service acts for
// actor, and the store is told it too, so the lines the store writes
// itself (a data file's first encryption) name the same actor as the
// service's lines (store.Options.Actor).
func openEnvStore(dir, keyDir string, sc storeChoice, actor core.Actor, opts ...core.Option) (*env, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	// An existing directory keeps its mode here; cli.openEnv tightens it.
	keyDir = keyDirFor(dir, keyDir)
	// A server (serve, or the console's) holds its data directory. On the
	// data file the store's lock does; on etcd nothing else would, and a
	// second server on one directory took over the first one's admin
	// socket (nothing could attach to that server any more) and its
	// certificate files. Commands on etcd open the store beside a
	// server, as on another machine of the site, and take no lock.
	var unlock func()
	if sc.etcd() && (actor == core.ServerActor || actor == core.ConsoleActor) {
		u, err := flockDir(dir)
		if errors.Is(err, errDirHeld) {
			return nil, fmt.Errorf("%s is in use: %w", dir, store.ErrLocked)
		}
		if err != nil {
			return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
		}
		unlock = u
		defer func() {
			if unlock != nil { // not handed to the env: it failed to open
				unlock()
			}
		}()
	}
	if !sc.etcd() && !exists(filepath.Join(dir, store.FileName)) && exists(filepath.Join(dir, nodeNameFile)) {
		// Only a server on etcd names itself in the directory: without
		// --store this read as a data file gone missing, and the advice
		// was to restore a backup or start again with no users.
		return nil, fmt.Errorf("%s belongs to a server whose records are in etcd (it holds %s and no data file): give the site's address with --store etcd://HOST:2379/SITE, or set PROVISIO_STORE, as the service's unit does (systemctl cat provisio shows it).", dir, nodeNameFile)
	}
	var st *store.Store
	var kv *etcdstore.KV
	var err error
	if sc.etcd() {
		st, kv, err = openEtcd(dir, keyDir, sc, actor)
	} else {
		st, err = store.Open(dir, store.Options{HeldData: heldData(dir), KeyDir: keyDir, Actor: actor})
	}
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%s is in use: %w", dir, store.ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	svc, err := core.NewService(st, append([]core.Option{core.WithActor(actor), core.WithOATHKeys(oathkey.Keys{}), core.WithFreeSpace(store.FreeSpace(dir)),
		// server.tls_cert/tls_key are checked as the server loads them
		// whoever sets them (CLI, admin API, console).
		core.WithCertFilesCheck(supervisor.CheckCertFiles)}, opts...)...)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := moveTLSKey(dir, keyDir); err != nil {
		_ = svc.Log(core.LevelError, "", "The server certificate's private key was not moved to the key directory: %v", err)
	}
	e := &env{dir: dir, keyDir: keyDir, st: st, svc: svc, kv: kv, sup: supervisor.New(dir, keyDir, svc)}
	if backupWriterHook != nil {
		svc.SetBackupWriter(backupWriterHook(e.backupEngine()))
	} else {
		svc.SetBackupWriter(e.backupEngine())
	}
	if kv != nil {
		e.node = nodeName(dir)
		e.leader = etcdstore.NewLeader(kv, e.node)
		svc.SetTrimGate(e.leader.Leading)
		if err := e.shareIdentity(); err != nil {
			st.Close()
			return nil, fmt.Errorf("share the server certificate through etcd: %w", err)
		}
	}
	e.unlockDir, unlock = unlock, nil
	return e, nil
}

// backupWriterHook, when set (tests only), stands between the backup
// engine and the service's backups into the backup folder, so a test can
// kill the process in the middle of one.
var backupWriterHook func(core.BackupWriter) core.BackupWriter

// identityFiles are the files every server on one etcd store shares
// (issue #16): the generated certificate (data directory), its key, the
// device CA and the console CA (key directory).
func (e *env) identityFiles() map[string]string {
	return map[string]string{
		certs.CertFile:         filepath.Join(e.dir, certs.CertFile),
		certs.KeyFile:          filepath.Join(e.keyDir, certs.KeyFile),
		certs.DeviceCACertFile: filepath.Join(e.keyDir, certs.DeviceCACertFile),
		certs.DeviceCAKeyFile:  filepath.Join(e.keyDir, certs.DeviceCAKeyFile),
		// The console CA (#12), so a console paired through one server
		// works with every server.
		certs.ConsoleCACertFile: filepath.Join(e.keyDir, certs.ConsoleCACertFile),
		certs.ConsoleCAKeyFile:  filepath.Join(e.keyDir, certs.ConsoleCAKeyFile),
	}
}

// shareIdentity makes this server's certificate and device CA the ones
// the store holds: the first server to start stores its own (made now if
// it has none); every other writes the stored ones over its files, so all
// serve the same certificate and sign devices with the same CA.
//
// The stored files are written first, so a machine that holds half a pair
// takes the site's instead of refusing it: a command given a server's key
// directory (its key.pem) with another data directory (no cert.pem), as
// in the README's "from either" example, or a data directory whose key
// directory holds only the data key.
func (e *env) shareIdentity() error {
	stored, err := e.st.SharedFiles()
	if err != nil {
		return err
	}
	paths := e.identityFiles()
	for name, b := range stored {
		path, ok := paths[name]
		if !ok {
			continue
		}
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, b) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := writeFileSynced(path, b); err != nil {
			return err
		}
	}
	if _, err := certs.LoadOrCreateIn(e.dir, e.keyDir, supervisor.CertNames(e.svc)); err != nil {
		return err
	}
	if _, err := certs.NewDeviceCA(e.keyDir).Pool(); err != nil {
		return err
	}
	if _, err := certs.NewConsoleCA(e.keyDir).Pool(); err != nil {
		return err
	}
	local := map[string][]byte{}
	for name, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		local[name] = b
	}
	shared, err := e.st.ShareFiles(local)
	if err != nil {
		return err
	}
	for name, path := range paths {
		b, ok := shared[name]
		if !ok || bytes.Equal(b, local[name]) {
			continue
		}
		if err := writeFileSynced(path, b); err != nil {
			return err
		}
	}
	return nil
}

// writeFileSynced replaces path with data (0600) through a synced
// temporary file, so a crash leaves the old file or the new one, and a
// failure at any step (the rename too) leaves no temporary file.
func writeFileSynced(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
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
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// nodeNameFile, in the data directory, names a server on etcd among
// the site's (nodeName); only such a server writes it.
const nodeNameFile = "node-name"

// nodeName is this server's name among those sharing an etcd store: the
// host name and a random suffix kept in the data directory (node-name),
// so two servers on one machine differ and a restart keeps its name.
func nodeName(dir string) string {
	path := filepath.Join(dir, nodeNameFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "provisio"
	}
	var r [3]byte
	_, _ = rand.Read(r[:])
	name := fmt.Sprintf("%s-%x", host, r)
	_ = os.WriteFile(path, []byte(name+"\n"), 0o600)
	return name
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

func (e *env) close() {
	e.st.Close()
	if e.unlockDir != nil {
		e.unlockDir()
	}
}

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

// runOnce runs fn(ctx) for work that must run on one server only (the
// outbox sender, scheduled backups): at once on the data
// file, and on etcd each time this server is elected to lead the site's
// run-once work, with a context that ends with the leadership (issue
// #16). It returns when ctx ends and fn has returned.
func (e *env) runOnce(ctx context.Context, fn func(ctx context.Context)) {
	if e.leader == nil {
		fn(ctx)
		return
	}
	e.leader.Run(ctx, fn)
}

// mailQRSize is the width in pixels of the QR image in provision mail:
// big enough to scan from a phone held to a laptop screen.
const mailQRSize = 300

// mailWorker returns the sender of the outbox.
func (e *env) mailWorker() *mailer.Worker {
	return &mailer.Worker{
		Service: e.svc,
		QRPNG:   func(text string) ([]byte, error) { return qr.PNG(text, mailQRSize) },
		// The served certificate's; a command that sends mail without
		// serving reads the certificate file the server would serve.
		Fingerprint: func() string {
			if fp := e.sup.Fingerprint(); fp != "" {
				return fp
			}
			return certFileFingerprint(e.dir, e.svc.Settings().TLSCert)
		},
	}
}

// startMail runs the outbox sender, and the expiry of unconfirmed OATH
// tokens, until the returned stop function is called; stop waits for
// both, so the store can be closed after.
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
		e.runOnce(ctx, e.mailWorker().Run)
	}()
	// Unconfirmed OATH tokens expire on the same lifetime (core/oath_issue.go).
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
	if e.leader == nil {
		return func() { cancel(); <-done }
	}
	// Shared store: campaign for the run-once work, and carry events to
	// and from the other servers (issue #16).
	elected := e.leader.Start(ctx)
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		e.kv.RelayEvents(ctx, e.node, e.svc, func(err error) { fmt.Fprintf(errOut, "provisio: %v\n", err) })
	}()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		e.followIdentity(ctx, func(err error) { fmt.Fprintf(errOut, "provisio: %v\n", err) })
	}()
	return func() { cancel(); <-done; <-elected; <-relayed; <-followed }
}

// startBackups takes the scheduled backups (backup.* settings) until the
// returned stop function is called. It is wired once, in the process
// that serves (serve, or the console running the server); on etcd only
// the server leading the site's run-once work takes them (issue #16),
// into its own backup.folder.
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
		e.runOnce(ctx, func(ctx context.Context) { e.svc.RunScheduledBackups(ctx, core.BackupCheckEvery) })
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
	// An attached console's test message leaves from this server.
	e.svc.SetMailTools(mailer.Tools{})
	// And it sees where this server answers, as this process's console does.
	e.svc.SetServerStatus(e.serverStatus)
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
	if err := writeFileSynced(to, data); err != nil {
		return err
	}
	return os.Remove(from)
}

// serverStatus is where this process's server answers, its certificate
// and store, for consoles attached over the admin API (GET /v1/server).
func (e *env) serverStatus() core.ServerStatus {
	c := e.certInfo()
	cs := core.CertificateStatus{Fingerprint: c.Fingerprint, FromFiles: c.FromFiles, Names: c.Names, NotAfter: c.NotAfter}
	if c.Problem != nil {
		cs.Problem = c.Problem.Error()
	}
	return core.ServerStatus{URLs: e.sup.URLs(), Certificate: cs, Store: e.storeInfo(), DataDir: abs(e.dir), KeyDir: abs(e.keyDir)}
}

// storeInfo describes the store for the Server screen: the data file, or
// the etcd members with their health, the site's servers and the one
// that leads.
func (e *env) storeInfo() ui.StoreInfo {
	if e.kv == nil {
		return ui.StoreInfo{Where: e.st.Path()}
	}
	si := ui.StoreInfo{Etcd: true, Where: e.st.Path(), ThisServer: e.node}
	st := e.leader.SiteStatus(context.Background(), 2*time.Second)
	si.Problem, si.Leader, si.LeaderProblem, si.Servers = st.Problem, st.Leader, st.LeaderProblem, st.Servers
	for _, m := range st.Members {
		si.Members = append(si.Members, ui.StoreMember{Name: m.Name, Endpoint: m.Endpoint, Version: m.Version,
			Healthy: m.Healthy, RaftLeader: m.Leader, Problem: m.Problem})
	}
	return si
}
