package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// Store-wide commands on an etcd site: copying a data file to etcd and
// back, and rotating the data key. The cluster set-up (twoNodes) is in
// etcd_test.go.

// TestEtcd_StoreCopy: a data file is copied to etcd and back; each copy
// is verified (counts and log chain) and serves the same users, and a
// copy into a store that holds records is refused.
func TestEtcd_StoreCopy(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	url := cluster.URL("copied")
	root := t.TempDir()
	dir, keys := filepath.Join(root, "file"), filepath.Join(root, "keys")
	runWithIn := func(stdin string, extra []string, args ...string) (int, string, string) {
		var out, errOut syncBuffer
		code := runIn(stdin, append(append([]string{"--data", dir, "--key-dir", keys}, extra...), args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	runWith := func(extra []string, args ...string) (int, string, string) { return runWithIn("", extra, args...) }
	for i := 0; i < 5; i++ {
		if code, _, errOut := runWithIn("1234\n", nil, "user", "add", fmt.Sprintf("copy%d", i), "--pin", "-", "--email", fmt.Sprintf("c%d@example.org", i)); code != 0 {
			t.Fatal(errOut)
		}
	}
	code, out, errOut := runWith(nil, "store", "copy", "--to", url)
	if code != 0 || !strings.Contains(out, "Verified: the same records in every bucket") {
		t.Fatalf("copy to etcd: exit %d %s %s", code, out, errOut)
	}
	etcd := []string{"--store", url}
	if code, out, errOut := runWith(etcd, "user", "list"); code != 0 || !strings.Contains(out, "copy4") {
		t.Fatalf("user list on etcd: %s %s", out, errOut)
	}
	if code, out, errOut := runWith(etcd, "log", "verify"); code != 0 {
		t.Fatalf("log verify on etcd: %s %s", out, errOut)
	}
	// Again into the same, now full, store: refused, nothing changed.
	if code, _, errOut := runWith(nil, "store", "copy", "--to", url); code != 1 || !strings.Contains(errOut, "already holds records") {
		t.Fatalf("second copy: exit %d %s", code, errOut)
	}
	back := filepath.Join(root, "back")
	code, out, errOut = runWith(etcd, "store", "copy", "--to", back)
	if code != 0 || !strings.Contains(out, "Verified") {
		t.Fatalf("copy back: exit %d %s %s", code, out, errOut)
	}
	var o, e syncBuffer
	if code := run([]string{"--data", back, "--key-dir", keys, "user", "list"}, &o, &e); code != 0 || !strings.Contains(o.String(), "copy3") {
		t.Fatalf("user list on the copied file: %s %s", o.String(), e.String())
	}
}

// TestEtcd_KeyRotateWaitsForTheSite: on etcd no file lock keeps a second
// process out, so "key rotate" refuses while a server of the site runs
// (it would re-encrypt under running servers that keep the old key); with
// every server stopped it rotates and says to copy the new key to the
// others, and the old key no longer reads the site.
func TestEtcd_KeyRotateWaitsForTheSite(t *testing.T) {
	url, _, a, b := twoNodes(t)
	// An admin's CLI on a third machine, given the site's key.
	key, err := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	adminDir, adminKeys := t.TempDir(), filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(adminKeys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(adminKeys, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runStore(t, url, adminDir, adminKeys, "key", "rotate")
	if code == 0 || !strings.Contains(errOut, "is running on this etcd site; stop every server of the site") {
		t.Fatalf("key rotate while servers run: exit %d, %q", code, errOut)
	}
	// Nothing changed: node B still serves with the old key.
	if code, out, errOut := runStore(t, url, b.dir, b.keyDir, "user", "list"); code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("user list on B after the refusal: %d %q %q", code, out, errOut)
	}

	// Every server stopped (each resigns its candidacy): the rotation runs.
	a.stopNode(t)
	b.stopNode(t)
	code, out, errOut := runStore(t, url, adminDir, adminKeys, "key", "rotate")
	if code != 0 || !strings.Contains(out, "Copy the new "+filepath.Join(adminKeys, store.KeyFileName)+" to the key directory of every other server") {
		t.Fatalf("key rotate with the site stopped: exit %d, %q %q", code, out, errOut)
	}
	if !strings.Contains(out, "etcdctl defrag --cluster") {
		t.Errorf("key rotate on etcd does not say to defragment the members: %q", out)
	}
	// B's old key no longer reads the site; the new one does.
	if code, _, _ := runStore(t, url, b.dir, b.keyDir, "user", "list"); code == 0 {
		t.Fatal("the old key still reads the site after the rotation")
	}
	newKey, err := os.ReadFile(filepath.Join(adminKeys, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.keyDir, store.KeyFileName), newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runStore(t, url, b.dir, b.keyDir, "user", "list"); code != 0 || !strings.Contains(out, "carol") {
		t.Fatalf("user list with the new key: %d %q %q", code, out, errOut)
	}
}

// TestEtcd_KeyRotateSaysWhenTheSiteCannotBeAsked: should etcd stop
// answering after the command opened the site (the narrow window
// between the open and the check for running servers), "key rotate"
// says in a sentence that the etcd cluster did not answer and that it
// did not start, not etcd's own text, and does not tell the admin to
// stop servers that may not run.
func TestEtcd_KeyRotateSaysWhenTheSiteCannotBeAsked(t *testing.T) {
	cluster := etcdtest.Start(t, 3)
	e, err := openEnvStore(t.TempDir(), filepath.Join(t.TempDir(), "keys"), storeChoice{url: cluster.URL("office") + "?request-timeout=2s"}, core.OperatorActor(core.CommandLine))
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	cluster.Kill(1)
	cluster.Kill(2)
	began := time.Now()
	err = e.refuseWhileSiteRuns("key rotate")
	if err == nil {
		t.Fatal("key rotate went ahead without asking etcd who runs")
	}
	// It waits as the address's request-timeout says (2 s), not 5 s: a
	// bound that tells the two apart.
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("asking who runs took %v with request-timeout=2s", took)
	}
	var out, errOut syncBuffer
	(&cli{out: &out, errOut: &errOut}).fail(err)
	msg := errOut.String()
	t.Logf("%s", msg)
	for _, raw := range []string{"deadline", "etcdserver:", "rpc error", "context"} {
		if strings.Contains(msg, raw) {
			t.Errorf("the refusal shows etcd's own text %q: %q", raw, msg)
		}
	}
	for _, want := range []string{"etcd cluster did not answer", "key rotate did not start"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal %q does not say %q", msg, want)
		}
	}
}
