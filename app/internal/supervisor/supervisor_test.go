package supervisor

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"provisio/core/certs"
	"provisio/core/store/storetest"
)

// TestSupervisor_RestartAndRegenerate: the server starts on loopback,
// lists its address, presents the certificate whose fingerprint it
// reports, serves a regenerated one after a restart, and stops.
func TestSupervisor_RestartAndRegenerate(t *testing.T) {
	svc := storetest.MustService(t)
	// A free loopback port: server.listen takes no port 0.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	for k, v := range map[string]string{"server.listen": listen, "server.advertise": "127.0.0.1"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := New(dir, dir+"-keys", svc)
	if got := s.URLs(); got != nil {
		t.Fatalf("URLs before start %v", got)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	urls := s.URLs()
	if len(urls) == 0 || !strings.HasPrefix(urls[0], "https://127.0.0.1:") {
		t.Fatalf("URLs %v", urls)
	}
	presented := func() string {
		t.Helper()
		addr := strings.TrimSuffix(strings.TrimPrefix(urls[0], "https://"), "/")
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return certs.Fingerprint(tls.Certificate{Certificate: [][]byte{conn.ConnectionState().PeerCertificates[0].Raw}})
	}
	first := s.Fingerprint()
	if first == "" || presented() != first || s.Certificate().Fingerprint != first || s.Certificate().FromFiles {
		t.Fatalf("fingerprint %q, certificate %+v", first, s.Certificate())
	}
	second, err := s.RegenerateCert()
	if err != nil || second == first {
		t.Fatalf("regenerate: %q, %v", second, err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	urls = s.URLs()
	if presented() != second {
		t.Error("the restarted server does not present the new certificate")
	}
	s.Stop()
	if got := s.URLs(); got != nil {
		t.Errorf("URLs after stop %v", got)
	}
}
