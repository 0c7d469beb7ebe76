package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
	"provisio/ui"
)

// TestEtcd_ServeWithoutQuorum: a server restarted while its etcd cluster
// has no quorum (two of three members down) does not hang and does not
// serve from nothing: serve exits within a bound with a sentence that
// names etcd and says it did not answer in time, no raw error ("context
// deadline exceeded") and no stack, and so does a command that opens the
// store itself; once the quorum is back the same command serves again.
func TestEtcd_ServeWithoutQuorum(t *testing.T) {
	url, cluster, a, _ := twoNodesWith(t, "&request-timeout=2s")
	a.stopNode(t)
	cluster.Stop(1) // Stop, not Kill: Restart needs its ports free
	cluster.Stop(2)
	var out, errOut syncBuffer
	done := make(chan int, 1)
	stop := make(chan struct{})
	defer close(stop)
	began := time.Now()
	go func() {
		c := &cli{out: &out, errOut: &errOut, stop: stop, started: make(chan string, 1)}
		done <- c.run([]string{"--data", a.dir, "--key-dir", a.keyDir, "--store", url, "serve", "--listen", "127.0.0.1:0"})
	}()
	select {
	case code := <-done:
		took := time.Since(began)
		e := errOut.String()
		t.Logf("serve without quorum: exit %d after %v: %q", code, took, e)
		if code == 0 || !strings.Contains(e, "etcd") || strings.Contains(e, "goroutine") || strings.Contains(e, "panic") {
			t.Errorf("serve without quorum: exit %d, %q; want a failure naming etcd", code, e)
		}
		// A timeout is said in words, not with etcd's client's text, and
		// is the address's request-timeout (the first connect follows it).
		if !strings.Contains(e, "did not answer within 2 s") || strings.Contains(e, "deadline") {
			t.Errorf("serve without quorum: %q; want \"did not answer within 2 s\" and no \"context deadline exceeded\"", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve without quorum neither served nor exited in 30 s: %q %q", out.String(), errOut.String())
	}
	// So is a command on the stopped server's data directory, which opens
	// the store itself.
	if code, _, e := runStore(t, url, a.dir, a.keyDir, "user", "list"); code != 1 || !strings.Contains(e, "did not answer within 2 s") || strings.Contains(e, "deadline") {
		t.Errorf("user list without quorum: exit %d, %q; want exit 1 and \"did not answer within 2 s\"", code, e)
	}
	if err := cluster.Restart(1); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Second); cluster.Leader() < 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no leader within 20 s")
		}
	}
	startNode(t, url, a)
}

// TestEtcd_StoreInfoWithoutQuorum: the Server screen of a server whose
// etcd cluster lost its quorum (two of three members down) is where an
// administrator looks first. It lists all three members, the one still
// running as running without a leader and the two others as not
// answering, in sentences (no "context deadline exceeded"), within a few
// seconds, and that who leads the run-once work is unknown as etcd has no
// quorum, without waiting on etcd for it. Both servers then stop within a few request timeouts (the one
// waiting to lead the run-once work waited for etcd to come back).
func TestEtcd_StoreInfoWithoutQuorum(t *testing.T) {
	url, cluster, a, b := twoNodesWith(t, "&request-timeout=2s")
	key, _ := os.ReadFile(filepath.Join(a.keyDir, store.KeyFileName))
	keys := filepath.Join(t.TempDir(), "keys")
	os.MkdirAll(keys, 0o700)
	os.WriteFile(filepath.Join(keys, store.KeyFileName), key, 0o600)
	e, err := openEnvStore(t.TempDir(), keys, storeChoice{url: url}, core.ConsoleActor)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	cluster.Kill(1)
	cluster.Kill(2)
	// The remaining member notices after an election timeout or two
	// that it lost its followers; the screen shows it from then on.
	var si ui.StoreInfo
	var text string
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		began := time.Now()
		si = e.storeInfo()
		if took := time.Since(began); took > 5*time.Second {
			t.Errorf("the store's status took %v", took)
		}
		text = si.Problem
		healthy := 0
		for _, m := range si.Members {
			text += "\n" + m.Name + ": " + m.Problem
			if m.Healthy {
				healthy++
			}
		}
		if len(si.Members) == 3 && healthy == 0 || time.Now().After(end) {
			break
		}
	}
	t.Logf("%+v", si)
	if len(si.Members) != 3 {
		t.Errorf("members listed without quorum: %d; want all 3", len(si.Members))
	}
	for _, m := range si.Members {
		if m.Healthy || m.Problem == "" {
			t.Errorf("member %s without quorum: %+v; want not healthy, and why", m.Name, m)
		}
	}
	for _, raw := range []string{"deadline", "etcdserver:", "rpc error"} {
		if strings.Contains(text, raw) {
			t.Errorf("the Server screen shows etcd's own text %q:\n%s", raw, text)
		}
	}
	// Who leads the run-once work cannot be known without a quorum (nor
	// can anyone be elected): the screen says so rather than "no server
	// elected yet", and the members' status having shown it, asks no
	// more of etcd: no wait beyond the members' own 2 s.
	began := time.Now()
	si = e.storeInfo()
	took := time.Since(began)
	t.Logf("the store's status, once no member has a leader: %v, leader %q (%s)", took, si.Leader, si.LeaderProblem)
	if si.Leader != "" || !strings.Contains(si.LeaderProblem, "no quorum") {
		t.Errorf("the leading server without quorum: %q, %q; want none, and that etcd has no quorum", si.Leader, si.LeaderProblem)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("the store's status without quorum took %v; want no more than the members' 2 s", took)
	}
	for _, n := range []*node{a, b} {
		began := time.Now()
		n.stopNode(t)
		took := time.Since(began)
		t.Logf("server %s stopped without quorum after %v", n.addr, took)
		if took > 10*time.Second {
			t.Errorf("server %s took %v to stop without quorum", n.addr, took)
		}
	}
}
