package etcdstore_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
)

// TestLeader_StopWithoutQuorum: servers stopped while their etcd cluster
// has no quorum (two of three members down), the one leading the
// run-once work and one waiting to, both stop within the resign's 2 s:
// a stopping campaign must not wait for etcd to answer a resign that
// cannot be committed (etcd's Campaign resigns on the client's own
// context, which ends only when the client closes).
func TestLeader_StopWithoutQuorum(t *testing.T) {
	c := etcdtest.Start(t, 3)
	cfg := etcdstore.Config{Site: "lead", RequestTimeout: 2 * time.Second}
	leader := func(name string) *etcdstore.Leader {
		cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return etcdstore.NewLeader(etcdstore.NewKV(cli, cfg), name)
	}
	la, lb := leader("a"), leader("b")
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	doneA := la.Start(ctxA)
	for end := time.Now().Add(10 * time.Second); !la.Leading() && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if !la.Leading() {
		t.Fatal("a did not become the leader")
	}
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	doneB := lb.Start(ctxB)
	time.Sleep(500 * time.Millisecond) // b campaigns, waiting for a
	if lb.Leading() {
		t.Fatal("b leads while a does")
	}
	// With a quorum, either server's status names the leader.
	if st := lb.SiteStatus(context.Background(), 2*time.Second); st.Leader != "a" || st.LeaderProblem != "" || len(st.Members) != 3 || len(st.Servers) != 2 {
		t.Fatalf("the site's status with a quorum: %+v; want a leading", st)
	}

	c.Kill(1)
	c.Kill(2)
	// Without a quorum nobody can say which servers are up: none is
	// listed, and the one sentence says why.
	if st := lb.SiteStatus(context.Background(), 2*time.Second); len(st.Servers) != 0 || st.Leader != "" || st.LeaderProblem == "" {
		t.Errorf("the site's status without a quorum: servers %q, leader %q, problem %q; want none and a sentence", st.Servers, st.Leader, st.LeaderProblem)
	}
	for name, stop := range map[string]struct {
		cancel context.CancelFunc
		done   <-chan struct{}
	}{"waiting (b)": {cancelB, doneB}, "leading (a)": {cancelA, doneA}} {
		began := time.Now()
		stop.cancel()
		select {
		case <-stop.done:
			t.Logf("the %s election stopped after %v", name, time.Since(began))
		case <-time.After(4 * time.Second):
			t.Errorf("the %s election did not stop within 4 s without quorum", name)
		}
	}
}
