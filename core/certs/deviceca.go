package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names of the device CA (#14) inside the directory given to
// NewDeviceCA: the directory that holds the server's TLS key.
const (
	DeviceCACertFile = "device-ca.pem"
	DeviceCAKeyFile  = "device-ca.key"
)

// Validity of the device CA and of the device certificates it signs. A
// device certificate lives as long as its device record (a reprovision or
// revoke makes the server refuse it) but at most DeviceCertValidity, so a
// phone left in a drawer does not hold a working key forever.
const (
	DeviceCAValidity   = 20 * 365 * 24 * time.Hour
	DeviceCertValidity = 2 * 365 * 24 * time.Hour
)

// DeviceCA is Provisio's own certificate authority for device (client)
// certificates, used for mutual authentication (#14). It is created in
// its directory on first use and reused afterwards. Its methods are safe
// for concurrent use.
type DeviceCA struct {
	dir string
	// certFile, keyFile and name are the CA's files in dir and its
	// common name: the device CA's, or the console CA's (NewConsoleCA).
	certFile, keyFile, name string

	mu   sync.Mutex
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewDeviceCA returns the device CA kept in dir. Nothing is read or made
// until it is first used.
func NewDeviceCA(dir string) *DeviceCA {
	return &DeviceCA{dir: dir, certFile: DeviceCACertFile, keyFile: DeviceCAKeyFile, name: "Provisio device CA"}
}

// File names of the console CA (#12), beside the device CA.
const (
	ConsoleCACertFile = "console-ca.pem"
	ConsoleCAKeyFile  = "console-ca.key"
)

// NewConsoleCA returns the CA that signs the client certificates of
// remote consoles (#12), kept in dir. It is a CA of its own, apart from
// the device CA, so a phone's certificate can never open the admin API.
func NewConsoleCA(dir string) *DeviceCA {
	return &DeviceCA{dir: dir, certFile: ConsoleCACertFile, keyFile: ConsoleCAKeyFile, name: "Provisio console CA"}
}

// Pool returns a pool holding the CA certificate, for verifying client
// certificates (tls.Config.ClientCAs).
func (ca *DeviceCA) Pool() (*x509.CertPool, error) {
	cert, _, err := ca.get()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// SignDevice signs a client certificate for username with the public key
// of csr, whose signature the caller has checked: CN username, a random
// 128-bit serial, the client-auth extended key usage, valid for
// DeviceCertValidity. It returns the PEM certificate, its serial in
// upper-case hex and its expiry.
func (ca *DeviceCA) SignDevice(username string, csr *x509.CertificateRequest) (certPEM []byte, serial string, notAfter time.Time, err error) {
	caCert, key, err := ca.get()
	if err != nil {
		return nil, "", time.Time{}, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("certs: generate serial: %w", err)
	}
	now := time.Now()
	notAfter = now.Add(DeviceCertValidity)
	if notAfter.After(caCert.NotAfter) {
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"Provisio"}, CommonName: username},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, csr.PublicKey, key)
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("certs: sign device certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), SerialHex(sn), notAfter, nil
}

// SerialHex is the form of a certificate serial the server records and
// compares: upper-case hex without separators.
func SerialHex(sn *big.Int) string { return strings.ToUpper(sn.Text(16)) }

func (ca *DeviceCA) get() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.cert == nil {
		cert, key, err := loadOrCreateCA(ca.dir, ca.certFile, ca.keyFile, ca.name)
		if err != nil {
			return nil, nil, err
		}
		ca.cert, ca.key = cert, key
	}
	return ca.cert, ca.key, nil
}

// loadOrCreateCA reads a CA (the device CA, the console CA) from dir,
// its files certFile and keyFile, creating it with common name name (ECDSA
// P-256, the key 0600) when neither file exists. As with the server
// certificate, one file without the other is an error, never a silent
// replacement: replacing the CA would cut off every device certificate.
func loadOrCreateCA(dir, certFile, keyFile, name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	// A creation a crash cut short (replacePair) is finished or undone
	// first, so it is not taken for a lost file.
	if _, _, err := finishPair(certPath, keyPath); err != nil {
		return nil, nil, err
	}
	certOK, err := exists(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case certOK && keyOK:
		return readDeviceCA(certPath, keyPath)
	case certOK || keyOK:
		return nil, nil, fmt.Errorf("certs: only one of %s and %s exists; restore the other from a backup or remove both to make a new %s (every certificate it signed then stops working)", certPath, keyPath, name)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"Provisio"}, CommonName: name},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(DeviceCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create device CA: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	// Staged and renamed as in Regenerate, so a crash never leaves one
	// file without the other.
	if err := replacePair(certPath, keyPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return nil, nil, err
	}
	return readDeviceCA(certPath, keyPath)
}

func readDeviceCA(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("certs: %s: no PEM CERTIFICATE block", certPath)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	b, _ = pem.Decode(keyPEM)
	if b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return nil, nil, fmt.Errorf("certs: %s: no PEM PRIVATE KEY block", keyPath)
	}
	k, err := parseKey(b)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("certs: " + keyPath + " is not the key of " + certPath)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("certs: %s is not a CA certificate", certPath)
	}
	return cert, key, nil
}
