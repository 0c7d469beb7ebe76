package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core/certs"
)

func testCSR(t *testing.T) *x509.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// The device CA is made on first use, kept (key 0600) and reused by the
// next start; what it signs is a client-auth certificate for the
// username with a unique serial, valid about two years.
func TestDeviceCA_CreateReuseSign(t *testing.T) {
	dir := t.TempDir()
	pool1, err := certs.NewDeviceCA(dir).Pool()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, certs.DeviceCAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}
	ca := certs.NewDeviceCA(dir) // a restart: the same CA
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		certPEM, serial, notAfter, err := ca.SignDevice("alice", testCSR(t))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(certPEM)
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool1, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Fatalf("does not chain to the CA made before the restart: %v", err)
		}
		if leaf.Subject.CommonName != "alice" || certs.SerialHex(leaf.SerialNumber) != serial || seen[serial] {
			t.Fatalf("CN %q serial %s (seen %v)", leaf.Subject.CommonName, serial, seen[serial])
		}
		seen[serial] = true
		if d := time.Until(notAfter); d < certs.DeviceCertValidity-time.Minute || !leaf.NotAfter.Equal(notAfter.Truncate(time.Second)) {
			t.Fatalf("valid until %v (%v)", notAfter, leaf.NotAfter)
		}
	}
}

// One file of the pair without the other is an error naming both, never
// a silent new CA (which would cut off every device certificate).
func TestDeviceCA_HalfPair(t *testing.T) {
	dir := t.TempDir()
	if _, err := certs.NewDeviceCA(dir).Pool(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, certs.DeviceCAKeyFile)); err != nil {
		t.Fatal(err)
	}
	_, err := certs.NewDeviceCA(dir).Pool()
	if err == nil || !strings.Contains(err.Error(), certs.DeviceCAKeyFile) {
		t.Fatalf("half pair: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, certs.DeviceCAKeyFile)); err == nil {
		t.Fatal("a new key was written over a half pair")
	}
}
