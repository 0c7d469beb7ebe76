package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// The set-up of the etcd site tests (#16): an etcd cluster, Provisio
// servers on it, and the command lines, phones and agents that use them.
// The tests are in etcd_*_test.go by what they exercise.

// node is one Provisio server on the shared etcd store (issue #16).
type node struct {
	dir, keyDir string
	fp          string
	*serving
}

// runStore runs one command line against a node's data directory with
// the records in the etcd store url.
func runStore(t *testing.T, url, dir, keyDir string, args ...string) (int, string, string) {
	t.Helper()
	return runStoreIn(t, url, dir, keyDir, "", args...)
}

// runStoreIn is runStore with stdin piped in, for secrets given as "-".
func runStoreIn(t *testing.T, url, dir, keyDir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	code := runIn(stdin, append([]string{"--data", dir, "--key-dir", keyDir, "--store", url}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

var fpLine = regexp.MustCompile(`Certificate SHA-256: (\S+)`)

// startNode runs "serve" for a node on 127.0.0.1 and stops it with the
// test.
func startNode(t *testing.T, url string, n *node) {
	t.Helper()
	n.serving = startServe(t, 30*time.Second, "--data", n.dir, "--key-dir", n.keyDir, "--store", url, "serve", "--listen", "127.0.0.1:0")
	m := fpLine.FindStringSubmatch(n.out.String())
	if m == nil {
		t.Fatalf("no fingerprint in %q", n.out.String())
	}
	n.fp = m[1]
	t.Cleanup(func() { n.stopNode(t) })
}

// stopNode stops the node's server (once).
func (n *node) stopNode(t *testing.T) {
	if code := n.halt(); code > 0 {
		t.Errorf("serve exit %d: %s", code, n.errOut.String())
	}
}

// twoNodes starts a 3-member etcd cluster and two Provisio servers on
// it, with an agent "vpn" on 127.0.0.1 and the user carol (PIN 2468).
func twoNodes(t *testing.T) (url string, cluster *etcdtest.Cluster, a, b *node) {
	return twoNodesWith(t, "")
}

// twoNodesWith is twoNodes with more of the store address's query
// ("&request-timeout=2s").
func twoNodesWith(t *testing.T, query string) (url string, cluster *etcdtest.Cluster, a, b *node) {
	cluster = etcdtest.Start(t, 3)
	url = cluster.URL("office") + "?max-txn-ops=" + fmt.Sprint(etcdtest.MaxTxnOps) + query
	root := t.TempDir()
	a = &node{dir: filepath.Join(root, "a"), keyDir: filepath.Join(root, "a-keys")}
	b = &node{dir: filepath.Join(root, "b"), keyDir: filepath.Join(root, "b-keys")}
	for _, step := range []struct {
		stdin string // a secret given as "-"
		args  []string
	}{
		{"2468\n", []string{"user", "add", "carol", "--pin", "-", "--email", "carol@example.org"}},
		{"", []string{"settings", "set", "server.advertise", "127.0.0.1"}},
		{"vpn-secret-123\n", []string{"agent", "add", "vpn", "--host", "127.0.0.1", "--secret", "-"}},
	} {
		if code, _, errOut := runStoreIn(t, url, a.dir, a.keyDir, step.stdin, step.args...); code != 0 {
			t.Fatalf("%v: %s", step.args, errOut)
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

// detachedCLI is a data directory no server holds, with the site's data
// key: a command run there writes to etcd itself and exits, attached to
// no server (the README's "from either" example).
func detachedCLI(t *testing.T, from *node) (dir, keyDir string) {
	t.Helper()
	root := t.TempDir()
	dir, keyDir = filepath.Join(root, "c"), filepath.Join(root, "c-keys")
	key, err := os.ReadFile(filepath.Join(from.keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyDir, store.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, keyDir
}
