package adminapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"provisio/core"
)

// The remote admin API (#12): the same routes as on admin.sock, over
// HTTPS with mutual TLS on a TCP listener of its own (server.admin_listen),
// for consoles on other machines. A console's client certificate is
// signed by the console CA when it pairs (POST /v1/pair, the one route
// that needs no certificate); on every request the certificate must be
// the console CA's and that of a paired console that is not revoked, and
// the console's role must allow the route.

// DefaultRemotePort is the port of the remote admin listener when
// --connect names only a host; server.admin_listen defaults to it.
const DefaultRemotePort = "8444"

// CA signs and verifies console certificates: certs.NewConsoleCA.
type CA interface {
	// Pool holds the CA certificate, to verify client certificates.
	Pool() (*x509.CertPool, error)
	// SignDevice signs a client certificate with CN name for csr's key.
	SignDevice(name string, csr *x509.CertificateRequest) (certPEM []byte, serial string, notAfter time.Time, err error)
}

// RemoteOptions configure ListenRemote.
type RemoteOptions struct {
	// GetCertificate is the server certificate, as the HTTPS server for
	// phones presents it (remote consoles pin it when they pair).
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// CA is the console CA. Required.
	CA CA
	// PairBurst and PairEvery bound pairing requests per source address:
	// PairBurst at once, then one per PairEvery. Zero: 5, then one per
	// 12 seconds (5 a minute).
	PairBurst int
	PairEvery time.Duration
	// MaxConns and MaxConnsPerAddr cap the listener's concurrent
	// connections, in all and per source address (an IPv6 /64 is one:
	// core.LimitConns). Zero: 256 and 64 (as for phones), far above a
	// few consoles behind one address with an event stream and a request
	// or two each.
	MaxConns, MaxConnsPerAddr int
}

// RemoteServer serves the admin API to paired consoles.
type RemoteServer struct {
	svc  *core.Service
	ca   CA
	pool *x509.CertPool
	http *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	done chan struct{}
	lim  *pairLimiter
	// refused is each source's budget of requests refused for want of a
	// paired console's certificate.
	refused *refusedLimiter
}

// ListenRemote serves the API over HTTPS with mutual TLS on addr.
func ListenRemote(addr string, svc *core.Service, opt RemoteOptions) (*RemoteServer, error) {
	if opt.CA == nil || opt.GetCertificate == nil {
		return nil, fmt.Errorf("the remote admin listener needs a certificate and the console CA")
	}
	pool, err := opt.CA.Pool()
	if err != nil {
		return nil, fmt.Errorf("the console CA: %w", err)
	}
	if opt.PairBurst <= 0 {
		opt.PairBurst = 5
	}
	if opt.PairEvery <= 0 {
		opt.PairEvery = 12 * time.Second
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 256
	}
	if opt.MaxConnsPerAddr <= 0 {
		opt.MaxConnsPerAddr = 64
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("open the remote admin listener on %s: %w", addr, err)
	}
	s := &RemoteServer{svc: svc, ca: opt.CA, pool: pool, done: make(chan struct{}),
		lim: newPairLimiter(rate.Every(opt.PairEvery), opt.PairBurst), refused: newRefusedLimiter()}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: opt.GetCertificate,
		// Requested, not required: pairing has no certificate yet, and
		// every other route refuses without one, with a JSON sentence
		// rather than a failed handshake nobody can read.
		ClientAuth: tls.RequestClientCert,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/pair", s.pair)
	mux.Handle("/", Handler(svc, s.caller, s.done))
	// This port is open to the network and a connection costs nothing to
	// open: capped like the phones' listener, the excess closed at once
	// and counted.
	capped := core.LimitConns(ln, opt.MaxConns, opt.MaxConnsPerAddr, func(source string) {
		svc.Refuse(source, "remote admin API connections over the cap")
	})
	s.ln = tls.NewListener(capped, cfg)
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The mux answers CONNECT and a path that is not clean (//,
			// /./, "*") itself, before any route checks who asks; a
			// client that is not a paired console gets the refusal of
			// every other route instead.
			if r.Method == http.MethodConnect || !cleanPath(r.URL.EscapedPath()) {
				if _, err := s.caller(r); err != nil {
					writeError(w, err)
					return
				}
			}
			mux.ServeHTTP(w, r)
		}),
		// "OPTIONS *" goes to the handler above instead of net/http's
		// own answer.
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            10 * time.Second,
		// This port is open to the network: a client that trickles its
		// request or idles holds a connection only so long. Writes have
		// no bound, as an event stream lasts.
		ReadTimeout:    30 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 32 << 10,
		// Failed handshakes (scanners, a console pinning another
		// certificate) are not worth a line on stderr each.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(s.ln)
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *RemoteServer) Addr() string { return s.ln.Addr().String() }

// Close stops serving and ends event streams.
func (s *RemoteServer) Close() error {
	close(s.done)
	err := s.http.Close()
	s.wg.Wait()
	return err
}

// errNoConsoleCert refuses a request without a paired console's
// certificate.
var errNoConsoleCert = core.Errorf(core.CodeNotPaired, "This request needs the certificate of a paired console; pair this console first (provisio console pair NAME on the server, then provisio --connect HOST here).")

// caller identifies the paired console behind r from its certificate;
// anything else is refused and counted.
//
// A refusal needs no secret, so each source address has a budget of them
// (refusedLimiter): once it is spent, the refusal is 429 rate_limited,
// counted as "rate limited". Only refusals are charged, so a paired
// console behind the same address as a scanner is still served.
func (s *RemoteServer) caller(r *http.Request) (Caller, error) {
	ip := hostOnly(r.RemoteAddr)
	refuse := func(reason string, err error) (Caller, error) {
		if spent, wait := s.refused.spent(ip); spent {
			s.svc.Refuse(ip, "rate limited")
			return Caller{}, core.Errorf(codeRateLimited, "Too many refused requests from this address; try again in %d s.", max(int(math.Ceil(wait.Seconds())), 1))
		}
		s.refused.charge(ip)
		s.svc.Refuse(ip, reason)
		return Caller{}, err
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return refuse("remote admin API request without a console certificate", errNoConsoleCert)
	}
	leaf := r.TLS.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return refuse("remote admin API request with a certificate the console CA did not sign", errNoConsoleCert)
	}
	serial, fp := strings.ToUpper(leaf.SerialNumber.Text(16)), core.CertFingerprint(leaf.Raw)
	con, err := s.svc.PairedConsole(serial, fp)
	if core.ErrorCode(err) == core.CodeNotPaired {
		return refuse("remote admin API request from a revoked or unpaired console", err)
	} else if err != nil {
		return Caller{}, err
	}
	return Caller{
		AdminOperator: core.AdminOperator{Name: con.Name, Role: con.Role, Remote: true},
		Operator:      core.RemoteConsoleOperator(con.Name, con.Role, ip),
		Source:        fmt.Sprintf("console %q at %s", con.Name, ip),
		Check: func() error {
			_, err := s.svc.PairedConsole(serial, fp)
			return err
		},
	}, nil
}

// pairRequest is the body of POST /v1/pair.
type pairRequest struct {
	Code string `json:"code"`
	// CSR is a PEM certificate request for the console's own key; the
	// key never leaves the console.
	CSR string `json:"csr"`
}

// pairAnswer is the answer to a pairing: the console's certificate.
type pairAnswer struct {
	Name        string    `json:"name"`
	Role        core.Role `json:"role"`
	Certificate string    `json:"certificate"`
}

// pair redeems a pairing code for a client certificate. It needs no
// certificate, so it is rate-limited per source address and a wrong code
// is only counted in memory (svc.Refuse), never written each.
func (s *RemoteServer) pair(w http.ResponseWriter, r *http.Request) {
	ip := hostOnly(r.RemoteAddr)
	if !s.lim.allow(ip) {
		s.svc.Refuse(ip, "console pairing requests over the rate limit")
		writeError(w, core.Errorf(codeRateLimited, "Too many pairing attempts from this address; wait a minute and try again."))
		return
	}
	var req pairRequest
	if !decode(w, r, &req) {
		s.svc.Refuse(ip, "malformed console pairing request")
		return
	}
	b, _ := pem.Decode([]byte(req.CSR))
	var csr *x509.CertificateRequest
	var err error
	if b != nil && b.Type == "CERTIFICATE REQUEST" {
		csr, err = x509.ParseCertificateRequest(b.Bytes)
		if err == nil {
			err = csr.CheckSignature()
		}
	}
	if b == nil || b.Type != "CERTIFICATE REQUEST" || err != nil {
		s.svc.Refuse(ip, "malformed console pairing request")
		writeError(w, core.FieldError("csr", "The pairing request needs a signed PEM certificate request (\"csr\")."))
		return
	}
	con, cert, err := s.svc.RedeemConsolePairing(ip, req.Code, func(name string) (core.ConsoleCert, error) {
		certPEM, serial, _, err := s.ca.SignDevice(name, csr)
		if err != nil {
			return core.ConsoleCert{}, err
		}
		cb, _ := pem.Decode(certPEM)
		return core.ConsoleCert{PEM: certPEM, Serial: serial, Fingerprint: core.CertFingerprint(cb.Bytes)}, nil
	})
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotPaired {
			s.svc.Refuse(ip, "wrong console pairing code")
		}
		writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, pairAnswer{Name: con.Name, Role: con.Role, Certificate: string(cert.PEM)})
}

// cleanPath reports whether net/http's ServeMux takes p as it is rather
// than redirecting it to its clean form.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// hostOnly is the address without its port.
func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// pairLimiter is a token bucket per source address, plus one for all
// sources together so many addresses cannot try many codes either.
type pairLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	sources map[string]*rate.Limiter
	all     *rate.Limiter
}

// maxPairSources bounds the addresses remembered; past it the map starts
// again (the global bucket still holds).
const maxPairSources = 4096

func newPairLimiter(every rate.Limit, burst int) *pairLimiter {
	return &pairLimiter{every: every, burst: burst, sources: map[string]*rate.Limiter{},
		all: rate.NewLimiter(every*20, burst*4)}
}

// allow takes a token of ip's source: an IPv4 address, or an IPv6 /64
// (core.SourceName), as every other limit counts, so a host rotating
// through its /64 gets one allowance and cannot spend the overall one
// alone.
func (l *pairLimiter) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ip = core.SourceName(ip)
	lim, ok := l.sources[ip]
	if !ok {
		if len(l.sources) >= maxPairSources {
			l.sources = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.sources[ip] = lim
	}
	return lim.Allow() && l.all.Allow()
}

// The budget of refused requests per source address on the remote admin
// port: the phones' port's (agentxml.DefaultLimits().Refused), which no
// console meets, since a paired one is never refused for its certificate.
const (
	refusedBurst     = 60
	refusedPerSecond = 2
)

// refusedLimiter is a token bucket of refused requests per source: an
// IPv4 address or an IPv6 /64 (core.SourceName).
type refusedLimiter struct {
	mu       sync.Mutex
	sources  map[string]*refusedSource
	overflow *rate.Limiter
	swept    time.Time
}

type refusedSource struct {
	lim  *rate.Limiter
	seen time.Time
}

func newRefusedLimiter() *refusedLimiter {
	return &refusedLimiter{sources: map[string]*refusedSource{}, overflow: rate.NewLimiter(refusedPerSecond, refusedBurst)}
}

// get returns the bucket of ip's source. Past maxPairSources sources, the
// ones whose bucket has refilled are forgotten (which changes nothing, at
// most once a second); if none has, new sources share one bucket, so that
// many addresses cannot give each other their budgets back.
func (l *refusedLimiter) get(ip string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := core.SourceName(ip)
	if src, ok := l.sources[key]; ok {
		src.seen = now
		return src.lim
	}
	if len(l.sources) >= maxPairSources && now.Sub(l.swept) >= time.Second {
		l.swept = now
		full := time.Duration(float64(refusedBurst) / refusedPerSecond * float64(time.Second))
		for k, src := range l.sources {
			if now.Sub(src.seen) > full {
				delete(l.sources, k)
			}
		}
	}
	if len(l.sources) >= maxPairSources {
		return l.overflow
	}
	lim := rate.NewLimiter(refusedPerSecond, refusedBurst)
	l.sources[key] = &refusedSource{lim: lim, seen: now}
	return lim
}

// spent reports whether ip's source has no refusal left, without taking
// one, and how long until it has.
func (l *refusedLimiter) spent(ip string) (bool, time.Duration) {
	now := time.Now()
	if t := l.get(ip, now).TokensAt(now); t < 1 {
		return true, time.Duration((1 - t) / refusedPerSecond * float64(time.Second))
	}
	return false, 0
}

// charge takes a refusal from ip's source.
func (l *refusedLimiter) charge(ip string) {
	now := time.Now()
	l.get(ip, now).AllowN(now, 1)
}
