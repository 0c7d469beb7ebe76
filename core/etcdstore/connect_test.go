package etcdstore_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
)

// TestConnect_SaysWhatIsWrong: when the store cannot be opened the
// sentence says why in words. A cluster without quorum, or no member
// listening, "did not answer within" the dial timeout, with none of
// gRPC's or etcd's own text ("context deadline exceeded"); a TLS problem
// keeps its cause, the one clue to what is misconfigured, which etcd's
// client hides behind that same timeout.
func TestConnect_SaysWhatIsWrong(t *testing.T) {
	const dial = 2 * time.Second
	tlsFiles := etcdtest.WriteTLSFiles(t, t.TempDir())
	other := etcdtest.WriteTLSFiles(t, t.TempDir()) // an unrelated CA
	secure := etcdtest.StartTLS(t, 1, tlsFiles)
	plain := etcdtest.Start(t, 3)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()

	connect := func(eps []string, ca, cert, key string) error {
		t.Helper()
		cfg, err := etcdstore.ParseURL("etcd://"+strings.Join(eps, ",")+"/c", ca, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DialTimeout = dial
		kv, err := etcdstore.Connect(cfg)
		if err == nil {
			kv.Close()
		}
		return err
	}
	if err := connect(secure.Endpoints(), tlsFiles.CA, tlsFiles.ClientCert, tlsFiles.ClientKey); err != nil {
		t.Fatalf("the right TLS files: %v", err)
	}
	check := func(what string, err error, want ...string) {
		t.Helper()
		t.Logf("%s: %v", what, err)
		if err == nil {
			t.Errorf("%s: connected", what)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", what, err, w)
			}
		}
		for _, raw := range []string{"deadline", "rpc error", "desc ="} {
			if strings.Contains(err.Error(), raw) {
				t.Errorf("%s: %q shows etcd's own text %q", what, err, raw)
			}
		}
	}
	check("an unrelated CA", connect(secure.Endpoints(), other.CA, tlsFiles.ClientCert, tlsFiles.ClientKey),
		"over TLS", "certificate signed by unknown authority", "--etcd-ca")
	check("no client certificate", connect(secure.Endpoints(), tlsFiles.CA, "", ""),
		"over TLS", "certificate required", "--etcd-cert")
	check("no TLS files for members on TLS", connect(secure.Endpoints(), "", "", ""),
		"serves TLS", "--etcd-ca")
	check("TLS files for members without TLS", connect(plain.Endpoints(), tlsFiles.CA, tlsFiles.ClientCert, tlsFiles.ClientKey),
		"does not serve TLS", "remove --etcd-ca")
	check("no member listening", connect([]string{nobody}, "", "", ""),
		"did not answer within 2 s", "running and reachable")

	plain.Kill(1)
	plain.Kill(2)
	began := time.Now()
	err = connect(plain.Endpoints(), "", "", "")
	check("no quorum", err, "did not answer within 2 s", "running and reachable")
	if took := time.Since(began); took > dial+2*time.Second {
		t.Errorf("without quorum the refusal took %v; want about the dial timeout (%v)", took, dial)
	}
}

// The first connect waits as long as the address's request-timeout says,
// 5 s without one: with no member listening (a closed port on
// 127.0.0.1), a 1 s setting gives up well before 5 s and says 1 s. The
// bounds are generous: they tell 1 s from 5 s, they time nothing.
func TestConnect_WaitFollowsRequestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()
	tests := []struct {
		query    string
		said     string
		min, max time.Duration
	}{
		{"?request-timeout=1s", "within 1 s", 900 * time.Millisecond, 4 * time.Second},
		{"", "within 5 s", 4900 * time.Millisecond, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run("etcd://"+nobody+"/c"+tt.query, func(t *testing.T) {
			cfg, err := etcdstore.ParseURL("etcd://"+nobody+"/c"+tt.query, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			kv, err := etcdstore.Connect(cfg)
			took := time.Since(began)
			if err == nil {
				kv.Close()
				t.Fatal("connected to a closed port")
			}
			if !strings.Contains(err.Error(), "did not answer "+tt.said) {
				t.Errorf("error %q, want it to say %q", err, tt.said)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("gave up after %v, want between %v and %v", took, tt.min, tt.max)
			}
		})
	}
}
