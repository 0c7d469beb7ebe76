package certs

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
	"strings"
	"testing"
	"time"
)

// writePair writes a certificate for names valid from nb to na, signed by
// its own key, and returns the paths; otherKey writes an unrelated key.
func writePair(t *testing.T, dir string, names []string, nb, na time.Time, otherKey bool) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "office"},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if otherKey {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	cp, kp := filepath.Join(dir, "office.crt"), filepath.Join(dir, "office.key")
	if err := os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cp, kp
}

func TestLoadFiles(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	year := 365 * 24 * time.Hour
	tests := []struct {
		name    string
		names   []string
		nb, na  time.Time
		other   bool
		host    string
		wantErr string
	}{
		{"good DNS name", []string{"auth.office.lan"}, now.Add(-year), now.Add(year), false, "auth.office.lan", ""},
		{"good IP", []string{"192.168.1.20"}, now.Add(-year), now.Add(year), false, "192.168.1.20", ""},
		{"key does not match", []string{"auth.office.lan"}, now.Add(-year), now.Add(year), true, "auth.office.lan", "does not match the certificate"},
		{"expired", []string{"auth.office.lan"}, now.Add(-2 * year), now.Add(-year), false, "auth.office.lan", "expired on 1 Jun 2025"},
		{"not yet valid", []string{"auth.office.lan"}, now.Add(year), now.Add(2 * year), false, "auth.office.lan", "is not valid until"},
		{"wrong host", []string{"auth.office.lan"}, now.Add(-year), now.Add(year), false, "192.168.1.20", "does not name 192.168.1.20, the address phones use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, kp := writePair(t, t.TempDir(), tt.names, tt.nb, tt.na, tt.other)
			c, err := LoadFiles(cp, kp, tt.host, now)
			if tt.wantErr == "" {
				if err != nil || c.Leaf == nil {
					t.Fatalf("LoadFiles = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadFiles error = %v, want %q", err, tt.wantErr)
			}
			if strings.Count(err.Error(), ". ") > 0 || !strings.HasSuffix(err.Error(), ".") {
				t.Fatalf("not one sentence: %q", err)
			}
		})
	}
	if _, err := LoadFiles(filepath.Join(t.TempDir(), "missing.crt"), "x", "", now); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestReloader_PicksUpNewFiles: the served certificate follows the
// settings and the files without a restart, and a bad file keeps the
// previous certificate.
func TestReloader_PicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	clock := time.Now()
	var certPath, keyPath string
	var problems []string
	r := &Reloader{
		Dir:     filepath.Join(dir, "generated"),
		Source:  func() (string, string, string) { return certPath, keyPath, "auth.office.lan" },
		Names:   func() []string { return []string{"127.0.0.1", "auth.office.lan"} },
		OnError: func(err error) { problems = append(problems, err.Error()) },
		Now:     func() time.Time { return clock },
	}
	gen, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Leaf.VerifyHostname("auth.office.lan"); err != nil {
		t.Fatalf("the generated certificate does not name the advertised host: %v", err)
	}

	office := filepath.Join(dir, "office")
	os.MkdirAll(office, 0o700)
	certPath, keyPath = writePair(t, office, []string{"auth.office.lan"}, clock.Add(-time.Hour), clock.Add(time.Hour*24), false)
	clock = clock.Add(2 * time.Second)
	got, _ := r.GetCertificate(nil)
	if Fingerprint(*got) == Fingerprint(*gen) {
		t.Fatal("the configured files were not picked up")
	}
	want := Fingerprint(*got)

	// A renewal with a key that does not match is refused; the previous
	// certificate keeps serving.
	writePair(t, office, []string{"auth.office.lan"}, clock.Add(-time.Hour), clock.Add(time.Hour*24), true)
	clock = clock.Add(2 * time.Second)
	got, _ = r.GetCertificate(nil)
	if Fingerprint(*got) != want {
		t.Fatal("a bad renewal replaced the served certificate")
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "does not match") {
		t.Fatalf("problems = %q", problems)
	}

	// Clearing the settings goes back to the generated certificate.
	certPath, keyPath = "", ""
	clock = clock.Add(2 * time.Second)
	got, _ = r.GetCertificate(nil)
	if Fingerprint(*got) != Fingerprint(*gen) {
		t.Fatal("clearing the settings did not bring the generated certificate back")
	}
}

// TestReloader_Status says which certificate is served, and why the
// configured files are not.
func TestReloader_Status(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	var certPath, keyPath string
	r := &Reloader{
		Dir:    filepath.Join(dir, "generated"),
		Source: func() (string, string, string) { return certPath, keyPath, "auth.office.lan" },
		Names:  func() []string { return []string{"127.0.0.1", "auth.office.lan"} },
	}
	gen := r.Status()
	if gen.FromFiles || gen.Err != nil || gen.Fingerprint == "" || gen.Leaf == nil {
		t.Fatalf("generated: %+v", gen)
	}
	office := filepath.Join(dir, "office")
	os.MkdirAll(office, 0o700)
	certPath, keyPath = writePair(t, office, []string{"auth.office.lan"}, now.Add(-time.Hour), now.Add(48*time.Hour), false)
	// Status reloads at once, without waiting for the next check.
	own := r.Status()
	if !own.FromFiles || own.Err != nil || own.Fingerprint == gen.Fingerprint || own.Leaf.DNSNames[0] != "auth.office.lan" {
		t.Fatalf("own files: %+v", own)
	}
	writePair(t, office, []string{"auth.office.lan"}, now.Add(-time.Hour), now.Add(48*time.Hour), true)
	bad := r.Status()
	if !bad.FromFiles || bad.Fingerprint != own.Fingerprint || bad.Err == nil || !strings.Contains(bad.Err.Error(), "does not match") {
		t.Fatalf("bad renewal: %+v", bad)
	}
	certPath, keyPath = "", ""
	if back := r.Status(); back.FromFiles || back.Err != nil || back.Fingerprint != gen.Fingerprint {
		t.Fatalf("cleared: %+v", back)
	}
}
