package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store"
	"provisio/ui"
)

// The server a site elects for the run-once work: it alone sends the
// outbox, the other takes over when it stops, and the Server screen shows
// it. The cluster set-up (twoNodes) is in etcd_test.go.

// TestEtcd_OutboxMovesWithLeader: mail queued on the site is sent by the
// elected server only; when it stops, the other takes over and every
// message arrives exactly once (real SMTP capture server).
func TestEtcd_OutboxMovesWithLeader(t *testing.T) {
	capture, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	url, cluster, a, b := twoNodes(t)
	// No mail server yet: messages wait in the outbox.
	const n = 10
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("mail%02d", i)
		if code, _, errOut := runStoreIn(t, url, a.dir, a.keyDir, "1357\n", "user", "add", name, "--email", name+"@example.org", "--pin", "-"); code != 0 {
			t.Fatal(errOut)
		}
		if code, _, errOut := runStore(t, url, []string{a.dir, b.dir}[i%2], []string{a.keyDir, b.keyDir}[i%2], "reprovision", name, "--mail"); code != 0 {
			t.Fatal(errOut)
		}
	}
	cli := cluster.Client(t)
	leaderName := func() string {
		resp, err := cli.Get(context.Background(), "/provisio/office/.leader/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...)
		if err != nil || len(resp.Kvs) == 0 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}
	var first string
	for end := time.Now().Add(10 * time.Second); first == "" && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		first = leaderName()
	}
	nameOf := func(n *node) string {
		b, _ := os.ReadFile(filepath.Join(n.dir, "node-name"))
		return strings.TrimSpace(string(b))
	}
	leader, other := a, b
	if first == nameOf(b) {
		leader, other = b, a
	} else if first != nameOf(a) {
		t.Fatalf("leader %q is neither %q nor %q", first, nameOf(a), nameOf(b))
	}
	leader.stopNode(t)
	// The mail server is set on the remaining server; it leads now.
	for _, args := range [][]string{
		{"settings", "set", "smtp.host", "127.0.0.1"},
		{"settings", "set", "smtp.port", fmt.Sprint(capture.Port())},
		{"settings", "set", "smtp.security", "none"},
		{"settings", "set", "smtp.from", "it@example.org"},
	} {
		if code, _, errOut := runStore(t, url, other.dir, other.keyDir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	for end := time.Now().Add(20 * time.Second); len(capture.Messages()) < n && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive by now
	got := map[string]int{}
	for _, m := range capture.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	if len(got) != n {
		t.Fatalf("%d recipients got mail, want %d: %v", len(got), n, got)
	}
	for to, c := range got {
		if c != 1 {
			t.Errorf("%s got %d messages, want 1", to, c)
		}
	}
	if now := leaderName(); now != nameOf(other) {
		t.Errorf("leader after the stop = %q, want %q", now, nameOf(other))
	}
}

// TestEtcd_StoreInfo: what the Server screen shows of an etcd store: all
// three members healthy, one Raft leader, and the server elected for the
// run-once work.
func TestEtcd_StoreInfo(t *testing.T) {
	url, _, a, _ := twoNodes(t)
	key, _ := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	keys := filepath.Join(t.TempDir(), "keys")
	os.MkdirAll(keys, 0o700)
	os.WriteFile(filepath.Join(keys, store.KeyFileName), key, 0o600)
	e, err := openEnvStore(t.TempDir(), keys, storeChoice{url: url}, core.ConsoleActor)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	var si ui.StoreInfo
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if si = e.storeInfo(); si.Leader != "" {
			break
		}
	}
	healthy, leaders := 0, 0
	for _, m := range si.Members {
		if m.Healthy {
			healthy++
		}
		if m.RaftLeader {
			leaders++
		}
	}
	if !si.Etcd || len(si.Members) != 3 || healthy != 3 || leaders != 1 || si.Leader == "" || si.Leader == si.ThisServer {
		t.Fatalf("store info = %+v", si)
	}
	// Both servers are up, the leading one first; this process runs no
	// server, so it is not among them.
	if len(si.Servers) != 2 || si.Servers[0] != si.Leader || si.Servers[1] == si.Leader || slices.Contains(si.Servers, si.ThisServer) {
		t.Errorf("the site's servers %q (leader %q, this %q); want the two nodes, the leader first", si.Servers, si.Leader, si.ThisServer)
	}
}
