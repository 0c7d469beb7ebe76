package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
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
	return writeOfficeCertUntil(t, certPath, keyPath, time.Now().Add(24*time.Hour), mismatch)
}

// writeOfficeCertUntil is writeOfficeCert valid until notAfter (a time
// passed writes an expired certificate).
func writeOfficeCertUntil(t *testing.T, certPath, keyPath string, notAfter time.Time, mismatch bool) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "office"},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
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
	// The address phones use first: the files are checked against it
	// once both are set.
	for _, kv := range [][2]string{{"server.advertise", "127.0.0.1"}, {"server.tls_cert", certPath}, {"server.tls_key", keyPath}} {
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
	e := loopbackEnvIn(t, t.TempDir())
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

// TestServer_ProvisionPageShowsTheServedFingerprint: the Provision URL page
// tells a person which fingerprint to trust. After the admin installs a
// certificate on the running server (settings, no restart) the page names
// the certificate the TLS connection that fetched it presents, not the one
// served at start; so does the supervisor's Fingerprint (printed by
// `console pair`, compared when a site's certificate is taken).
func TestServer_ProvisionPageShowsTheServedFingerprint(t *testing.T) {
	e := loopbackEnvIn(t, t.TempDir())
	if err := e.svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	srv, err := e.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addr().String()
	generated := servedFingerprint(t, addr)

	certPath, keyPath := filepath.Join(t.TempDir(), "office.crt"), filepath.Join(t.TempDir(), "office.key")
	office := writeOfficeCert(t, certPath, keyPath, false)
	if err := e.svc.ChangeSettings(map[string]string{"server.tls_cert": certPath, "server.tls_key": keyPath}, "Certificate files"); err != nil {
		t.Fatal(err)
	}
	// The reloader looks at the settings at most once a second.
	for deadline := time.Now().Add(5 * time.Second); servedFingerprint(t, addr) != office; {
		if time.Now().After(deadline) {
			t.Fatal("the server never presented the office certificate")
		}
		time.Sleep(100 * time.Millisecond)
	}

	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer cl.CloseIdleConnections()
	resp, err := cl.Get("https://" + addr + "/userportal/provision?username=alice&code=ABCDEFGH")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	served := certs.Fingerprint(tls.Certificate{Certificate: [][]byte{resp.TLS.PeerCertificates[0].Raw}})
	if served != office {
		t.Fatalf("the page came over a connection presenting %s, want the office certificate %s", served, office)
	}
	// The fingerprint as read: the page breaks it between bytes (<wbr>).
	page := strings.ReplaceAll(string(body), "<wbr>", "")
	if strings.Contains(page, generated) {
		t.Errorf("the page still tells people to trust the certificate served at start, %s", generated)
	}
	if !strings.Contains(page, served) {
		t.Errorf("the page does not show %s, the fingerprint of the certificate it was served with", served)
	}
	if got := e.sup.Fingerprint(); got != served {
		t.Errorf("Supervisor.Fingerprint = %s, want the served %s", got, served)
	}
}

// TestCLI_SettingsSetChecksCertificateFiles: `settings set server.tls_cert`
// and `server.tls_key` refuse, with the server's sentence and exit 1, what
// the server would not serve: a key that does not match, an expired
// certificate, a relative path. The certificate may be set before the key
// (the command says to set the key next); good files are saved.
func TestCLI_SettingsSetChecksCertificateFiles(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	set := func(key, value string) (int, string, string) {
		t.Helper()
		return runCLI(t, dir, "settings", "set", key, value)
	}
	saved := func(key string) string {
		t.Helper()
		code, out, errOut := runCLI(t, dir, "settings", "get", key)
		if code != 0 {
			t.Fatalf("settings get %s: %s", key, errOut)
		}
		return strings.TrimSpace(out)
	}
	if code, _, errOut := set("server.advertise", "127.0.0.1"); code != 0 {
		t.Fatal(errOut)
	}

	// A relative path: a sentence asking for the full path.
	if code, _, errOut := set("server.tls_cert", "office.crt"); code != 1 || !strings.Contains(errOut, "Enter the full path of the certificate file") {
		t.Errorf("relative certificate path: exit %d, %q", code, errOut)
	}
	if code, _, errOut := set("server.tls_key", "office.key"); code != 1 || !strings.Contains(errOut, "Enter the full path of the key file") {
		t.Errorf("relative key path: exit %d, %q", code, errOut)
	}

	// A key that does not match: the certificate alone is saved, with a
	// word about the key; the key is refused with the server's sentence.
	certPath, keyPath := filepath.Join(files, "office.crt"), filepath.Join(files, "office.key")
	writeOfficeCert(t, certPath, keyPath, true)
	code, out, errOut := set("server.tls_cert", certPath)
	if code != 0 || !strings.Contains(out, "Now set server.tls_key") {
		t.Fatalf("certificate before its key: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = set("server.tls_key", keyPath)
	if want := "The key in " + keyPath + " does not match the certificate in " + certPath + "."; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("mismatched key: exit %d, %q, want %q", code, errOut, want)
	}
	if got := saved("server.tls_key"); got != "" {
		t.Errorf("the mismatched key was saved: %q", got)
	}

	// An expired certificate with its own key.
	expCert, expKey := filepath.Join(files, "expired.crt"), filepath.Join(files, "expired.key")
	writeOfficeCertUntil(t, expCert, expKey, time.Now().Add(-24*time.Hour), false)
	if code, _, errOut := set("server.tls_cert", expCert); code != 0 {
		t.Fatalf("certificate before its key: %s", errOut)
	}
	if code, _, errOut := set("server.tls_key", expKey); code != 1 || !strings.Contains(errOut, "The certificate in "+expCert+" expired on") {
		t.Errorf("expired certificate: exit %d, %q", code, errOut)
	}

	// A good pair is saved, and served (TestServer_TLSCertSettings).
	writeOfficeCert(t, certPath, keyPath, false)
	if code, _, errOut := set("server.tls_cert", certPath); code != 0 {
		t.Fatalf("good certificate: %s", errOut)
	}
	if code, out, errOut := set("server.tls_key", keyPath); code != 0 || strings.Contains(out, "Now set") {
		t.Fatalf("good key: exit %d, %q %q", code, out, errOut)
	}
	if saved("server.tls_cert") != certPath || saved("server.tls_key") != keyPath {
		t.Error("the good pair was not saved")
	}
}
