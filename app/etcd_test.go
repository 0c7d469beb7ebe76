package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// node is one Provisio server on the shared etcd store (issue #16).
type node struct {
	dir, keyDir string
	addr, fp    string
	out, errOut *syncBuffer
	stop        chan struct{}
	done        chan int
}

// runStore runs one command line against a node's data directory with
// the records in the etcd store url.
func runStore(t *testing.T, url, dir, keyDir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := run(append([]string{"--data", dir, "--key-dir", keyDir, "--store", url}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

var fpLine = regexp.MustCompile(`Certificate SHA-256: (\S+)`)

// startNode runs "serve" for a node on 127.0.0.1 and stops it with the
// test.
func startNode(t *testing.T, url string, n *node) {
	t.Helper()
	n.stop, n.done = make(chan struct{}), make(chan int, 1)
	n.out, n.errOut = &syncBuffer{}, &syncBuffer{}
	started := make(chan string, 1)
	c := &cli{out: n.out, errOut: n.errOut, stop: n.stop, started: started}
	go func() {
		n.done <- c.run([]string{"--data", n.dir, "--key-dir", n.keyDir, "--store", url, "serve", "--listen", "127.0.0.1:0"})
	}()
	select {
	case n.addr = <-started:
	case code := <-n.done:
		t.Fatalf("serve exited %d: %s", code, n.errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	m := fpLine.FindStringSubmatch(n.out.String())
	if m == nil {
		t.Fatalf("no fingerprint in %q", n.out.String())
	}
	n.fp = m[1]
	t.Cleanup(func() { n.halt(t) })
}

// halt stops the node's server (once).
func (n *node) halt(t *testing.T) {
	select {
	case <-n.stop:
		return
	default:
	}
	close(n.stop)
	if code := <-n.done; code != 0 {
		t.Errorf("serve exit %d: %s", code, n.errOut.String())
	}
}

// twoNodes starts a 3-member etcd cluster and two Provisio servers on
// it, with an agent "vpn" on 127.0.0.1 and the user carol (PIN 2468).
func twoNodes(t *testing.T) (url string, cluster *etcdtest.Cluster, a, b *node) {
	cluster = etcdtest.Start(t, 3)
	url = cluster.URL("office") + "?max-txn-ops=" + fmt.Sprint(etcdtest.MaxTxnOps)
	root := t.TempDir()
	a = &node{dir: filepath.Join(root, "a"), keyDir: filepath.Join(root, "a-keys")}
	b = &node{dir: filepath.Join(root, "b"), keyDir: filepath.Join(root, "b-keys")}
	for _, args := range [][]string{
		{"user", "add", "carol", "--pin", "2468", "--email", "carol@example.org"},
		{"settings", "set", "server.advertise", "127.0.0.1"},
		{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "vpn-secret-123"},
	} {
		if code, _, errOut := runStore(t, url, a.dir, a.keyDir, args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	// Every node is given the same data key.
	key, err := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.keyDir, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	startNode(t, url, a)
	startNode(t, url, b)
	return url, cluster, a, b
}

// provisionOn reprovisions user through node via the CLI (attached to
// the running server) and returns the code.
func provisionOn(t *testing.T, url string, n *node, user string) string {
	t.Helper()
	code, out, errOut := runStore(t, url, n.dir, n.keyDir, "reprovision", user)
	if code != 0 {
		t.Fatalf("reprovision: %s", errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision code for "+user+": "); ok {
			return v
		}
	}
	t.Fatalf("no code in %q", out)
	return ""
}

// phoneOn provisions a phone against node n with code and downloads its
// strings there.
func phoneOn(t *testing.T, n *node, user, code string) *agentxmltest.MobileClient {
	t.Helper()
	host, port, _ := strings.Cut(n.addr, ":")
	m, err := agentxmltest.NewMobileClient(core.ProvisionURL(host, port, "", user, code), n.fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("iOS"); err != nil {
		t.Fatalf("provision on %s: %v", n.addr, err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatalf("download on %s: %v", n.addr, err)
	}
	return m
}

func agentOn(t *testing.T, n *node) *agentxmltest.AgentClient {
	t.Helper()
	ac, err := agentxmltest.NewAgentClient("https://"+n.addr, n.fp, "vpn-secret-123")
	if err != nil {
		t.Fatal(err)
	}
	return ac
}

// TestEtcd_TwoServers: a code made on A provisions a phone on B; logins
// pass on either; a replay fails on the other; the same code sent to A
// and B at the same moment passes exactly once, 50 times over.
func TestEtcd_TwoServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	code := provisionOn(t, url, a, "carol")
	phone := phoneOn(t, b, "carol", code)
	agentA, agentB := agentOn(t, a), agentOn(t, b)

	otc, _ := phone.OTC("2468")
	if res, e, err := agentB.Login("carol", otc); err != nil || res != "PASS" {
		t.Fatalf("login on B: %s %s %v", res, e, err)
	}
	if res, _, err := agentA.Login("carol", otc); err != nil || res != "FAIL" {
		t.Fatalf("replay on A: %s %v", res, err)
	}
	otc, _ = phone.OTC("2468")
	if res, e, err := agentA.Login("carol", otc); err != nil || res != "PASS" {
		t.Fatalf("login on A: %s %s %v", res, e, err)
	}

	for round := 0; round < 50; round++ {
		otc, _ := phone.OTC("2468")
		var pass atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, ag := range []*agentxmltest.AgentClient{agentA, agentB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, _, err := ag.Login("carol", otc)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				if res == "PASS" {
					pass.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := pass.Load(); n != 1 {
			t.Fatalf("round %d: the same code passed %d times on two servers, want exactly once", round, n)
		}
	}
	// The user is not locked by the replays (a replay is no failure).
	code2, out, _ := runStore(t, url, b.dir, b.keyDir, "user", "list")
	if code2 != 0 || !strings.Contains(out, "carol") || strings.Contains(out, "locked") {
		t.Fatalf("user list on B: %s", out)
	}
}
