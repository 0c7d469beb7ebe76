// Package agentxmltest runs a real AgentXML server for tests and talks to
// it the way outside programs do: MobileClient behaves like a phone (parse
// the Provision URL, look up the Site ID, provision, download strings,
// compute login codes) and AgentClient like an authentication agent.
// Both pin the server certificate by fingerprint, as a phone that trusts
// a self-signed certificate must.
package agentxmltest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
)

// Option adjusts the server MustServer starts.
type Option func(*agentxml.Options)

// WithQRPNG injects a QR encoder; without one getQRCode answers 503.
func WithQRPNG(f func(text string, size int) ([]byte, error)) Option {
	return func(o *agentxml.Options) { o.QRPNG = f }
}

// WithLimits sets the server's rate limits and connection caps.
func WithLimits(l agentxml.Limits) Option {
	return func(o *agentxml.Options) { o.Limits = &l }
}

// NoLimits are limits high enough that a test of something else (many
// phones on one loopback address) never meets them.
func NoLimits() agentxml.Limits {
	r := agentxml.Rate{PerSecond: 1e6, Burst: 1e6}
	return agentxml.Limits{Provision: r, TokenIndex: r, QRCode: r, Page: r, Details: r, ClientLog: r, Ping: r, NotFound: r, Refused: r}
}

// MustServer starts an AgentXML server for svc on 127.0.0.1 with a fresh
// self-signed certificate and returns it with the certificate's
// fingerprint. It points the service's listen setting at the chosen port,
// so Provision URLs and the Site ID lookup lead phones to this server. The
// server is closed at cleanup.
func MustServer(tb testing.TB, svc *core.Service, opts ...Option) (*agentxml.Server, string) {
	tb.Helper()
	cert, fp, err := SelfSignedCert()
	if err != nil {
		tb.Fatalf("certificate: %v", err)
	}
	o := agentxml.Options{Certificate: cert, Fingerprint: func() string { return fp }}
	for _, f := range opts {
		f(&o)
	}
	srv := agentxml.New(svc, o)
	if err := srv.Open("127.0.0.1:0"); err != nil {
		tb.Fatalf("open server: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	if err := svc.SetSetting("server.listen", srv.Addr().String()); err != nil {
		tb.Fatalf("set listen address: %v", err)
	}
	return srv, fp
}

// SelfSignedCert makes an in-memory ECDSA P-256 certificate for 127.0.0.1,
// ::1 and localhost, valid for a day, and returns it with its fingerprint.
func SelfSignedCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Provisio test server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return cert, Fingerprint(der), nil
}

// Fingerprint formats the SHA-256 of a DER certificate as upper-case hex
// pairs joined by colons, as browsers show it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// normalizeFingerprint accepts hex with or without colons or spaces, in
// either case, and returns the 32 bytes.
func normalizeFingerprint(fp string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '-' {
			return -1
		}
		return r
	}, fp)
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%q is not a SHA-256 fingerprint", fp)
	}
	return b, nil
}

// ErrFingerprint is returned (wrapped) when the server's certificate does
// not match the pinned fingerprint.
var ErrFingerprint = errors.New("server certificate does not match the pinned fingerprint")

// PinnedClient returns an HTTP client that trusts exactly the certificate
// with the given SHA-256 fingerprint. Chain verification is skipped
// because the certificate is self-signed; the pin check in
// VerifyConnection replaces it, so no other certificate is accepted.
func PinnedClient(fingerprint string) (*http.Client, error) {
	want, err := normalizeFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin check below
			MinVersion:         tls.VersionTLS12,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return ErrFingerprint
				}
				got := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if string(got[:]) != string(want) {
					return ErrFingerprint
				}
				return nil
			},
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
