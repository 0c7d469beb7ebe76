// Command loadbench serves the targets of the wrk load benchmark
// (.ci/wrk-bench.sh, `make bench-wrk`): either a bare Go HTTPS server, the
// baseline, or the real AgentXML server over a fresh bbolt store with users
// ready to log in.
//
//	loadbench -mode bare     -listen 127.0.0.1:18443
//	loadbench -mode provisio -listen 127.0.0.1:18444 -data DIR -users 2000 -out codes.txt [-devices 40000 -devices-out provision.txt]
//
// Both use the same kind of certificate (an in-memory ECDSA P-256
// self-signed one), the same TLS configuration as the AgentXML server (TLS
// 1.2 or later, Go's defaults otherwise), the same http.Server timeouts and
// HTTP/1.1 keep-alive, so the only difference wrk sees is what happens
// between reading the request and writing the reply.
//
// In provisio mode the program opens a new store in DIR, adds -users users
// with PINs, provisions each with the service (CreateProvisionCode,
// Provision, SecurityStrings) and writes -out: one login request body per
// line, for an agent on 127.0.0.1 and ::1. The lines are ordered
// index-major (every user's index-0 code, then every user's index-1 code,
// and so on) so that a user's consecutive codes are -users lines apart and
// can never overtake each other among the requests in flight. The first
// line is a header, "# loadbench login codes users=N per_user=M", which
// login.lua reads to give each wrk thread its own users.
//
// With -oath-users N (and -oath-out FILE) it also adds N users who log in
// with a confirmed HOTP token (OATH, #11) instead of strings, and writes
// FILE in the same format as -out: each user's next -per-user counter
// codes, so login.lua sends them unchanged.
//
// With -devices N (and -devices-out FILE) it also adds N users who have a
// pending provision code and no device yet, and writes FILE: a header
// "# loadbench provision bodies devices=N", then one /proxy provision
// request body per line, as a phone sends it after scanning the QR code.
// provision.lua redeems them and downloads strings for each new device.
//
// The program only listens on loopback addresses (127.0.0.0/8 or ::1) and
// refuses any other. It prints "READY <url>" once it listens and serves
// until SIGINT or SIGTERM, then closes the server and the store.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base32"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // only on the -pprof listener, which is loopback-only
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/oathkey"
	"provisio/core/store"
	"provisio/core/webclient"
)

// AgentSecret is the shared secret of the benchmark's agents.
const AgentSecret = "loadbench-agent-secret"

// bareReply is the bare server's answer: a ping PASS of the same shape the
// AgentXML server sends.
var bareReply = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<SASResponse><Version>3.6</Version><Result>PASS</Result></SASResponse>\n")

// The AgentXML server's http.Server limits (core/agentxml/server.go),
// repeated so the bare server pays for the same deadlines.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 8 << 10
)

type config struct {
	mode       string
	listen     string
	data       string
	users      int
	perUser    int
	etcd       int
	out        string
	workers    int
	batchDelay time.Duration
	pprof      string
	profRates  bool
	devices    int
	devicesOut string
	// keyDir holds the data key: secrets sealed at rest as the program
	// runs (#13); empty: a plain store without a key, to measure what the
	// encryption costs (wrk-bench.sh runs both).
	keyDir string
	// oathUsers log in with HOTP codes, written to oathOut.
	oathUsers int
	oathOut   string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadbench: ")
	var c config
	flag.StringVar(&c.mode, "mode", "", "bare or provisio")
	flag.StringVar(&c.listen, "listen", "127.0.0.1:18443", "loopback host:port to serve HTTPS on")
	flag.StringVar(&c.data, "data", "", "provisio: a new or empty directory for the store")
	flag.IntVar(&c.users, "users", 2000, "provisio: users to create and provision")
	flag.IntVar(&c.perUser, "per-user", core.StringsPerDownload, "provisio: login codes written per user (at most 100)")
	flag.StringVar(&c.out, "out", "", "provisio: file for the login request bodies")
	flag.IntVar(&c.workers, "setup-workers", 8, "provisio: concurrent service calls while setting up")
	flag.DurationVar(&c.batchDelay, "batch-delay", 0, "provisio: store MaxBatchDelay (0: the store's default)")
	flag.IntVar(&c.devices, "devices", 0, "provisio: users with a pending provision code to add for the provision run")
	flag.StringVar(&c.devicesOut, "devices-out", "", "provisio: file for the provision request bodies (with -devices)")
	flag.IntVar(&c.oathUsers, "oath-users", 0, "provisio: users with a confirmed HOTP token to add for the OATH login run")
	flag.StringVar(&c.oathOut, "oath-out", "", "provisio: file for the OATH login request bodies (with -oath-users)")
	flag.StringVar(&c.keyDir, "key-dir", "", "provisio: key directory of the data key (sealed store, as in production); empty: a plain store without a key")
	flag.StringVar(&c.pprof, "pprof", "", "serve net/http/pprof on this loopback host:port (off when empty)")
	flag.BoolVar(&c.profRates, "prof-rates", false, "with -pprof: also record block and mutex profiles")
	flag.IntVar(&c.etcd, "etcd", 0, "provisio: keep the store in an etcd cluster of this many members embedded in this process, under -data (issue #16); 0: the bbolt file")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments %q", flag.Args())
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

func run(c config) error {
	if err := checkLoopback("-listen", c.listen); err != nil {
		return err
	}
	// Both servers run with the garbage collector and GOMAXPROCS set as
	// provisio serve sets them, so the comparison is of the handlers alone.
	agentxml.TuneGC()
	agentxml.TuneProcs()
	if c.pprof != "" {
		if err := checkLoopback("-pprof", c.pprof); err != nil {
			return err
		}
	}
	cert, _, err := agentxmltest.SelfSignedCert()
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}

	var url string
	var stop func() error
	switch c.mode {
	case "bare":
		url, stop, err = serveBare(c.listen, cert)
	case "provisio":
		url, stop, err = serveProvisio(c, cert)
	default:
		return fmt.Errorf("-mode must be bare or provisio, not %q", c.mode)
	}
	if err != nil {
		return err
	}
	if c.pprof != "" {
		if err := servePprof(c.pprof, c.profRates); err != nil {
			_ = stop()
			return err
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	fmt.Printf("READY %s\n", url)
	<-sig
	signal.Stop(sig)
	return stop()
}

// checkLoopback refuses anything but a literal loopback address with a
// port: load goes to this machine only.
func checkLoopback(flagName, hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flagName, hostport, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%s %q: only a loopback address (127.0.0.0/8 or ::1) may be used", flagName, hostport)
	}
	return nil
}

func tlsConfig(cert tls.Certificate) *tls.Config {
	// The AgentXML server's configuration (core/agentxml tlsConfig).
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}

// serveBare is the baseline: read the body, answer a fixed PASS.
func serveBare(addr string, cert tls.Certificate) (string, func() error, error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		_, _ = w.Write(bareReply)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := newHTTPServer(h)
	srv.TLSConfig = tlsConfig(cert)
	// tls.NewListener rather than ServeTLS keeps it HTTP/1.1, like the
	// AgentXML server.
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return "https://" + ln.Addr().String(), srv.Close, nil
}

func serveProvisio(c config, cert tls.Certificate) (string, func() error, error) {
	if c.data == "" || c.out == "" {
		return "", nil, errors.New("-mode provisio needs -data and -out")
	}
	if c.users < 1 || c.perUser < 1 || c.perUser > core.StringsPerDownload {
		return "", nil, fmt.Errorf("-users must be at least 1 and -per-user 1 to %d", core.StringsPerDownload)
	}
	if c.oathUsers < 0 || (c.oathUsers > 0) != (c.oathOut != "") {
		return "", nil, errors.New("-oath-users N and -oath-out FILE go together")
	}
	if c.devices < 0 || (c.devices > 0) != (c.devicesOut != "") {
		return "", nil, errors.New("-devices N and -devices-out FILE go together")
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(filepath.Join(c.data, store.FileName)); err == nil {
		return "", nil, fmt.Errorf("%s already holds a store; give a new directory", c.data)
	}
	// A port in use fails now rather than after the setup.
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return "", nil, err
	}
	ln.Close()
	var st *store.Store
	var cluster *etcdtest.Cluster
	if c.etcd > 0 {
		// The members run in this process, with their data (and fsyncs)
		// under -data, on 127.0.0.1 ports.
		cluster, err = etcdtest.StartCluster(filepath.Join(c.data, "etcd"), c.etcd)
		if err != nil {
			return "", nil, err
		}
		st, err = etcdstore.Open(etcdstore.Config{Endpoints: cluster.Endpoints(), Site: "bench", MaxTxnOps: etcdtest.MaxTxnOps}, c.data, store.Options{KeyDir: c.keyDir})
	} else {
		st, err = store.Open(c.data, store.Options{MaxBatchDelay: c.batchDelay, KeyDir: c.keyDir})
	}
	if err != nil {
		if cluster != nil {
			cluster.Close()
		}
		return "", nil, err
	}
	srv, err := setUp(c, st, cert)
	if err != nil {
		st.Close()
		if cluster != nil {
			cluster.Close()
		}
		return "", nil, err
	}
	stop := func() error {
		err := errors.Join(srv.Close(), st.Close())
		if cluster != nil {
			cluster.Close()
		}
		return err
	}
	return srv.URL(), stop, nil
}

// setUp fills the store, writes the codes file and opens the server.
func setUp(c config, st *store.Store, cert tls.Certificate) (*agentxml.Server, error) {
	t0 := time.Now()
	svc, err := core.NewService(st, core.WithOATHKeys(oathkey.Keys{}))
	if err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{
		{"server.advertise", "127.0.0.1"},
		{"server.listen", c.listen},
		{"server.siteid", "loadbench"},
	} {
		if err := svc.SetSetting(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("setting %s: %w", kv[0], err)
		}
	}
	for _, a := range []core.Agent{
		{Name: "loadbench-v4", Host: "127.0.0.1", Secret: AgentSecret},
		{Name: "loadbench-v6", Host: "::1", Secret: AgentSecret},
	} {
		if err := svc.PutAgent(a); err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.Name, err)
		}
	}

	// codes[u][i] is user u's login body for string index i.
	codes := make([][]string, c.users)
	var next atomic.Int64
	var done atomic.Int64
	errs := make(chan error, c.workers)
	var wg sync.WaitGroup
	for range max(1, c.workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				u := int(next.Add(1) - 1)
				if u >= c.users {
					return
				}
				b, err := provisionUser(svc, u, c.perUser)
				if err != nil {
					errs <- err
					next.Store(int64(c.users)) // stop the others
					return
				}
				codes[u] = b
				if n := done.Add(1); n%500 == 0 {
					log.Printf("set up %d of %d users (%.1fs)", n, c.users, time.Since(t0).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := writeCodes(c.out, codes, c.perUser); err != nil {
		return nil, err
	}
	log.Printf("set up %d users and wrote %d login codes to %s in %.1fs",
		c.users, c.users*c.perUser, c.out, time.Since(t0).Seconds())
	if c.oathUsers > 0 {
		t1 := time.Now()
		if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
			return nil, err
		}
		oath := make([][]string, c.oathUsers)
		for u := range oath {
			if oath[u], err = oathUser(svc, u, c.perUser); err != nil {
				return nil, err
			}
		}
		if err := writeCodes(c.oathOut, oath, c.perUser); err != nil {
			return nil, err
		}
		log.Printf("added %d users with a HOTP token and wrote their login codes to %s in %.1fs",
			c.oathUsers, c.oathOut, time.Since(t1).Seconds())
	}
	if c.devices > 0 {
		t1 := time.Now()
		if err := setUpDevices(svc, st, c.devices, c.devicesOut); err != nil {
			return nil, err
		}
		log.Printf("added %d users with a pending provision code and wrote their provision requests to %s in %.1fs",
			c.devices, c.devicesOut, time.Since(t1).Seconds())
	}

	// No per-source limits: every wrk connection comes from 127.0.0.1,
	// and the benchmark measures throughput, not the limits. The limits of
	// the two runs that need no secret, ping and the web client's pages
	// and files, are set so high that they never refuse, rather than left
	// out: their checks still run on every request, so what wrk measures
	// includes what they cost.
	// The web client as the program serves it, for the page-load run.
	portal := webclient.New(svc, webclient.Options{Static: &webclient.Limit{Max: 1e9, Per: time.Minute}})
	limits := agentxml.Limits{Ping: agentxml.Rate{PerSecond: 1e9, Burst: 1e9}}
	srv := agentxml.New(svc, agentxml.Options{Certificate: cert, Limits: &limits, Portal: portal})
	if err := srv.Open(c.listen); err != nil {
		return nil, err
	}
	return srv, nil
}

// pinFor gives each user a different 4-digit PIN.
func pinFor(u int) string { return fmt.Sprintf("%04d", (u*7919+1234)%10000) }

// provisionUser adds user u, provisions a device and downloads strings,
// returning the login bodies for the first perUser string indexes.
func provisionUser(svc *core.Service, u, perUser int) ([]string, error) {
	name := fmt.Sprintf("user%05d", u)
	pin := pinFor(u)
	if _, err := svc.AddUser(core.User{Name: name, PIN: pin, MobileAllowed: true}); err != nil {
		return nil, fmt.Errorf("add %s: %w", name, err)
	}
	ic, err := svc.CreateProvisionCode(name)
	if err != nil {
		return nil, fmt.Errorf("provision code for %s: %w", name, err)
	}
	p, err := svc.Provision("127.0.0.1", name, ic.Code, "loadbench")
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", name, err)
	}
	d, err := svc.SecurityStrings(p.DeviceID)
	if err != nil {
		return nil, fmt.Errorf("security strings for %s: %w", name, err)
	}
	strs := strings.Split(d.Strings, ";")
	if len(strs) < perUser {
		return nil, fmt.Errorf("security strings for %s: got %d", name, len(strs))
	}
	bodies := make([]string, perUser)
	for i := range bodies {
		var s [10]byte
		copy(s[:], strs[i])
		code := core.MobileCode(core.ExtractOTC(s, pin), i)
		bodies[i] = agentxmltest.SASRequest("Version", "3.6", "Secret", AgentSecret,
			"Action", "login", "Username", name, "OTC", code)
	}
	return bodies, nil
}

// oathUser adds user u with a HOTP token (SHA-1, 6 digits), confirms it
// with counter 0 as the console's "Code from the app" does, and returns
// the login bodies for the next perUser counters.
func oathUser(svc *core.Service, u, perUser int) ([]string, error) {
	name := fmt.Sprintf("oath%05d", u)
	if _, err := svc.AddUser(core.User{Name: name, MobileAllowed: true}); err != nil {
		return nil, fmt.Errorf("add %s: %w", name, err)
	}
	iss, err := svc.IssueOATH(name, core.OATHOptions{Kind: core.OATHHOTP, Algorithm: "SHA1", Digits: 6})
	if err != nil {
		return nil, fmt.Errorf("OATH token for %s: %w", name, err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(iss.SecretText, " ", ""))
	if err != nil {
		return nil, fmt.Errorf("OATH secret of %s: %w", name, err)
	}
	if err := svc.ConfirmOATH(name, core.HOTPCode(secret, 0, "SHA1", 6)); err != nil {
		return nil, fmt.Errorf("confirm the OATH token of %s: %w", name, err)
	}
	bodies := make([]string, perUser)
	for i := range bodies {
		bodies[i] = agentxmltest.SASRequest("Version", "3.6", "Secret", AgentSecret,
			"Action", "login", "Username", name, "OTC", core.HOTPCode(secret, uint64(i+1), "SHA1", 6))
	}
	return bodies, nil
}

// writeCodes writes the header and the bodies index-major.
func writeCodes(path string, codes [][]string, perUser int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "# loadbench login codes users=%d per_user=%d\n", len(codes), perUser)
	for i := range perUser {
		for _, c := range codes {
			w.WriteString(c[i])
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// servePprof serves the net/http/pprof handlers, which register on
// http.DefaultServeMux, on a separate loopback listener.
func servePprof(addr string, rates bool) error {
	if rates {
		runtime.SetBlockProfileRate(10_000) // one event per 10 µs blocked
		runtime.SetMutexProfileFraction(10)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-pprof: %w", err)
	}
	go func() { _ = http.Serve(ln, http.DefaultServeMux) }()
	log.Printf("pprof on http://%s/debug/pprof/", ln.Addr())
	return nil
}

// setUpDevices adds n users named dev000000... through the service's
// CreateUsers, a thousand per transaction, and gives each a provision code,
// then writes one provision request body per user to path. The codes are
// stored directly, a thousand per transaction, exactly as
// Service.CreateProvisionCode stores them (hash of name and code, an hour
// of validity): through the service it would be one commit per code, which
// would make the setup take minutes.
func setUpDevices(svc *core.Service, st *store.Store, n int, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "# loadbench provision bodies devices=%d\n", n)
	numeric := svc.Settings().MobileClient.ProvisionNumeric
	const chunk = 1000
	for first := 0; first < n; first += chunk {
		specs := make([]core.UserSpec, min(chunk, n-first))
		for i := range specs {
			specs[i].Name = fmt.Sprintf("dev%06d", first+i)
		}
		results, err := svc.CreateUsers("loadbench", core.LocalRepository, specs)
		if err != nil {
			f.Close()
			return fmt.Errorf("add device users: %w", err)
		}
		for i, err := range results {
			if err != nil {
				f.Close()
				return fmt.Errorf("add %s: %w", specs[i].Name, err)
			}
		}
		codes := make([]string, len(specs))
		now := svc.Now()
		err = st.Update(func(tx core.Tx) error {
			for i, sp := range specs {
				codes[i] = core.NewCode(numeric)
				pc := core.ProvisionCode{Hash: core.HashCode(sp.Name, codes[i]), Created: now, Expires: now.Add(time.Hour)}
				if err := tx.PutProvisionCode(sp.Name, pc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			f.Close()
			return fmt.Errorf("provision codes: %w", err)
		}
		for i, sp := range specs {
			w.WriteString(agentxmltest.SASRequest("Version", "3.6", "Action", "provision",
				"Username", sp.Name, "ProvisionCode", codes[i], "DeviceOS", "loadbench"))
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
