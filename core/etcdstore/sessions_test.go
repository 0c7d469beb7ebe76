package etcdstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// revokingLease is a client's lease API that revokes each of the first
// leases it grants on the cluster right away, so the write that follows
// names a lease etcd no longer has: what happens when something revokes
// leases (an operator's etcdctl lease revoke) between the grant and the
// write.
type revokingLease struct {
	clientv3.Lease
	left atomic.Int32 // grants still to revoke
}

func (l *revokingLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	g, err := l.Lease.Grant(ctx, ttl)
	if err == nil && l.left.Add(-1) >= 0 {
		if _, err := l.Lease.Revoke(ctx, g.ID); err != nil {
			return nil, err
		}
	}
	return g, err
}

// TestSessions_LeaseGone: a session is written on a lease; when etcd no
// longer has that lease it refuses the write before saving anything.
// Add tries once more on a new lease, so one lost lease costs nothing;
// when the new one is gone too the session was not saved, and the
// sentence says so (not "may not have been saved, check before
// repeating it", which is for a commit etcd did not answer).
func TestSessions_LeaseGone(t *testing.T) {
	tests := []struct {
		name    string
		revoked int32
		want    string // the sentence; "" means the session starts
	}{
		{name: "one lease gone", revoked: 1},
		{name: "the new lease gone too", revoked: 2,
			want: "etcd refused to keep the new session: the lease it was to expire with was gone twice in a row " +
				"(is something revoking leases in the etcd cluster?). The session was not saved; the agent can start another one."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints(t), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cli.Close() })
			leases := &revokingLease{Lease: cli.Lease}
			leases.left.Store(tt.revoked)
			cli.Lease = leases
			kv := etcdstore.NewKV(cli, etcdstore.Config{Endpoints: endpoints(t), Site: newSite(), MaxTxnOps: 128})
			st, err := store.OpenBackend(kv, t.TempDir(), store.Options{Key: newKey(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			svc := storetest.MustServiceOn(t, st)
			storetest.MustAddUser(t, svc, "dana", "4821")

			id, err := svc.StartSession(agentAny, "dana")
			resp, gerr := cli.Get(context.Background(), kv.Prefix()+".sessions/", clientv3.WithPrefix())
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("sessionstart: %v", err)
				}
				if len(resp.Kvs) != 1 {
					t.Fatalf("%d sessions in etcd, want 1", len(resp.Kvs))
				}
				if err := svc.KillSession(agentAny, id); err != nil {
					t.Errorf("killsession of the session started on the second lease: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("sessionstart succeeded on leases etcd no longer had")
			}
			if got := core.ErrorMessage(err); core.ErrorCode(err) != core.CodeInternal || got != tt.want {
				t.Errorf("sessionstart: %s %q, want %s %q", core.ErrorCode(err), got, core.CodeInternal, tt.want)
			}
			if strings.Contains(err.Error(), "may not have been saved") {
				t.Errorf("the error says the session may have been saved: %v", err)
			}
			if len(resp.Kvs) != 0 {
				t.Errorf("%d sessions in etcd, want none", len(resp.Kvs))
			}
		})
	}
}
