package etcdstore

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leader elects one node of the site to do the work that must run once
// (the outbox sender, the audit log trim, scheduled backups), with
// concurrency.NewElection. A node leads while its session lease lives:
// when it stops, or loses the cluster for longer than LeaderTTL, another
// node's campaign wins and its Run functions start.
type Leader struct {
	kv   *KV
	node string

	mu      sync.Mutex
	term    context.Context // non-nil while this node leads
	changed chan struct{}   // closed and replaced when term changes
}

// LeaderTTL is the lease of a leader's session in seconds: how long the
// others wait for a leader that vanished without resigning.
const LeaderTTL = 5

// NewLeader returns the election of the site for this node, named node
// (shown on the Server screen). Start campaigns.
func NewLeader(kv *KV, node string) *Leader {
	return &Leader{kv: kv, node: node, changed: make(chan struct{})}
}

func (l *Leader) electionKey() string { return l.kv.prefix + ".leader" }

// Start campaigns until ctx ends; while this node leads, the functions
// given to Run run. On ctx's end the node resigns, so another takes over
// at once rather than after the lease.
func (l *Leader) Start(ctx context.Context) (done <-chan struct{}) {
	d := make(chan struct{})
	go func() {
		defer close(d)
		for ctx.Err() == nil {
			if err := l.lead(ctx); err != nil && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return d
}

// lead runs one session: campaign, lead until the session or ctx ends.
func (l *Leader) lead(ctx context.Context) error {
	// The session ends with ctx: its lease grant must not keep a stopping
	// server waiting while etcd cannot be reached (the client's own
	// context ends only when the client closes).
	sess, err := concurrency.NewSession(l.kv.cli, concurrency.WithTTL(LeaderTTL), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, l.electionKey())
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		// A campaign blocks until elected; stop it when the session dies.
		select {
		case <-sess.Done():
		case <-cctx.Done():
		}
		cancel()
	}()
	// Campaign runs on its own: cancelled while it waits, etcd's Campaign
	// resigns on the client's own context, which ends only when the client
	// closes, so without a quorum a stopping server would wait on it for
	// as long as etcd stays away. It finishes when the store closes the
	// client; nothing of it is used after ctx ends. The candidacy goes
	// with the session's lease, revoked here within the resign's bound,
	// so a site whose servers all stopped has no candidate left (key
	// rotate waits for that).
	campaigned := make(chan error, 1)
	go func() { campaigned <- el.Campaign(cctx, l.node) }()
	select {
	case err := <-campaigned:
		if err != nil {
			cancel()
			return err
		}
	case <-ctx.Done():
		cancel()
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = l.kv.cli.Revoke(rctx, sess.Lease())
		rcancel()
		return nil
	}
	term, end := context.WithCancel(cctx)
	l.setTerm(term)
	<-term.Done()
	end()
	cancel()
	l.setTerm(nil)
	// Resign so the next node need not wait for the lease to run out.
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = el.Resign(rctx)
	rcancel()
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("etcdstore: leadership lost")
}

func (l *Leader) setTerm(term context.Context) {
	l.mu.Lock()
	l.term = term
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Leading reports whether this node leads now.
func (l *Leader) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.term != nil && l.term.Err() == nil
}

// Run calls fn each time this node becomes the leader, with a context
// that ends when the leadership does, until ctx ends. fn must return when
// its context ends. Run returns when ctx ends and fn has returned.
func (l *Leader) Run(ctx context.Context, fn func(ctx context.Context)) {
	for {
		l.mu.Lock()
		term, changed := l.term, l.changed
		l.mu.Unlock()
		if term != nil && term.Err() == nil {
			rctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(term, cancel)
			fn(rctx)
			stop()
			cancel()
			// Wait for the term to end before looking again.
			select {
			case <-term.Done():
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Current returns the name of the node that leads now, "" when none.
func (l *Leader) Current(ctx context.Context) (string, error) {
	who, err := l.current(ctx)
	if err != nil {
		// A sentence for whoever reads it, etcd's text as the cause.
		return "", readError(err)
	}
	return who, nil
}

// current is Current with etcd's own error, which SiteStatus sorts.
func (l *Leader) current(ctx context.Context) (string, error) {
	resp, err := l.kv.cli.Get(ctx, l.electionKey()+"/", clientPrefixFirst()...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Servers names the nodes of the site that are up: every live campaign
// in the election, oldest first, so the first is the one that leads
// (etcd's election orders the candidates by their key's create
// revision). A node's candidacy is bound to its session lease, so a
// server that stops drops out at once (it resigns and revokes the lease)
// and one cut off from etcd within LeaderTTL. None: no server runs.
func (l *Leader) Servers(ctx context.Context) ([]string, error) {
	names, err := l.servers(ctx)
	if err != nil {
		return nil, readError(err)
	}
	return names, nil
}

// servers is Servers with etcd's own error, which SiteStatus sorts.
func (l *Leader) servers(ctx context.Context) ([]string, error) {
	resp, err := l.kv.cli.Get(ctx, l.electionKey()+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, err
	}
	var names []string
	seen := make(map[string]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		// A node whose session was lost while etcd could not be reached
		// campaigns again on a new lease before the old one expires:
		// for up to LeaderTTL it has two keys, and it is one server.
		name := string(kv.Value)
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, nil
}

// clientPrefixFirst reads the oldest campaign key of an election, which
// is the leader's (as concurrency.Election.Leader does).
func clientPrefixFirst() []clientv3.OpOption {
	return append(clientv3.WithFirstCreate(), clientv3.WithPrefix())
}
