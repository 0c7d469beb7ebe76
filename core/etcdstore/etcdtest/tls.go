package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// TLSFiles are PEM files for a cluster that serves its clients over TLS
// and asks them for a certificate: a CA, the members' certificate for
// 127.0.0.1 and a client certificate, both signed by the CA.
type TLSFiles struct {
	CA                    string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// WriteTLSFiles writes a new CA and the certificates it signs into dir.
// Two calls make two unrelated CAs.
func WriteTLSFiles(tb testing.TB, dir string) TLSFiles {
	tb.Helper()
	f := TLSFiles{CA: filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "member.pem"), ServerKey: filepath.Join(dir, "member-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem")}
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcdtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(tb, f.CA, "CERTIFICATE", caDER)
	for i, c := range []struct {
		cert, key string
		usage     x509.ExtKeyUsage
	}{{f.ServerCert, f.ServerKey, x509.ExtKeyUsageServerAuth}, {f.ClientCert, f.ClientKey, x509.ExtKeyUsageClientAuth}} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "etcdtest"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{c.usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		kd, _ := x509.MarshalPKCS8PrivateKey(key)
		writePEM(tb, c.cert, "CERTIFICATE", der)
		writePEM(tb, c.key, "PRIVATE KEY", kd)
	}
	return f
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// StartTLS starts an n-member cluster whose members serve their clients
// over TLS with f's member certificate and accept only clients with a
// certificate f's CA signed (their peers talk plain HTTP on 127.0.0.1).
func StartTLS(tb testing.TB, n int, f TLSFiles) *Cluster {
	tb.Helper()
	info := &transport.TLSInfo{CertFile: f.ServerCert, KeyFile: f.ServerKey, TrustedCAFile: f.CA, ClientCertAuth: true}
	var c *Cluster
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		c, err = startClusterTLS(filepath.Join(tb.TempDir(), "tls"), n, info)
		if err == nil || !isAddrInUse(err) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("start an embedded etcd cluster with TLS: %v", err)
	}
	c.tb = tb
	tb.Cleanup(c.Close)
	return c
}
