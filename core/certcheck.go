package core

import (
	"path/filepath"
)

// CertFilesCheck checks a certificate and key file as the server would
// load them for host, the address phones use; the error is one sentence
// for a person. The certificate adapter (core/certs, which imports core)
// provides it: the composition root wires it with WithCertFilesCheck.
type CertFilesCheck func(certPath, keyPath, host string) error

// WithCertFilesCheck makes every settings save that changes
// server.tls_cert or server.tls_key check the files named, once both are
// set (checkCertChange).
func WithCertFilesCheck(f CertFilesCheck) Option {
	return func(s *Service) { s.certCheck = f }
}

// checkCertChange refuses certificate settings the server would not
// serve, when a save changes them (SetSettings; so the CLI, the admin API
// and the console share it): a relative path, and, when both files are
// named, a pair that fails the server's own checks (a key that does not
// match, an expired certificate, one that does not name the address
// phones use, a file that cannot be read). One file may be set while the
// other is still empty, so the two can be set one after the other; the
// server keeps its certificate until both are. Paths saved before are not
// checked again, so an unrelated change is never blocked by them.
func (s *Service) checkCertChange(old, set Settings) error {
	certChanged, keyChanged := set.TLSCert != old.TLSCert, set.TLSKey != old.TLSKey
	if !certChanged && !keyChanged {
		return nil
	}
	if certChanged && set.TLSCert != "" && !filepath.IsAbs(set.TLSCert) {
		return FieldError("server.tls_cert", "Enter the full path of the certificate file, such as /etc/provisio/server.crt, not %q: the server may be started from another folder.", set.TLSCert)
	}
	if keyChanged && set.TLSKey != "" && !filepath.IsAbs(set.TLSKey) {
		return FieldError("server.tls_key", "Enter the full path of the key file, such as /etc/provisio/server.key, not %q: the server may be started from another folder.", set.TLSKey)
	}
	if set.TLSCert == "" || set.TLSKey == "" || s.certCheck == nil {
		return nil
	}
	err := s.certCheck(set.TLSCert, set.TLSKey, AdvertisedHostOf(set))
	if err == nil {
		return nil
	}
	field, other := "server.tls_cert", "server.tls_key"
	if !certChanged {
		field, other = other, field
	}
	msg := err.Error()
	if certChanged != keyChanged && old.TLSCert != "" && old.TLSKey != "" {
		// One file of a pair in use changed: switching to another pair
		// one key at a time pairs the new file with the old one.
		msg += " To switch to another pair of files, clear " + other + " first, then set server.tls_cert and server.tls_key."
	}
	return FieldError(field, "%s", msg)
}
