package etcdstore_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestFollowConfig_ChangesFromAnyWriter: a server following the site's
// configuration takes an agent added, an agent deleted and a policy
// changed by another process on the site that relays no events (a
// command line attached to no server), within seconds; writes that are
// not configuration (a user, the audit log) reload nothing.
func TestFollowConfig_ChangesFromAnyWriter(t *testing.T) {
	site, key := newSite(), newKey(t)
	kv, err := etcdstore.Connect(etcdstore.Config{Endpoints: endpoints(t), Site: site, MaxTxnOps: etcdtest.MaxTxnOps})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBackend(kv, t.TempDir(), store.Options{Key: key})
	if err != nil {
		kv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server := storetest.MustServiceOn(t, st)
	cli := storetest.MustServiceOn(t, openSite(t, site, key))

	events, stop := server.Events().Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		kv.FollowConfig(ctx, server, func(err error) { t.Logf("follow: %v", err) })
	}()
	defer func() { cancel(); <-done }()

	// reloaded takes every event so far and reports whether one was a
	// reload's.
	reloaded := func() (seen bool) {
		for {
			select {
			case ev := <-events:
				seen = seen || ev.Kind == core.EventConfigChanged && ev.Node == etcdstore.ConfigNode
			default:
				return seen
			}
		}
	}
	within := func(what string, ok func(core.Config) bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(server.Config()); {
			if time.Now().After(deadline) {
				t.Fatalf("%s by another process: not taken by the server within 30 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The reload at the watch's start.
	within("start", func(core.Config) bool { return reloaded() })

	from := netip.MustParseAddr("127.0.0.1")
	if err := cli.PutAgent(agentAny); err != nil {
		t.Fatal(err)
	}
	within("agent added", func(core.Config) bool { _, ok := server.AuthorizeAgent(from, agentAny.Secret); return ok })
	if err := cli.DeleteAgent(agentAny.Name); err != nil {
		t.Fatal(err)
	}
	within("agent deleted", func(core.Config) bool { _, ok := server.AuthorizeAgent(from, agentAny.Secret); return !ok })
	if err := cli.SetSetting("policy.selfreset.allow_self_provision", "yes"); err != nil {
		t.Fatal(err)
	}
	within("policy changed", func(c core.Config) bool { return c.Settings.SelfReset.AllowSelfProvision })

	// Not configuration: a user and its audit line reload nothing.
	time.Sleep(300 * time.Millisecond)
	reloaded()
	storetest.MustAddUser(t, cli, "erin", "4821")
	time.Sleep(500 * time.Millisecond)
	if reloaded() {
		t.Error("adding a user reloaded the configuration")
	}
}

// TestFollowConfig_ResumesAfterQuorumLoss: once the member a server
// watches through loses its leader (most members down), the broken watch
// starts again when the quorum is back, and a change made by another
// process afterwards still reaches the server, without a restart. (A
// broken watch once left FollowConfig waiting for its own watch
// goroutines forever, so no server took another server's change again.)
func TestFollowConfig_ResumesAfterQuorumLoss(t *testing.T) {
	c := etcdtest.Start(t, 3)
	site, key := newSite(), newKey(t)
	// Through member 0 only, which stays up: its watches end with etcd's
	// "no leader" instead of moving to another member.
	kv, err := etcdstore.Connect(etcdstore.Config{Endpoints: c.Endpoints()[:1], Site: site,
		MaxTxnOps: etcdtest.MaxTxnOps, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBackend(kv, t.TempDir(), store.Options{Key: key})
	if err != nil {
		kv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	server := storetest.MustServiceOn(t, st)

	var mu sync.Mutex
	var reports []string
	reported := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range reports {
			if strings.Contains(r, s) {
				return true
			}
		}
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		kv.FollowConfig(ctx, server, func(err error) {
			t.Logf("follow: %v", err)
			mu.Lock()
			reports = append(reports, err.Error())
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()

	within := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	from := netip.MustParseAddr("127.0.0.1")
	other, err := etcdstore.Open(etcdstore.Config{Endpoints: c.Endpoints(), Site: site, MaxTxnOps: etcdtest.MaxTxnOps},
		t.TempDir(), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	cli := storetest.MustServiceOn(t, other)
	if err := cli.PutAgent(agentAny); err != nil {
		t.Fatal(err)
	}
	within("an agent added before the quorum loss reaching the server", func() bool {
		_, ok := server.AuthorizeAgent(from, agentAny.Secret)
		return ok
	})

	c.Kill(1)
	c.Kill(2)
	within("the watch broken by the quorum loss", func() bool { return reported("watching again") })
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	var last error
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if last = cli.SetSetting("policy.selfreset.allow_self_provision", "yes"); last == nil {
			break
		}
	}
	if last != nil {
		t.Fatalf("a setting changed once the quorum is back: %v", last)
	}
	within("a setting changed by another process after the quorum came back reaching the server",
		func() bool { return server.Config().Settings.SelfReset.AllowSelfProvision })
}
