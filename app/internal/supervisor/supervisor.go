// Package supervisor runs the embedded HTTPS server of the Provisio that
// holds the data directory: it loads the server certificate (the
// administrator's files or the generated one), opens the AgentXML server
// with the web pages, restarts it to apply a new address or certificate,
// regenerates the certificate and lists the addresses phones use. The
// console's Server screen and `provisio serve` drive it; package main
// only wires it (#12).
package supervisor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/certs"
	"provisio/core/qr"
	"provisio/core/webclient"
)

// Supervisor is the server of one data directory. The console calls it
// off the UI thread, hence the mutex.
type Supervisor struct {
	dir, keyDir string
	svc         *core.Service

	mu     sync.Mutex
	srv    *agentxml.Server // the server Restart manages
	listen string
	cert   tls.Certificate
	fp     string
	// certs serves server.tls_cert/tls_key when set, else the generated
	// certificate, and picks up changes without a restart.
	certs *certs.Reloader
}

// New returns the supervisor of the data directory dir, whose generated
// certificate's key is in keyDir (#13).
func New(dir, keyDir string, svc *core.Service) *Supervisor {
	return &Supervisor{dir: dir, keyDir: keyDir, svc: svc}
}

// LoadCert loads the server certificate: the administrator's files
// (server.tls_cert, server.tls_key) when set and sound, else the one
// generated on first run. A problem with the files is logged as one
// sentence and the generated certificate serves meanwhile.
func (s *Supervisor) LoadCert() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadCert()
}

func (s *Supervisor) loadCert() error {
	if s.certs == nil {
		s.certs = &certs.Reloader{
			Dir:    s.dir,
			KeyDir: s.keyDir,
			Source: func() (string, string, string) {
				set := s.svc.Settings()
				return set.TLSCert, set.TLSKey, s.svc.AdvertisedHost()
			},
			Names: func() []string { return CertNames(s.svc) },
			OnError: func(err error) {
				_ = s.svc.Log(core.LevelError, "", "The server certificate was not loaded: %v", err)
			},
		}
	}
	_ = s.certs.Reload()
	cert, fp := s.certs.Current()
	if fp == "" {
		// Neither the files nor the generated certificate: say why.
		_, err := certs.LoadOrCreateIn(s.dir, s.keyDir, CertNames(s.svc))
		if err == nil {
			err = errors.New("no server certificate")
		}
		return err
	}
	s.cert, s.fp = cert, fp
	return nil
}

// Fingerprint is the SHA-256 fingerprint of the certificate served now:
// the reloader may have switched to new files (server.tls_cert/tls_key
// set or renewed, a certificate regenerated on another server of the
// site) since the last load. Before the first load it is "".
func (s *Supervisor) Fingerprint() string {
	s.mu.Lock()
	r, fp := s.certs, s.fp
	s.mu.Unlock()
	if r == nil {
		return fp
	}
	return r.Fingerprint()
}

// CertNames are the names a generated certificate holds: the machine's
// names and addresses and the advertised address phones use.
func CertNames(svc *core.Service) []string {
	names := certs.DefaultNames()
	if a := svc.Settings().Advertise; a != "" {
		names = append(names, a)
	}
	return names
}

// Open loads the certificate and opens a server on listen (and the plain
// HTTP and mutual-TLS listeners when set) that the caller closes; Restart
// manages one of its own.
func (s *Supervisor) Open(listen string) (*agentxml.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open(listen)
}

func (s *Supervisor) open(listen string) (*agentxml.Server, error) {
	if err := s.loadCert(); err != nil {
		return nil, err
	}
	srv := agentxml.New(s.svc, agentxml.Options{Certificate: s.cert, GetCertificate: s.certs.GetCertificate,
		Fingerprint: s.certs.Fingerprint, QRPNG: qr.PNG, // what is served now, not at start
		Portal:   webclient.New(s.svc, webclient.Options{Fingerprint: s.certs.Fingerprint}),
		DeviceCA: certs.NewDeviceCA(s.keyDir)}) // in the key directory, beside the TLS key (#13, #14)
	if err := srv.Open(listen); err != nil {
		return nil, fmt.Errorf("start the server on %s: %w", listen, err)
	}
	if h := s.svc.Settings().HTTPListen; h != "" {
		if err := srv.OpenHTTP(h); err != nil {
			srv.Close()
			return nil, fmt.Errorf("start the plain HTTP listener on %s: %w", h, err)
		}
	}
	if m := s.svc.Settings().MTLSListen; m != "" {
		// Not fatal: users without mutual authentication are served
		// either way; those with it cannot download until it is fixed.
		if err := srv.OpenMTLS(m); err != nil {
			_ = s.svc.Log(core.LevelError, "", "The mutual-TLS listener (server.mtls_listen %s) did not start: %v", m, err)
		}
	}
	return srv, nil
}

// Restart stops the server, if it runs, and starts it with the current
// settings (server.listen, server.http_listen) and the certificate on
// disk, so changes apply without restarting the program.
func (s *Supervisor) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
	s.svc.SetListening("")
	s.listen = s.svc.Settings().Listen
	srv, err := s.open(s.listen)
	if err != nil {
		return err
	}
	s.srv, s.listen = srv, srv.Addr().String()
	s.svc.SetListening(s.listen)
	return nil
}

// URLs lists the server's addresses, none while it is stopped.
func (s *Supervisor) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	return URLs(s.svc, s.listen)
}

// RegenerateCert writes a new certificate and returns its fingerprint;
// the console restarts the server right after, which loads it.
func (s *Supervisor) RegenerateCert() (string, error) {
	cert, err := certs.RegenerateIn(s.dir, s.keyDir, CertNames(s.svc))
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cert, s.fp = cert, certs.Fingerprint(cert)
	if s.certs != nil {
		// The administrator's files, when set, still win.
		_ = s.certs.Reload()
		s.cert, s.fp = s.certs.Current()
	}
	return s.fp, nil
}

// ReloadCert loads the certificate files again, after another server on a
// shared store replaced them (issue #16), and returns the fingerprint
// served from the next TLS handshake on. Before the first load it does
// nothing: that load reads the files.
func (s *Supervisor) ReloadCert() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		return s.fp
	}
	_ = s.certs.Reload()
	s.cert, s.fp = s.certs.Current()
	return s.fp
}

// Stop closes the server Restart started, if it runs.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Certificate describes the certificate the server presents now.
type Certificate struct {
	Fingerprint string
	// FromFiles: the administrator's files; false: the generated one.
	FromFiles bool
	Names     []string
	NotAfter  time.Time
	// Problem is why the configured files are not served, one sentence.
	Problem error
}

// Certificate looks at the certificate settings and files again, as the
// server does, and describes what it presents now. The reloader exists
// from the first load on, which comes before the console.
func (s *Supervisor) Certificate() Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil {
		return Certificate{Fingerprint: s.fp}
	}
	st := s.certs.Status()
	c := Certificate{Fingerprint: st.Fingerprint, FromFiles: st.FromFiles, Names: st.Names(), Problem: st.Err}
	if st.Leaf != nil {
		c.NotAfter = st.Leaf.NotAfter
	}
	return c
}

// CheckCertFiles runs the server's own checks on certificate files the
// admin chose, before they are saved.
func CheckCertFiles(certPath, keyPath, host string) error {
	_, err := certs.LoadFiles(certPath, keyPath, host, time.Now())
	return err
}

// URLs lists the addresses phones and agents can use for a server on
// listen: the advertised host first, then every LAN address when
// listening on all interfaces.
func URLs(svc *core.Service, listen string) []string {
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
	// The advertised host with the advertised port (server.advertise may
	// name one, e.g. behind NAT); the addresses below are direct.
	if ap := svc.Settings().ListenPort(); ap != port {
		u := "https://" + net.JoinHostPort(svc.AdvertisedHost(), ap) + "/"
		seen[u] = true
		out = append(out, u)
	} else {
		add(svc.AdvertisedHost())
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		for _, a := range core.LANAddresses() {
			add(a.String())
		}
	} else {
		add(host)
	}
	return out
}

// Reloader is the certificate source the servers serve from, which
// follows changes to the files without a restart; nil before LoadCert.
// The remote admin listener shares it with the HTTPS server.
func (s *Supervisor) Reloader() *certs.Reloader {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certs
}
