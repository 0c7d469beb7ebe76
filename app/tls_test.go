package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/app/internal/supervisor"
	"provisio/core/certs"
)

// writeOfficeCert writes a CA-style certificate for 127.0.0.1 as PEM
// files and returns its fingerprint; mismatch writes an unrelated key.
func writeOfficeCert(t *testing.T, certPath, keyPath string, mismatch bool) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "office"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if mismatch {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certs.Fingerprint(tls.Certificate{Certificate: [][]byte{der}})
}

func servedFingerprint(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return certs.Fingerprint(tls.Certificate{Certificate: [][]byte{conn.ConnectionState().PeerCertificates[0].Raw}})
}

// TestServer_TLSCertSettings: `settings set server.tls_cert/tls_key` make
// the server present the office's certificate; a renewed file is served
// without a restart; a key that does not match is refused with a sentence
// in the log while the previous certificate keeps serving.
func TestServer_TLSCertSettings(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(t.TempDir(), "office.crt"), filepath.Join(t.TempDir(), "office.key")
	fp1 := writeOfficeCert(t, certPath, keyPath, false)
	for _, kv := range [][2]string{{"server.tls_cert", certPath}, {"server.tls_key", keyPath}, {"server.advertise", "127.0.0.1"}} {
		if code, _, errOut := runCLI(t, dir, "settings", "set", kv[0], kv[1]); code != 0 {
			t.Fatalf("settings set %s: %s", kv[0], errOut)
		}
	}
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	loopbackEnv(t, e)
	srv, err := e.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addr().String()
	if got := servedFingerprint(t, addr); got != fp1 {
		t.Fatalf("served %s, want the office certificate %s", got, fp1)
	}

	fp2 := writeOfficeCert(t, certPath, keyPath, false)
	time.Sleep(1100 * time.Millisecond)
	if got := servedFingerprint(t, addr); got != fp2 {
		t.Fatalf("after renewal served %s, want %s", got, fp2)
	}

	writeOfficeCert(t, certPath, keyPath, true)
	time.Sleep(1100 * time.Millisecond)
	if got := servedFingerprint(t, addr); got != fp2 {
		t.Fatal("a certificate with the wrong key replaced the served one")
	}
	entries, _ := e.svc.LogTail(50)
	found := false
	for _, en := range entries {
		if strings.Contains(en.Message, "does not match the certificate in "+certPath+".") {
			found = true
		}
	}
	if !found {
		t.Fatal("no log line for the mismatched key")
	}
}

// TestConsole_CertificateHooks: what the console's Server screen is given
// (env.certInfo, checkCertFiles) tells the generated certificate from the
// admin's files, follows a setting at once, and words a bad file as the
// server's own sentence.
func TestConsole_CertificateHooks(t *testing.T) {
	dir := t.TempDir()
	e, err := openEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	loopbackEnv(t, e)
	if err := e.svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	srv, err := e.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gen := e.certInfo()
	if gen.FromFiles || gen.Problem != nil || gen.Fingerprint != servedFingerprint(t, srv.Addr().String()) || gen.NotAfter.IsZero() {
		t.Fatalf("generated: %+v", gen)
	}

	certPath, keyPath := filepath.Join(t.TempDir(), "office.crt"), filepath.Join(t.TempDir(), "office.key")
	writeOfficeCert(t, certPath, keyPath, true)
	if err := supervisor.CheckCertFiles(certPath, keyPath, "127.0.0.1"); err == nil ||
		err.Error() != "The key in "+keyPath+" does not match the certificate in "+certPath+"." {
		t.Fatalf("mismatched key: %v", err)
	}
	fp := writeOfficeCert(t, certPath, keyPath, false)
	if err := supervisor.CheckCertFiles(certPath, keyPath, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := supervisor.CheckCertFiles(certPath, keyPath, "auth.office.example.org"); err == nil || !strings.Contains(err.Error(), "does not name auth.office.example.org") {
		t.Fatalf("wrong host: %v", err)
	}
	for k, v := range map[string]string{"server.tls_cert": certPath, "server.tls_key": keyPath} {
		if err := e.svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// No waiting for the once-a-second check: the screen asks right
	// after Apply.
	own := e.certInfo()
	if !own.FromFiles || own.Fingerprint != fp || own.Problem != nil || strings.Join(own.Names, ",") != "127.0.0.1" {
		t.Fatalf("own files: %+v", own)
	}
	if got := servedFingerprint(t, srv.Addr().String()); got != fp {
		t.Fatalf("served %s, want %s", got, fp)
	}
}
