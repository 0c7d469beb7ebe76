package agentxml_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/certs"
	"provisio/core/store/storetest"
)

// mtlsEnv is a server with a device CA in a temporary directory and its
// mutual-TLS listener open on 127.0.0.1.
func mtlsEnv(t *testing.T) (*env, string) {
	t.Helper()
	dir := t.TempDir()
	ca := certs.NewDeviceCA(dir)
	e := newEnvWith(t, []agentxmltest.Option{func(o *agentxml.Options) { o.DeviceCA = ca }})
	if err := e.srv.OpenMTLS("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return e, dir
}

// Mutual authentication (#14) over real HTTPS with the reference client:
// a CSR in provision returns a certificate that chains to the device CA
// (CN the username, client-auth only); a download without it fails, on
// either listener; with it, on the mutual-TLS listener, it passes; after
// a reprovision the old certificate is refused.
func TestServer_DeviceCertificate(t *testing.T) {
	e, dir := mtlsEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	if err := e.svc.AddProfile(core.Profile{Name: "Secure", ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "it@example.org"})}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetProfileValue("Secure", "mutual_auth", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AssignProfileToUser("Secure", "alice"); err != nil {
		t.Fatal(err)
	}
	mtls := e.srv.MTLSAddr().String()

	m := e.phone(t, "alice")
	if err := m.UseMutualAuth(); err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("Android 15"); err != nil {
		t.Fatal(err)
	}

	// The certificate chains to the device CA kept in dir.
	caPEM, err := os.ReadFile(filepath.Join(dir, certs.DeviceCACertFile))
	if err != nil {
		t.Fatalf("device CA certificate: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, certs.DeviceCAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("device CA key: %v, mode %v", err, fi.Mode())
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("device-ca.pem holds no certificate")
	}
	b, _ := pem.Decode([]byte(m.Certificate()))
	if b == nil {
		t.Fatalf("provision returned no PEM certificate: %q", m.Certificate())
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("certificate does not chain to the device CA: %v", err)
	}
	if leaf.Subject.CommonName != "alice" {
		t.Errorf("CN = %q, want alice", leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a device certificate is valid for server authentication")
	}

	// Without the certificate: refused on the normal listener with a
	// sentence, and no TLS session at all on the mutual-TLS one.
	var fe *agentxmltest.FailError
	if err := m.DownloadStrings(); !errors.As(err, &fe) || fe.Code != "AGENT_ERROR_SESSION" {
		t.Fatalf("download on the normal listener: %v, want FAIL AGENT_ERROR_SESSION", err)
	}
	r, err := m.Do(agentxmltest.SASRequest("Action", "securitystrings", "Id", m.DeviceID()))
	if err != nil || r.Pass() || !strings.Contains(r.Message, "mutual-TLS") || r.SecurityStrings != "" {
		t.Fatalf("normal listener answered %+v, %v", r, err)
	}
	if err := m.UseMTLS(mtls, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.DownloadStrings(); err == nil {
		t.Fatal("the mutual-TLS listener served a client without a certificate")
	}

	// With it, on the mutual-TLS listener: strings, and the user's
	// profile says mutual authentication.
	old, err := m.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UseMTLS(mtls, &old); err != nil {
		t.Fatal(err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatalf("download with the certificate: %v", err)
	}
	if v, _ := (&agentxmltest.Response{Policies: m.Policies()}).Policy("mutualAuth"); v != "ON" {
		t.Errorf("mutualAuth policy = %q", v)
	}

	// Reprovision: the new phone's certificate works, the old one is
	// refused, also with the new device Id.
	m2 := e.phone(t, "alice")
	if err := m2.UseMutualAuth(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Provision("Android 15"); err != nil {
		t.Fatal(err)
	}
	cur, err := m2.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.UseMTLS(mtls, &old); err != nil {
		t.Fatal(err)
	}
	if err := m2.DownloadStrings(); !errors.As(err, &fe) || fe.Code != "AGENT_ERROR_SESSION" {
		t.Fatalf("download with the old certificate: %v, want FAIL AGENT_ERROR_SESSION", err)
	}
	if err := m.DownloadStrings(); err == nil {
		t.Fatal("the old phone still downloads")
	}
	if err := m2.UseMTLS(mtls, &cur); err != nil {
		t.Fatal(err)
	}
	if err := m2.DownloadStrings(); err != nil {
		t.Fatalf("download with the new certificate: %v", err)
	}
	// A user edit keeps the certificate; a revoke clears it.
	if u, err := e.svc.User("alice"); err != nil || u.DeviceCert == nil || u.DeviceCert.DeviceID != m2.DeviceID() {
		t.Fatalf("recorded certificate: %+v, %v", u.DeviceCert, err)
	}
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.FullName = "Alice Smith"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := m2.DownloadStrings(); err != nil {
		t.Fatalf("download after a user edit: %v", err)
	}
	if err := e.svc.RevokeDevice("alice"); err != nil {
		t.Fatal(err)
	}
	if u, err := e.svc.User("alice"); err != nil || u.DeviceCert != nil {
		t.Fatalf("after revoke: %+v, %v", u.DeviceCert, err)
	}
	if err := m2.DownloadStrings(); err == nil {
		t.Fatal("a revoked device downloaded")
	}
}

// A provision without a CSR for a mutual-auth user passes without a
// certificate (the downloads then refuse); an unusable CSR is refused
// before the code is spent; users without mutual authentication ignore
// a CSR and download on the normal listener as before.
func TestServer_DeviceCertificate_CSRCases(t *testing.T) {
	e, _ := mtlsEnv(t)
	storetest.MustAddUser(t, e.svc, "bob", "1234")

	// Default profile, mutual auth off: a CSR gets no certificate, and
	// the normal listener serves.
	m := e.phone(t, "bob")
	if err := m.UseMutualAuth(); err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("Android 15"); err != nil {
		t.Fatal(err)
	}
	if m.Certificate() != "" {
		t.Error("a certificate was issued without mutual authentication")
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatal(err)
	}

	// An unusable CSR: a clear FAIL, and the code still works.
	if err := e.svc.SetProfileValue("Default", "mutual_auth", "yes"); err != nil {
		t.Fatal(err)
	}
	ic, err := e.svc.CreateProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if m, err = agentxmltest.NewMobileClient(ic.URL, e.fp); err != nil {
		t.Fatal(err)
	}
	r, err := m.Do(agentxmltest.SASRequest("Action", "provision", "Username", "bob", "ProvisionCode", ic.Code, "CSR", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
	if err != nil || r.Pass() || r.Error != "AGENT_ERROR_MALFORMED" || !strings.Contains(r.Message, "CSR") {
		t.Fatalf("bad CSR answered %+v, %v", r, err)
	}
	if err := m.Provision("Android 15"); err != nil {
		t.Fatalf("the code stopped working after a bad CSR: %v", err)
	}
	if m.Certificate() != "" {
		t.Error("a certificate without a CSR")
	}
	if err := m.DownloadStrings(); err == nil {
		t.Fatal("a mutual-auth device without a certificate downloaded")
	}
}
