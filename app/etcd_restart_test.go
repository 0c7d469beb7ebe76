package main

import (
	"strings"
	"testing"
	"time"
)

// TestEtcd_ServeWithoutQuorum: a server restarted while its etcd cluster
// has no quorum (two of three members down) does not hang and does not
// serve from nothing: serve exits within a bound with a sentence that
// names etcd, no raw error alone and no stack; once the quorum is back
// the same command serves again.
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
	case <-time.After(30 * time.Second):
		t.Fatalf("serve without quorum neither served nor exited in 30 s: %q %q", out.String(), errOut.String())
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
