package etcdstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"provisio/core/etcdstore"
)

// TestLeader_Servers: the site's servers are the live candidates of the
// election, the leader first. Two servers up are both listed, on either
// server's status; the leading one stopped (it resigns and revokes its
// lease) drops out at once and the other is listed alone, leading; with
// every server stopped none is listed. A node with two candidacies (a
// session lost while etcd could not be reached, and the new one) is one
// server.
func TestLeader_Servers(t *testing.T) {
	cfg := etcdstore.Config{Site: newSite(), RequestTimeout: 2 * time.Second}
	newKV := func() *etcdstore.KV {
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints(t), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return etcdstore.NewKV(cli, cfg)
	}
	la, lb := etcdstore.NewLeader(newKV(), "a"), etcdstore.NewLeader(newKV(), "b")
	// What a command beside the servers reads (provisio check): a node
	// that does not campaign.
	watcher := etcdstore.NewLeader(newKV(), "")
	ctx := context.Background()

	if got, err := watcher.Servers(ctx); err != nil || len(got) != 0 {
		t.Fatalf("servers before any started: %q, %v; want none", got, err)
	}
	if st := watcher.SiteStatus(ctx, 2*time.Second); st.Leader != "" || len(st.Servers) != 0 || st.LeaderProblem != "" {
		t.Fatalf("site status before any server started: %+v; want none, no problem", st)
	}

	ctxA, stopA := context.WithCancel(ctx)
	defer stopA()
	doneA := la.Start(ctxA)
	waitFor(t, "a to lead", la.Leading)
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	doneB := lb.Start(ctxB)
	waitFor(t, "b to campaign", func() bool {
		got, _ := watcher.Servers(ctx)
		return len(got) == 2
	})
	for name, l := range map[string]*etcdstore.Leader{"a": la, "b": lb, "a command's": watcher} {
		st := l.SiteStatus(ctx, 2*time.Second)
		if !slices.Equal(st.Servers, []string{"a", "b"}) || st.Leader != "a" || st.LeaderProblem != "" {
			t.Errorf("%s site status with both up: servers %q, leader %q, problem %q; want [a b], a", name, st.Servers, st.Leader, st.LeaderProblem)
		}
	}

	// a stops as a server does (its context ends: it resigns and its
	// lease is revoked), well within the lease.
	stopA()
	<-doneA
	waitFor(t, "b to lead", lb.Leading)
	st := lb.SiteStatus(ctx, 2*time.Second)
	if !slices.Equal(st.Servers, []string{"b"}) || st.Leader != "b" || st.LeaderProblem != "" {
		t.Errorf("site status with a stopped: servers %q, leader %q, problem %q; want [b], b", st.Servers, st.Leader, st.LeaderProblem)
	}

	// b's session lost and a new one made before the old lease expired:
	// two candidacies named b.
	kv := newKV()
	lease, err := kv.Client().Grant(ctx, etcdstore.LeaderTTL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Client().Put(ctx, kv.Prefix()+".leader/stale-b", "b", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if got, err := watcher.Servers(ctx); err != nil || !slices.Equal(got, []string{"b"}) {
		t.Errorf("servers with two candidacies of b: %q, %v; want [b]", got, err)
	}
	if _, err := kv.Client().Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}

	stopB()
	<-doneB
	if got, err := watcher.Servers(ctx); err != nil || len(got) != 0 {
		t.Errorf("servers with both stopped: %q, %v; want none", got, err)
	}
}

// waitFor waits up to 10 s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 10 s for %s", what)
}
