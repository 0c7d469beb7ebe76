// Package certs keeps the self-signed TLS certificate the embedded AgentXML
// server presents to phones.
//
// The certificate and its key live as cert.pem and key.pem in one directory.
// They are created on first run and reused afterwards, because phones pin
// the certificate's fingerprint when they are provisioned: a new certificate
// on every start would cut every phone off. Regenerate replaces the pair on
// purpose, for example after the machine's name or addresses change.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"provisio/core"
)

// File names inside the directory given to LoadOrCreate and Regenerate.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// Validity is how long a generated certificate is valid. It is long because
// renewing means re-provisioning every phone that pinned the old one.
const Validity = 10 * 365 * 24 * time.Hour

// clockSkew backdates NotBefore so a phone whose clock runs a little behind
// the console's still accepts a certificate made moments ago.
const clockSkew = time.Hour

// LoadOrCreate returns the certificate kept in dir, creating dir and a new
// certificate for names (see Regenerate) if neither file exists yet.
//
// If only one of the two files exists, or either cannot be parsed,
// LoadOrCreate fails with an error naming the file rather than replacing
// it, since a silent replacement would break every phone pinned to it.
func LoadOrCreate(dir string, names []string) (tls.Certificate, error) {
	return LoadOrCreateIn(dir, dir, names)
}

// LoadOrCreateIn is LoadOrCreate with the private key kept in keyDir, apart
// from the certificate: the application keeps it in the data key's
// directory, so a copy of the data directory does not carry it (#13).
func LoadOrCreateIn(dir, keyDir string, names []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(keyDir, KeyFile)
	certOK, err := exists(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	switch {
	case certOK && keyOK:
		return load(certPath, keyPath)
	case !certOK && !keyOK:
		return RegenerateIn(dir, keyDir, names)
	case certOK:
		return tls.Certificate{}, &halfPairError{have: certPath, missing: keyPath}
	default:
		return tls.Certificate{}, &halfPairError{have: keyPath, missing: certPath}
	}
}

// halfPairError is LoadOrCreateIn's error when one file of the generated
// pair is there without the other: a sentence that says both ways out,
// since neither can be taken for the person (a new pair breaks every
// phone pinned to the old one). It is fs.ErrNotExist.
type halfPairError struct{ have, missing string }

func (e *halfPairError) Error() string {
	return fmt.Sprintf("the server certificate's %s is there but %s is missing: put it back from a backup, or move %s aside so that a new certificate is made (phones that pinned the old one must then be provisioned again)", e.have, e.missing, e.have)
}

func (e *halfPairError) Unwrap() error { return fs.ErrNotExist }

// Regenerate creates a new self-signed certificate and writes it to dir,
// replacing any existing pair. The key is ECDSA P-256 and the certificate is
// valid for Validity. Each entry of names becomes a subject alternative
// name: an IP address if it parses as one, otherwise a DNS name. Empty and
// duplicate entries are skipped.
func Regenerate(dir string, names []string) (tls.Certificate, error) {
	return RegenerateIn(dir, dir, names)
}

// RegenerateIn is Regenerate with the private key written to keyDir
// (LoadOrCreateIn).
func RegenerateIn(dir, keyDir string, names []string) (tls.Certificate, error) {
	certPEM, keyPEM, err := generate(names, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	for _, d := range []string{dir, keyDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return tls.Certificate{}, fmt.Errorf("certs: %w", err)
		}
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(keyDir, KeyFile)
	if err := replacePair(certPath, keyPath, certPEM, keyPEM); err != nil {
		return tls.Certificate{}, err
	}
	return load(certPath, keyPath)
}

// Fingerprint returns the SHA-256 digest of cert's leaf certificate as
// uppercase hex pairs separated by colons, the form browsers and phones show
// ("AB:CD:..."). It returns "" if cert holds no certificate.
func Fingerprint(cert tls.Certificate) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	return core.CertFingerprint(cert.Certificate[0])
}

// DefaultNames returns the names phones on the LAN may use to reach this
// machine: its host name, if known, followed by its non-loopback addresses.
func DefaultNames() []string {
	var names []string
	if host, err := os.Hostname(); err == nil && host != "" {
		names = append(names, host)
	}
	for _, a := range core.LANAddresses() {
		names = append(names, a.String())
	}
	return names
}

// generate returns a PEM certificate and PKCS #8 PEM key for names.
func generate(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate key: %w", err)
	}
	// 128 random bits: unique enough that no two consoles' certificates
	// share a serial, well inside the 20-octet limit of RFC 5280.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Provisio"}, CommonName: "Provisio console"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := make(map[string]bool)
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if ip, err := netip.ParseAddr(n); err == nil {
			// A zone ("%eth0") only means something on this machine.
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.WithZone("").AsSlice())
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// load reads and checks the pair, so that an error names the file at fault
// (tls.X509KeyPair alone only says what is wrong, not where).
func load(certPath, keyPath string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, fmt.Errorf("certs: %s: no PEM CERTIFICATE block", certPath)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	block, _ = pem.Decode(keyPEM)
	if block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("certs: %s: no PEM PRIVATE KEY block", keyPath)
	}
	if _, err := parseKey(block); err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: %s: %w", keyPath, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: %s and %s do not form a pair: %w", certPath, keyPath, err)
	}
	return cert, nil
}

// parseKey accepts the PKCS #8 keys Regenerate writes and the SEC 1 "EC
// PRIVATE KEY" form openssl writes, so a hand-made pair can be dropped in.
func parseKey(block *pem.Block) (any, error) {
	if block.Type == "EC PRIVATE KEY" {
		return x509.ParseECPrivateKey(block.Bytes)
	}
	return x509.ParsePKCS8PrivateKey(block.Bytes)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("certs: %w", err)
	}
}

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it over path, so a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	// CreateTemp makes the file 0600, so the key is never readable by
	// others, not even before the Chmod.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
