package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// LoadFiles loads a certificate and key that an administrator supplies
// (server.tls_cert and server.tls_key: PEM files from the office's CA or
// a public CA), checking what would make phones refuse it. Each error is
// one sentence a person can act on:
//
//   - a file that cannot be read or holds no PEM block,
//   - a key that does not match the certificate,
//   - a certificate that has expired or is not valid yet,
//   - a certificate that does not name host (the advertised address
//     phones use), when host is not empty.
//
// Intermediate certificates may follow the leaf in the certificate file;
// they are sent along.
func LoadFiles(certPath, keyPath, host string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("The certificate file %s cannot be read: %w.", certPath, unwrapPath(err))
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("The key file %s cannot be read: %w.", keyPath, unwrapPath(err))
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("The certificate file %s holds no PEM certificate.", certPath)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("The certificate in %s cannot be read: %v.", certPath, err)
	}
	var key crypto.Signer
	for rest := keyPEM; key == nil; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			k, err := parseAnyKey(b)
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("The key in %s cannot be read: %v.", keyPath, err)
			}
			key = k
		}
	}
	if key == nil {
		return tls.Certificate{}, fmt.Errorf("The key file %s holds no PEM private key.", keyPath)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return tls.Certificate{}, fmt.Errorf("The key in %s does not match the certificate in %s.", keyPath, certPath)
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("The certificate in %s expired on %s.", certPath, leaf.NotAfter.UTC().Format("2 Jan 2006"))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("The certificate in %s is not valid until %s.", certPath, leaf.NotBefore.UTC().Format("2 Jan 2006 15:04 MST"))
	}
	if host != "" {
		if err := leaf.VerifyHostname(strings.Trim(host, "[]")); err != nil {
			return tls.Certificate{}, fmt.Errorf("The certificate in %s does not name %s, the address phones use (server.advertise).", certPath, host)
		}
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// parseAnyKey reads PKCS #8, SEC 1 (EC) and PKCS #1 (RSA) keys: what CAs
// and openssl hand out.
func parseAnyKey(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported key type")
	}
	return s, nil
}

// unwrapPath drops the path os errors repeat, since the sentence names it.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
