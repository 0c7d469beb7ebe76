package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// Reloader serves the certificate of the moment to the TLS listener
// (tls.Config.GetCertificate): the administrator's files when
// server.tls_cert and server.tls_key are set, else the generated one. It
// looks at the settings and the files' modification times at most once a
// second, so a renewed certificate or a new setting takes effect on the
// next connection without a restart.
//
// A certificate that fails LoadFiles's checks is not served: the previous
// one stays (or the generated one on first start), and OnError hears the
// sentence once per distinct problem.
type Reloader struct {
	// Dir holds the generated certificate (LoadOrCreate).
	Dir string
	// KeyDir holds the generated certificate's private key; "" is Dir
	// (LoadOrCreateIn).
	KeyDir string
	// Source returns the configured files and the advertised host.
	Source func() (certPath, keyPath, host string)
	// Names are the names a generated certificate gets on first run.
	Names func() []string
	// OnError hears each new problem with the configured files; nil
	// ignores them (LastError still has the latest).
	OnError func(error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	cur     *tls.Certificate
	stamp   string
	checked time.Time
	lastErr error

	// fromFiles tells whether cur came from the configured files.
	fromFiles bool
}

// recheck is how often the files are looked at again.
const recheck = time.Second

func (r *Reloader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// GetCertificate returns the current certificate, reloading it first when
// the settings or files changed.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil || r.now().Sub(r.checked) >= recheck {
		if err := r.reloadLocked(false); err != nil && r.cur == nil {
			return nil, err
		}
	}
	return r.cur, nil
}

// Reload loads the certificate now, whether or not anything changed, and
// returns the problem with the configured files, if any.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(true)
}

// Current returns the certificate served now and its fingerprint.
func (r *Reloader) Current() (tls.Certificate, string) {
	if _, err := r.GetCertificate(nil); err != nil {
		return tls.Certificate{}, ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.cur, Fingerprint(*r.cur)
}

// Fingerprint is the SHA-256 fingerprint of the certificate served now.
func (r *Reloader) Fingerprint() string {
	_, fp := r.Current()
	return fp
}

// Status is the certificate served now, for a person to read.
type Status struct {
	// Fingerprint is the SHA-256 fingerprint; "" when there is no
	// certificate at all (Err says why).
	Fingerprint string
	// FromFiles: the configured files are served; false: the generated
	// certificate.
	FromFiles bool
	// Leaf is the served certificate, for its names and expiry.
	Leaf *x509.Certificate
	// Err is why the configured files are not served, one sentence; nil
	// when they are, or when none are configured.
	Err error
}

// Names are the DNS names and IP addresses the served certificate is
// valid for.
func (s Status) Names() []string {
	if s.Leaf == nil {
		return nil
	}
	names := append([]string(nil), s.Leaf.DNSNames...)
	for _, ip := range s.Leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// Status loads the certificate again now, as Reload does, so a setting
// just saved shows at once, and describes the one served.
func (r *Reloader) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.reloadLocked(true)
	if r.cur == nil {
		return Status{Err: err}
	}
	leaf := r.cur.Leaf
	if leaf == nil && len(r.cur.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(r.cur.Certificate[0])
	}
	return Status{Fingerprint: Fingerprint(*r.cur), FromFiles: r.fromFiles, Leaf: leaf, Err: r.lastErr}
}

// LastError is the latest problem with the configured files, or nil.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *Reloader) reloadLocked(force bool) error {
	r.checked = r.now()
	certPath, keyPath, host := "", "", ""
	if r.Source != nil {
		certPath, keyPath, host = r.Source()
	}
	stamp := fmt.Sprintf("%s|%s|%s|%s|%s", certPath, keyPath, host, fileStamp(certPath), fileStamp(keyPath))
	if !force && r.cur != nil && stamp == r.stamp {
		return r.lastErr
	}
	r.stamp = stamp
	var err error
	if certPath != "" || keyPath != "" {
		var c tls.Certificate
		if certPath == "" || keyPath == "" {
			err = fmt.Errorf("Set both server.tls_cert and server.tls_key, or neither.")
		} else if c, err = LoadFiles(certPath, keyPath, host, r.now()); err == nil {
			r.cur, r.fromFiles, r.lastErr = &c, true, nil
			return nil
		}
		if r.lastErr == nil || r.lastErr.Error() != err.Error() {
			if r.OnError != nil {
				r.OnError(err)
			}
		}
		r.lastErr = err
		if r.cur != nil {
			return err // keep serving the previous certificate
		}
	} else {
		r.lastErr = nil
	}
	names := []string(nil)
	if r.Names != nil {
		names = r.Names()
	}
	keyDir := r.KeyDir
	if keyDir == "" {
		keyDir = r.Dir
	}
	c, gerr := LoadOrCreateIn(r.Dir, keyDir, names)
	if gerr != nil {
		if err == nil {
			err = gerr
		}
		return err
	}
	r.cur, r.fromFiles = &c, false
	return err
}

// fileStamp changes when the file is replaced or rewritten.
func fileStamp(path string) string {
	if path == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}
