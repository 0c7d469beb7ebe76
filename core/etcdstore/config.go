package etcdstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/store"
)

// Configuration reaches every server through etcd itself: each serving
// node watches the records its configuration is read from
// (store.ConfigRecords: settings, agents, profiles, the shared identity)
// and reloads after every change, whoever made it: another server, a
// command line attached to no server (it writes straight to etcd and
// exits, relaying nothing), a store copy, even etcdctl. The rule is in
// the one place every writer shares, the keys themselves; no writer has
// to remember to announce its change.

// ConfigNode is the Node of the configuration event a reload publishes
// (core.Event.Node): the watch sees the change in the store, not who
// made it.
const ConfigNode = "the site's store"

// configWatch is one watched key, or key prefix.
type configWatch struct {
	key    string
	prefix bool
}

func (kv *KV) configWatches() []configWatch {
	var ws []configWatch
	for _, r := range store.ConfigRecords() {
		if r.Key == "" {
			ws = append(ws, configWatch{key: kv.prefix + r.Bucket + "/", prefix: true})
		} else {
			ws = append(ws, configWatch{key: kv.prefix + r.Bucket + "/" + r.Key})
		}
	}
	return ws
}

// watchNote is a watch response, or the end of one of the watches.
type watchNote struct {
	wr    clientv3.WatchResponse
	ended bool
}

// FollowConfig reloads svc's configuration after every change of the
// configuration records in the site, until ctx ends. report receives
// failures (may be nil). A broken watch (etcd away, the member lost its
// leader, the revision compacted) starts again from the current
// revision, with a reload for what it may have missed.
func (kv *KV) FollowConfig(ctx context.Context, svc EventSink, report func(error)) {
	if report == nil {
		report = func(error) {}
	}
	for ctx.Err() == nil {
		// The revision is read before the configuration is: a change
		// after it reaches the watch, one before it the reload. So
		// nothing falls between them, neither at start (the Service read
		// its configuration when it was made) nor after a broken watch.
		gctx, gc := context.WithTimeout(ctx, kv.timeout)
		resp, err := kv.cli.Get(gctx, kv.configWatches()[0].key, clientv3.WithCountOnly())
		gc()
		if err == nil {
			err = svc.ReloadConfig(ConfigNode)
		}
		if err != nil {
			if ctx.Err() == nil {
				report(fmt.Errorf("follow the site's configuration: %w", err))
			}
			sleepCtx(ctx, time.Second)
			continue
		}
		kv.watchConfig(ctx, resp.Header.Revision, svc, report)
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// watchConfig watches the configuration records from after rev and
// reloads on each change, until a watch breaks or ctx ends.
func (kv *KV) watchConfig(ctx context.Context, rev int64, svc EventSink, report func(error)) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	notes := make(chan watchNote)
	var wg sync.WaitGroup
	// Cancel before waiting: the watches' goroutines may be blocked
	// sending their next note (a broken watch's end) that nobody reads
	// any more, and only wctx ending releases them. (Two defers run in
	// the reverse order: wg.Wait first, which never returned, so one
	// broken watch left the server deaf to configuration changes.)
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, w := range kv.configWatches() {
		opts := []clientv3.OpOption{clientv3.WithRev(rev + 1)}
		if w.prefix {
			opts = append(opts, clientv3.WithPrefix())
		}
		wch := kv.cli.Watch(wctx, w.key, opts...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wr := range wch {
				select {
				case notes <- watchNote{wr: wr}:
				case <-wctx.Done():
					return
				}
			}
			select {
			case notes <- watchNote{ended: true}:
			case <-wctx.Done():
			}
		}()
	}
	// covered is the newest change a reload has covered: a reload reads
	// the newest revision, so every change seen before it started. One
	// commit that changes settings and a profile arrives on two watches
	// and reloads once.
	covered := rev
	for {
		var n watchNote
		select {
		case <-ctx.Done():
			return
		case n = <-notes:
		}
		newest := int64(0)
		for {
			if n.ended {
				if ctx.Err() == nil {
					report(fmt.Errorf("follow the site's configuration: the watch ended; watching again"))
				}
				return
			}
			if err := n.wr.Err(); err != nil {
				if ctx.Err() == nil {
					report(fmt.Errorf("follow the site's configuration: %w; watching again", err))
				}
				return
			}
			for _, e := range n.wr.Events {
				newest = max(newest, e.Kv.ModRevision)
			}
			// Take what else has arrived meanwhile into the same reload.
			more := false
			select {
			case n = <-notes:
				more = true
			default:
			}
			if !more {
				break
			}
		}
		if newest <= covered {
			continue
		}
		covered = newest
		if err := svc.ReloadConfig(ConfigNode); err != nil {
			// Not covered after all: the next start reloads.
			report(err)
			return
		}
	}
}
