package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/certs"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// TestEtcd_RegeneratedCertificateReachesEveryServer: "Regenerate
// certificate" on one server of a site (the function the Server screen
// calls, in a third server run as the console runs it) replaces the
// certificate that server A and server B (both `serve`) present over TLS
// within seconds, without a restart; each logs the new fingerprint; and a
// server started afterwards presents it too.
func TestEtcd_RegeneratedCertificateReachesEveryServer(t *testing.T) {
	url, _, a, b := twoNodes(t)
	key, err := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := openEnvStore(t.TempDir(), keys, storeChoice{url: url}, core.ConsoleActor)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	srv, err := c.sup.Open("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	defer c.startWorkers(io.Discard)()

	old := a.fp
	for name, addr := range map[string]string{"A": a.addr, "B": b.addr, "C": srv.Addr().String()} {
		if fp := servedFingerprint(t, addr); fp != old {
			t.Fatalf("before: %s presents %s, A printed %s", name, fp, old)
		}
	}

	fp, err := c.regenerateCert()
	if err != nil {
		t.Fatal(err)
	}
	if fp == old || fp == "" {
		t.Fatalf("regenerated fingerprint %q (old %s)", fp, old)
	}
	if got := servedFingerprint(t, srv.Addr().String()); got != fp {
		t.Fatalf("C presents %s after regenerating, want %s", got, fp)
	}
	start := time.Now()
	for name, addr := range map[string]string{"A": a.addr, "B": b.addr} {
		for {
			got := servedFingerprint(t, addr)
			if got == fp {
				break
			}
			if got != old {
				t.Fatalf("%s presents %s: neither the old nor the new certificate", name, got)
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s still presents the old certificate %s after %v", name, old, time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("A and B present the new certificate %v after it was regenerated on C", time.Since(start).Round(time.Millisecond))

	// Each follower says so in the site's audit log (A and B: two lines).
	var lines int
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && lines < 2; time.Sleep(50 * time.Millisecond) {
		tail, err := c.svc.LogTail(50)
		if err != nil {
			t.Fatal(err)
		}
		lines = 0
		for _, l := range tail {
			if l.Level == core.LevelWarn && strings.Contains(l.Message, "regenerated on another server") && strings.Contains(l.Message, fp) {
				lines++
			}
		}
	}
	if lines != 2 {
		t.Errorf("%d log lines about the replaced certificate, want 2 (A and B)", lines)
	}

	// A server that was not running takes it when it starts.
	a.stopNode(t)
	startNode(t, url, a)
	if a.fp != fp || servedFingerprint(t, a.addr) != fp {
		t.Fatalf("A restarted with %s, want %s", a.fp, fp)
	}
}

// TestEtcd_RegenerateKeepsTheOldCertificateWhenTheSiteCannot: when the
// site's copy cannot be written (here the server has lost etcd), the
// regenerating server puts its old certificate back and says so, so no
// server presents a certificate the others do not.
func TestEtcd_RegenerateKeepsTheOldCertificateWhenTheSiteCannot(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	dir, keys := t.TempDir(), filepath.Join(t.TempDir(), "keys")
	e, err := openEnvStore(dir, keys, storeChoice{url: cluster.URL("office")}, core.ConsoleActor)
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
	old := servedFingerprint(t, srv.Addr().String())
	before := map[string][]byte{}
	for n, p := range e.identityFiles() {
		if before[n], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	e.kv.Client().Close()
	fp, err := e.regenerateCert()
	if err == nil || !strings.Contains(err.Error(), "could not be shared with the other servers") {
		t.Fatalf("regenerate without etcd = %q, %v; want the sharing failure", fp, err)
	}
	if got := servedFingerprint(t, srv.Addr().String()); got != old {
		t.Fatalf("presents %s after the failed regeneration, want the old %s", got, old)
	}
	for n, p := range e.identityFiles() {
		if b, _ := os.ReadFile(p); !bytes.Equal(b, before[n]) {
			t.Errorf("%s changed", n)
		}
	}
}

// TestEtcd_CommandTakesTheSiteCertificate: a command on an etcd site
// opens whatever this machine holds of the site's identity and takes the
// stored one, instead of refusing a half pair. The README's "from either"
// example runs `provisio --key-dir /etc/provisio settings set …` on a
// server's machine without --data: the key directory holds the server's
// key.pem while the default data directory has no cert.pem.
func TestEtcd_CommandTakesTheSiteCertificate(t *testing.T) {
	cluster := etcdtest.Start(t, 1)
	url := cluster.URL("office")
	root := t.TempDir()
	first, firstKeys := filepath.Join(root, "first"), filepath.Join(root, "first-keys")
	if code, _, errOut := runStore(t, url, first, firstKeys, "settings", "set", "server.advertise", "127.0.0.1"); code != 0 {
		t.Fatalf("first command: exit %d: %s", code, errOut)
	}
	read := func(path string) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	siteCert := read(filepath.Join(first, certs.CertFile))
	siteKey := read(filepath.Join(firstKeys, certs.KeyFile))
	dataKey := read(filepath.Join(firstKeys, store.KeyFileName))

	for i, tc := range []struct {
		name string
		// dirs are the data and key directories the command is given,
		// made under the name n.
		dirs func(n string) (dir, keyDir string)
	}{
		{"the server's key directory, another data directory (README)", func(n string) (string, string) {
			return filepath.Join(root, n), firstKeys
		}},
		{"the server's data directory, a key directory with the data key only", func(n string) (string, string) {
			keys := filepath.Join(root, n+"-keys")
			if err := os.MkdirAll(keys, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(keys, store.KeyFileName), dataKey, 0o600); err != nil {
				t.Fatal(err)
			}
			return first, keys
		}},
		{"a new data directory, a key directory with the data key only", func(n string) (string, string) {
			keys := filepath.Join(root, n+"-keys")
			if err := os.MkdirAll(keys, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(keys, store.KeyFileName), dataKey, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(root, n), keys
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, keyDir := tc.dirs(fmt.Sprintf("case%d", i))
			code, out, errOut := runStore(t, url, dir, keyDir, "settings", "set", "server.name", fmt.Sprintf("Office %d", i))
			if code != 0 {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			if !bytes.Equal(read(filepath.Join(dir, certs.CertFile)), siteCert) {
				t.Errorf("%s is not the site's certificate", filepath.Join(dir, certs.CertFile))
			}
			if !bytes.Equal(read(filepath.Join(keyDir, certs.KeyFile)), siteKey) {
				t.Errorf("%s is not the site's certificate key", filepath.Join(keyDir, certs.KeyFile))
			}
		})
	}
}
