package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"provisio/core/certs"
)

func MustLoadOrCreate(tb testing.TB, dir string, names []string) tls.Certificate {
	tb.Helper()
	cert, err := certs.LoadOrCreate(dir, names)
	if err != nil {
		tb.Fatalf("LoadOrCreate(%q): %v", dir, err)
	}
	return cert
}

func MustLeaf(tb testing.TB, cert tls.Certificate) *x509.Certificate {
	tb.Helper()
	if cert.Leaf != nil {
		return cert.Leaf
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		tb.Fatal(err)
	}
	return leaf
}

func TestLoadOrCreate_CreateThenLoad(t *testing.T) {
	// A nested directory that does not exist yet: first run creates it.
	dir := filepath.Join(t.TempDir(), "state", "tls")
	names := []string{"provisio.lan", "192.168.1.10"}

	created := MustLoadOrCreate(t, dir, names)
	for _, f := range []string{certs.CertFile, certs.KeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	// Later runs load the same certificate, whatever names they pass,
	// because phones have pinned it.
	loaded := MustLoadOrCreate(t, dir, []string{"other.example"})
	if got, want := certs.Fingerprint(loaded), certs.Fingerprint(created); got != want {
		t.Errorf("fingerprint after reload = %s, want %s", got, want)
	}
	if loaded.Leaf == nil {
		t.Error("loaded certificate has no parsed Leaf")
	}
	// Temporary files from the atomic write are gone.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Errorf("dir holds %v, want only %s and %s", got, certs.CertFile, certs.KeyFile)
	}
}

func TestLoadOrCreate_Broken(t *testing.T) {
	otherDir := t.TempDir()
	MustLoadOrCreate(t, otherDir, []string{"other"})
	otherKey, err := os.ReadFile(filepath.Join(otherDir, certs.KeyFile))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		file     string // file to damage
		content  []byte // nil removes the file
		wantFile []string
		wantIs   error
	}{
		{"garbage key", certs.KeyFile, []byte("not a key\n"), []string{certs.KeyFile}, nil},
		{"empty key", certs.KeyFile, []byte{}, []string{certs.KeyFile}, nil},
		{"key with bad DER", certs.KeyFile, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), []string{certs.KeyFile}, nil},
		{"garbage cert", certs.CertFile, []byte("junk"), []string{certs.CertFile}, nil},
		{"cert with bad DER", certs.CertFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []string{certs.CertFile}, nil},
		{"key of another pair", certs.KeyFile, otherKey, []string{certs.CertFile, certs.KeyFile}, nil},
		{"missing key", certs.KeyFile, nil, []string{certs.KeyFile}, fs.ErrNotExist},
		{"missing cert", certs.CertFile, nil, []string{certs.CertFile}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			MustLoadOrCreate(t, dir, []string{"provisio.lan"})
			path := filepath.Join(dir, tt.file)
			if tt.content == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}

			_, err := certs.LoadOrCreate(dir, []string{"provisio.lan"})
			if err == nil {
				t.Fatal("LoadOrCreate succeeded, want an error")
			}
			for _, f := range tt.wantFile {
				if !strings.Contains(err.Error(), filepath.Join(dir, f)) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			// A missing half is one sentence with both ways out, not
			// "certs: … regenerate the certificate: file does not exist"
			// (there is no command to regenerate it while the server
			// cannot start).
			if tt.content == nil {
				other := certs.CertFile
				if tt.file == certs.CertFile {
					other = certs.KeyFile
				}
				want := "put it back from a backup, or move " + filepath.Join(dir, other) + " aside so that a new certificate is made"
				if msg := err.Error(); !strings.Contains(msg, want) || strings.HasPrefix(msg, "certs:") || strings.Contains(msg, "file does not exist") {
					t.Errorf("error %q; want one sentence saying %q", msg, want)
				}
			}
			// A broken pair is reported, never silently replaced.
			if tt.content != nil {
				got, _ := os.ReadFile(path)
				if string(got) != string(tt.content) {
					t.Errorf("%s was rewritten", tt.file)
				}
			} else if _, err := os.Stat(path); err == nil {
				t.Errorf("%s was recreated", tt.file)
			}
		})
	}
}

func TestRegenerate(t *testing.T) {
	dir := t.TempDir()
	old := MustLoadOrCreate(t, dir, []string{"provisio.lan"})
	fresh, err := certs.Regenerate(dir, []string{"provisio.lan"})
	if err != nil {
		t.Fatal(err)
	}
	if certs.Fingerprint(fresh) == certs.Fingerprint(old) {
		t.Error("Regenerate kept the old certificate")
	}
	if got := certs.Fingerprint(MustLoadOrCreate(t, dir, nil)); got != certs.Fingerprint(fresh) {
		t.Errorf("LoadOrCreate after Regenerate = %s, want %s", got, certs.Fingerprint(fresh))
	}
	if MustLeaf(t, old).SerialNumber.Cmp(MustLeaf(t, fresh).SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
}

func TestLoadOrCreate_SANs(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		wantDNS []string
		wantIPs []string
	}{
		{"none", nil, nil, nil},
		{"host and IPv4", []string{"console", "192.168.1.10"}, []string{"console"}, []string{"192.168.1.10"}},
		{
			"mixed",
			[]string{"provisio.example.lan", "10.0.0.5", "2001:db8::7", "localhost", "127.0.0.1"},
			[]string{"provisio.example.lan", "localhost"},
			[]string{"10.0.0.5", "2001:db8::7", "127.0.0.1"},
		},
		{"zone dropped", []string{"fe80::1%eth0"}, nil, []string{"fe80::1"}},
		{"blank and duplicates skipped", []string{"", " ", "a.lan", "a.lan", "10.0.0.1", "10.0.0.1"}, []string{"a.lan"}, []string{"10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := MustLeaf(t, MustLoadOrCreate(t, t.TempDir(), tt.names))
			if !slices.Equal(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("DNS SANs = %q, want %q", leaf.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				a, _ := netip.AddrFromSlice(ip)
				ips = append(ips, a.Unmap().String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs = %q, want %q", ips, tt.wantIPs)
			}
		})
	}
}

func TestLoadOrCreate_Certificate(t *testing.T) {
	before := time.Now()
	leaf := MustLeaf(t, MustLoadOrCreate(t, t.TempDir(), []string{"provisio.lan"}))

	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	// CheckSignatureFrom would insist the parent be a CA; the certificate
	// is a plain server certificate that signs itself.
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v is not positive", leaf.SerialNumber)
	}
	if leaf.NotBefore.After(before) {
		t.Errorf("NotBefore %v is after creation time %v", leaf.NotBefore, before)
	}
	if years := leaf.NotAfter.Sub(before).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("valid for %.2f years, want 10", years)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Error("missing server authentication extended key usage")
	}
}

func TestLoadOrCreate_FileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	dir := t.TempDir()
	MustLoadOrCreate(t, dir, nil)
	tests := []struct {
		file string
		want fs.FileMode
	}{
		{certs.KeyFile, 0o600},
		{certs.CertFile, 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	cert := MustLoadOrCreate(t, t.TempDir(), nil)
	sum := sha256.Sum256(cert.Certificate[0])
	tests := []struct {
		name string
		cert tls.Certificate
		want string
	}{
		{"leaf", cert, strings.ToUpper(hex.EncodeToString(sum[:]))},
		{"empty", tls.Certificate{}, ""},
	}
	format := regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := certs.Fingerprint(tt.cert)
			if strings.ReplaceAll(got, ":", "") != tt.want {
				t.Errorf("Fingerprint = %s, want the digest %s", got, tt.want)
			}
			if got != "" && !format.MatchString(got) {
				t.Errorf("Fingerprint %s is not 32 uppercase hex pairs joined by ':'", got)
			}
		})
	}
}

// TestLoadOrCreate_Handshake proves the files serve TLS: a client that
// trusts only this certificate connects by DNS name and by IP address.
func TestLoadOrCreate_Handshake(t *testing.T) {
	cert := MustLoadOrCreate(t, t.TempDir(), []string{"provisio.lan", "127.0.0.1"})
	roots := x509.NewCertPool()
	roots.AddCert(MustLeaf(t, cert))

	// A real socket rather than net.Pipe: an unbuffered pipe deadlocks
	// when the client aborts while the server is still writing.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_ = c.(*tls.Conn).Handshake() // the client reports the outcome
			}()
		}
	}()

	tests := []struct {
		serverName string
		wantErr    bool
	}{
		{"provisio.lan", false},
		{"127.0.0.1", false},
		{"elsewhere.lan", true},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			dialer := &net.Dialer{Timeout: 10 * time.Second}
			conn, err := tls.DialWithDialer(dialer, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: tt.serverName})
			if err == nil {
				conn.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("handshake error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultNames(t *testing.T) {
	names := certs.DefaultNames()
	if host, err := os.Hostname(); err == nil && host != "" {
		if len(names) == 0 || names[0] != host {
			t.Errorf("DefaultNames() = %q, want the host name %q first", names, host)
		}
		names = names[1:]
	}
	for _, n := range names {
		ip, err := netip.ParseAddr(n)
		if err != nil {
			t.Errorf("%q is not an IP address", n)
			continue
		}
		if ip.IsLoopback() {
			t.Errorf("%q is a loopback address", n)
		}
	}
	// Whatever the machine, the names make a valid certificate.
	MustLoadOrCreate(t, t.TempDir(), certs.DefaultNames())
}
