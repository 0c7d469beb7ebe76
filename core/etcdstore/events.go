package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
)

// Events cross the nodes of a site through etcd: each node writes what its
// Service published (core.Bus) under /provisio/<site>/.events/<node>/,
// a batch at most every relayEvery, on a lease so the keys go away by
// themselves; every node watches the prefix and publishes the others'
// events on its own bus, marked with the sending node. So a console on
// node A shows "Device provisioned" when the phone used node B.
//
// A change of configuration is not taken from these events: only serving
// processes relay, and a command line attached to no server writes to
// etcd and exits. Each node watches the configuration records instead
// (FollowConfig, config.go), which RelayEvents runs too.

// relayEvery bounds how often a node writes its events: one write for
// many logins rather than one each.
const relayEvery = 50 * time.Millisecond

// eventTTL is how long relayed events stay in etcd (seconds).
const eventTTL = 30

// EventSink is what the relay needs of the Service.
type EventSink interface {
	Events() *core.Bus
	// ReloadConfig reads settings and agents again after they changed
	// in the store (FollowConfig).
	ReloadConfig(node string) error
}

func (kv *KV) eventsPrefix() string { return kv.prefix + ".events/" }

// RelayEvents carries events between this node, named node, and the
// others, and follows the site's configuration (FollowConfig), until ctx
// ends. report receives failures (may be nil).
func (kv *KV) RelayEvents(ctx context.Context, node string, svc EventSink, report func(error)) {
	if report == nil {
		report = func(error) {}
	}
	done := make(chan struct{})
	go func() { defer close(done); kv.sendEvents(ctx, node, svc, report) }()
	followed := make(chan struct{})
	go func() { defer close(followed); kv.FollowConfig(ctx, svc, report) }()
	kv.watchEvents(ctx, node, svc, report)
	<-done
	<-followed
}

func (kv *KV) sendEvents(ctx context.Context, node string, svc EventSink, report func(error)) {
	events, cancel := svc.Events().Subscribe()
	defer cancel()
	var lease clientv3.LeaseID
	var granted time.Time
	var pending []core.Event
	tick := time.NewTicker(relayEvery)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			if ev.Node != "" || ev.Kind == core.EventHealth {
				continue // relayed here, or about this node only
			}
			ev.Issued = nil // a code never leaves the node in plain text
			pending = append(pending, ev)
		case <-tick.C:
			if len(pending) == 0 {
				continue
			}
			data, err := json.Marshal(pending)
			if err != nil {
				report(err)
				pending = nil
				continue
			}
			if lease == 0 || time.Since(granted) > eventTTL*time.Second/3 {
				// A fresh lease now and then, rather than keeping one
				// alive: each batch lives between 20 and 30 seconds.
				g, err := kv.cli.Grant(ctx, eventTTL)
				if err != nil {
					report(fmt.Errorf("relay events to the other servers: %w", err))
					continue
				}
				lease, granted = g.ID, time.Now()
			}
			seq++
			key := fmt.Sprintf("%s%s/%020d-%06d", kv.eventsPrefix(), node, time.Now().UnixNano(), seq)
			cctx, cc := context.WithTimeout(ctx, kv.timeout)
			_, err = kv.cli.Put(cctx, key, string(data), clientv3.WithLease(lease))
			cc()
			if err != nil {
				// The lease may have run out while etcd was away: a new one
				// next time; the events stay pending.
				lease = 0
				report(fmt.Errorf("relay events to the other servers: %w", err))
				continue
			}
			pending = nil
		}
	}
}

func (kv *KV) watchEvents(ctx context.Context, node string, svc EventSink, report func(error)) {
	own := kv.eventsPrefix() + node + "/"
	rev := int64(0)
	for ctx.Err() == nil {
		opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithFilterDelete()}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev+1))
		} else {
			// From now: what happened before this node started is in the
			// store already.
			gctx, gc := context.WithTimeout(ctx, kv.timeout)
			resp, err := kv.cli.Get(gctx, kv.eventsPrefix(), clientv3.WithCountOnly())
			gc()
			if err != nil {
				if ctx.Err() == nil {
					report(fmt.Errorf("watch the other servers' events: %w", err))
				}
				sleepCtx(ctx, time.Second)
				continue
			}
			rev = resp.Header.Revision
			opts = append(opts, clientv3.WithRev(rev+1))
		}
		wch := kv.cli.Watch(clientv3.WithRequireLeader(ctx), kv.eventsPrefix(), opts...)
		for wr := range wch {
			if err := wr.Err(); err != nil {
				if ctx.Err() == nil {
					report(fmt.Errorf("watch the other servers' events: %w", err))
				}
				rev = 0 // compacted, perhaps: start again from now
				break
			}
			for _, e := range wr.Events {
				rev = e.Kv.ModRevision
				key := string(e.Kv.Key)
				if strings.HasPrefix(key, own) {
					continue
				}
				from, _, _ := strings.Cut(strings.TrimPrefix(key, kv.eventsPrefix()), "/")
				var evs []core.Event
				if err := json.Unmarshal(e.Kv.Value, &evs); err != nil {
					report(fmt.Errorf("an event from server %s does not decode: %w", from, err))
					continue
				}
				for _, ev := range evs {
					if ev.Kind == core.EventConfigChanged {
						// FollowConfig reloads, and announces it, on
						// the change itself in the store.
						continue
					}
					ev.Node = from
					svc.Events().Publish(ev)
				}
			}
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
