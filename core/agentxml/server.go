// Package agentxml is Provisio's embedded HTTPS server: the AgentXML API
// for authentication agents, the mobile subset for phones on /proxy, and
// the few GET endpoints phones and people use (TokenIndex, the Site ID
// lookup, the QR code and the Provision URL page). The wire contract is
// shared/protocol.md.
//
// The server is a thin protocol adapter over core.Service, which owns every
// rule and commits every change before the reply is written. It imports
// core and the standard library only: the TLS certificate and the QR
// encoder are injected through Options.
package agentxml

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"provisio/core"
)

// Options are what the server needs from other adapters.
type Options struct {
	// Certificate is the HTTPS certificate and key.
	Certificate tls.Certificate
	// Fingerprint returns the SHA-256 fingerprint, as the console shows
	// it, of the certificate served now: GetCertificate may change the
	// certificate without a restart, so it is asked on every use. The
	// Provision URL page shows it so a person can compare, and
	// certificate pinning sends it (#14). nil: none is shown or sent.
	Fingerprint func() string
	// QRPNG renders text as a PNG QR code about size pixels wide. With nil,
	// GET /userportal/getQRCode answers 503.
	QRPNG func(text string, size int) ([]byte, error)
	// GetCertificate, when set, chooses the certificate for each TLS
	// handshake instead of Certificate, so a new one (such as the
	// server.tls_cert file) takes effect without a restart.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Portal serves the rest of /userportal/: the mobile web client and
	// the self-service portal (core/webclient). nil serves none.
	Portal http.Handler
	// ErrorLog receives net/http's own messages (failed TLS handshakes,
	// broken connections). nil discards them: phones that reject the
	// certificate would otherwise fill the terminal.
	ErrorLog *log.Logger
	// DeviceCA signs device certificates for users with mutual
	// authentication (#14) and verifies them on the mutual-TLS listener.
	// nil issues none and cannot open that listener.
	DeviceCA DeviceCA
	// Limits are the per-source rate limits and connection caps; nil
	// means DefaultLimits.
	Limits *Limits
}

// Server serves the AgentXML protocol over HTTPS and, optionally, plain
// HTTP. Its methods are safe for concurrent use.
type Server struct {
	svc     *core.Service
	opt     Options
	handler http.Handler
	limits  Limits
	lims    limiters
	qrCache qrCache

	mu      sync.Mutex
	tlsSrv  *http.Server
	tlsLn   net.Listener
	httpSrv *http.Server
	httpLn  net.Listener
	mtlsSrv *http.Server
	mtlsLn  net.Listener
}

// Timeouts for both listeners. Requests are small and answered from a
// local database, so anything slower than this is a stuck or hostile
// client holding a connection. The header timeout also bounds the TLS
// handshake, so a connection that never says hello is gone in 5 s.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 8 << 10
	shutdownTimeout   = 3 * time.Second
)

// New returns a server for svc. It does not listen until Open.
func New(svc *core.Service, opt Options) *Server {
	s := &Server{svc: svc, opt: opt, limits: DefaultLimits()}
	if opt.Limits != nil {
		s.limits = *opt.Limits
	}
	s.lims = newLimiters(s.limits)
	s.handler = s.routes()
	return s
}

// serverTLS is the TLS configuration of the HTTPS listeners: the fixed
// certificate, or the one GetCertificate serves now (the admin's files,
// reloaded without a restart).
func (s *Server) serverTLS() *tls.Config {
	c := tlsConfig(s.opt.Certificate)
	if s.opt.GetCertificate != nil {
		c.Certificates, c.GetCertificate = nil, s.opt.GetCertificate
	}
	return c
}

// Handler returns the server's HTTP handler, for tests and for callers
// that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Open listens on addr (host:port) with TLS and serves in the background.
// It listens before it returns, so a port in use is an error here rather
// than a lost log line.
func (s *Server) Open(addr string) error {
	if len(s.opt.Certificate.Certificate) == 0 && s.opt.GetCertificate == nil {
		return errors.New("agentxml: open: no TLS certificate")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsSrv != nil {
		return errors.New("agentxml: open: the HTTPS listener is already open")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agentxml: listen on %s: %w", addr, err)
	}
	srv := s.newHTTPServer()
	srv.TLSConfig = s.serverTLS()
	s.tlsSrv, s.tlsLn = srv, ln
	// tls.NewListener rather than ServeTLS keeps the protocol HTTP/1.1:
	// AgentXML clients are simple request/response agents and phones.
	go s.serve(srv, tls.NewListener(s.capped(ln), srv.TLSConfig), "HTTPS")
	return nil
}

// OpenHTTP opens the optional plain HTTP listener for legacy agents on a
// trusted LAN. It serves the same handler as the HTTPS listener.
func (s *Server) OpenHTTP(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpSrv != nil {
		return errors.New("agentxml: open: the HTTP listener is already open")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agentxml: listen on %s: %w", addr, err)
	}
	srv := s.newHTTPServer()
	s.httpSrv, s.httpLn = srv, ln
	go s.serve(srv, s.capped(ln), "HTTP")
	return nil
}

// capped applies the connection caps to ln; connections over them are
// counted in memory, never logged one by one.
func (s *Server) capped(ln net.Listener) net.Listener {
	return core.LimitConns(ln, s.limits.MaxConns, s.limits.MaxConnsPerAddr, func(addr string) { s.svc.Refuse(addr, "too many connections") })
}

// tlsConfig is the TLS configuration the server uses for cert: TLS 1.3,
// and TLS 1.2 with forward-secret AEAD suites only (no CBC, no SHA-1
// MACs, no static RSA key exchange). TLS 1.3's suites are all AEAD.
func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

func (s *Server) newHTTPServer() *http.Server {
	errLog := s.opt.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          errLog,
		// "OPTIONS *" goes to the handler, and its limits, instead of
		// net/http's own answer, which no limit would count.
		DisableGeneralOptionsHandler: true,
	}
}

func (s *Server) serve(srv *http.Server, ln net.Listener, what string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = s.svc.Log(core.LevelError, "", "The %s listener stopped: %v", what, err)
	}
}

// Addr returns the HTTPS listener's address, or nil when it is not open.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// HTTPAddr returns the plain HTTP listener's address, or nil when it is
// not open.
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// URL returns the HTTPS base URL, such as https://127.0.0.1:8443, or ""
// when the listener is not open. A wildcard listen address is given as the
// loopback address so that the URL can be dialled.
func (s *Server) URL() string {
	a, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		// Go's wildcard listener accepts IPv4 too, whichever form it reports.
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Close shuts both listeners down, letting requests in flight finish for a
// few seconds before their connections are closed. The server may be
// opened again afterwards.
func (s *Server) Close() error {
	s.mu.Lock()
	srvs := []*http.Server{s.tlsSrv, s.httpSrv, s.mtlsSrv}
	s.tlsSrv, s.tlsLn, s.httpSrv, s.httpLn = nil, nil, nil, nil
	s.mtlsSrv, s.mtlsLn = nil, nil
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range srvs {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(ctx); err != nil {
			// Requests still running after the grace period are cut off.
			errs = append(errs, srv.Close())
		}
	}
	// A handler's work that outlives its answer (the web client's slow
	// self-service commits) ends before the caller closes the store, or
	// is cut off with the requests after the grace period.
	if p, ok := s.opt.Portal.(interface{ Wait() }); ok {
		waited := make(chan struct{})
		go func() { p.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
		}
	}
	return errors.Join(errs...)
}
