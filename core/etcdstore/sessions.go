package etcdstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
)

// The sessionstart sessions of a site (core.SessionTable) are kept in
// etcd, so that a session started on one server serves a login, or a
// killsession, on another. Each is a key /provisio/<site>/.sessions/<h>,
// where h is the SHA-256 of the session id in hex: the id is a bearer
// token, so a reader of etcd must not find it there. The value is the
// session as JSON (user, agent, expiry; none of them secret, all of them
// in the records already). Keys are attached to a lease that outlives
// core.SessionTTL, so etcd removes them without a sweeper; the expiry in
// the value is what a login checks, with the Service's clock.
//
// Costs: sessionstart (which needs the agent's secret) is one write, plus
// a lease grant at most every sessionLeaseEvery; a login or killsession
// naming a session is a read, and a write only when it spends the session:
// an unknown, foreign or expired id costs no write.

// sessionLeaseEvery is how long one lease takes new sessions before the
// next is granted: a key lives between core.SessionTTL and
// core.SessionTTL+sessionLeaseEvery, with one grant for many sessions.
const sessionLeaseEvery = 10 * time.Second

// sessionTable is the KV's core.SessionTable.
type sessionTable struct {
	kv *KV

	mu      sync.Mutex
	lease   clientv3.LeaseID
	granted time.Time
}

var _ core.SessionKeeper = (*KV)(nil)

// SessionTable implements core.SessionKeeper (through store.Store): the
// site's sessions are kept in etcd.
func (kv *KV) SessionTable() core.SessionTable { return &kv.sessions }

func (t *sessionTable) prefix() string { return t.kv.prefix + ".sessions/" }

// key is where session id is kept: the hash of the id, never the id.
func (t *sessionTable) key(id string) string {
	h := sha256.Sum256([]byte(id))
	return t.prefix() + hex.EncodeToString(h[:])
}

// Add implements core.SessionTable. The bound is checked on a count of the
// keys read from the nearest member (serializable, so no round to the Raft
// leader): servers starting sessions at the same moment may pass it by a
// few, which a bound against exhaustion allows.
func (t *sessionTable) Add(id string, s core.Session, _ time.Time) error {
	ctx, cancel := t.kv.ctx()
	defer cancel()
	n, err := t.kv.cli.Get(ctx, t.prefix(), clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
	if err != nil {
		return readError(err)
	}
	if n.Count >= core.MaxSessions {
		return core.ErrTooManySessions
	}
	val, err := json.Marshal(s)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		lease, err := t.currentLease()
		if err != nil {
			return err
		}
		_, err = t.kv.cli.Put(ctx, t.key(id), string(val), clientv3.WithLease(lease))
		if err == nil {
			return nil
		}
		t.forget(lease)
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return commitError(err)
		}
		// etcd looks the lease up before it writes, so nothing was saved.
		// It ran out while etcd was away: once more on a new one. That
		// one gone too is no outage, and the session is surely not saved.
		if attempt > 0 {
			return leaseGoneError(err)
		}
	}
}

// currentLease returns the lease new sessions go on, granting one when
// there is none or the current one is older than sessionLeaseEvery.
func (t *sessionTable) currentLease() (clientv3.LeaseID, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lease != 0 && time.Since(t.granted) < sessionLeaseEvery {
		return t.lease, nil
	}
	ctx, cancel := t.kv.ctx()
	defer cancel()
	ttl := int64((core.SessionTTL + sessionLeaseEvery + time.Second - 1) / time.Second)
	g, err := t.kv.cli.Grant(ctx, ttl)
	if err != nil {
		return 0, commitError(err)
	}
	t.lease, t.granted = g.ID, time.Now()
	return t.lease, nil
}

// forget drops lease after a write on it failed, so the next session
// gets a new one.
func (t *sessionTable) forget(lease clientv3.LeaseID) {
	t.mu.Lock()
	if t.lease == lease {
		t.lease = 0
	}
	t.mu.Unlock()
}

// Take implements core.SessionTable. It reads the session (linearizable,
// so a session just started through another member is seen) and, when it
// is the agent's and alive, deletes it in a Txn that holds only if the key
// is still the one read: of servers taking one session at once, exactly
// one succeeds. A foreign or expired session is left to its lease.
func (t *sessionTable) Take(id, agent string, now time.Time) (core.Session, bool, error) {
	key := t.key(id)
	ctx, cancel := t.kv.ctx()
	defer cancel()
	resp, err := t.kv.cli.Get(ctx, key)
	if err != nil {
		return core.Session{}, false, readError(err)
	}
	if len(resp.Kvs) == 0 {
		return core.Session{}, false, nil
	}
	var s core.Session
	if err := json.Unmarshal(resp.Kvs[0].Value, &s); err != nil {
		return core.Session{}, false, fmt.Errorf("a session in etcd does not decode: %w", err)
	}
	if s.Agent != agent {
		return core.Session{}, false, nil
	}
	if !now.Before(s.Expires) {
		return s, false, nil
	}
	tr, err := t.kv.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return core.Session{}, false, commitError(err)
	}
	return s, tr.Succeeded, nil
}

// DropUser implements core.SessionTable: it reads every session of the
// site (at most core.MaxSessions, small values) and deletes the user's,
// writing nothing when the user has none.
func (t *sessionTable) DropUser(user string) error {
	ctx, cancel := t.kv.ctx()
	defer cancel()
	resp, err := t.kv.cli.Get(ctx, t.prefix(), clientv3.WithPrefix())
	if err != nil {
		return readError(err)
	}
	var ops []clientv3.Op
	for _, kv := range resp.Kvs {
		var s core.Session
		if json.Unmarshal(kv.Value, &s) == nil && s.User == user {
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		}
	}
	for len(ops) > 0 {
		n := min(len(ops), t.kv.maxOps)
		if _, err := t.kv.cli.Txn(ctx).Then(ops[:n]...).Commit(); err != nil {
			return commitError(err)
		}
		ops = ops[n:]
	}
	return nil
}
