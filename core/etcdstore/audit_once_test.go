package etcdstore_test

import (
	"context"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestRelay_PeerChangeLoggedOnce: a change made on one server of a site
// is in the site's audit log once, not once per server: the other
// server, which relays the events and follows the configuration as
// `serve` does (RelayEvents), reloads and shows the line but writes
// none; and it shows each line once (docs/decisions.md "Audit trail
// completeness, 1 December").
func TestRelay_PeerChangeLoggedOnce(t *testing.T) {
	site, key := newSite(), newKey(t)
	node := func(name string) *core.Service {
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
		svc := storetest.MustServiceOn(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); kv.RelayEvents(ctx, name, svc, nil) }()
		t.Cleanup(func() { cancel(); <-done })
		return svc
	}
	a, b := node("a"), node("b")
	shown, stop := b.Events().Subscribe()
	defer stop()
	// The relay starts in the background: A subscribes to its own events
	// and B watches the site's from the revision it reads first, so a
	// line A writes before both are up never reaches B. A note A writes
	// until B shows one says both are.
	const note = "test: is the relay open?"
	heard := func() bool {
		wait := time.After(200 * time.Millisecond)
		for {
			select {
			case ev := <-shown:
				if ev.Kind == core.EventLog && ev.Node != "" && ev.Log.Message == note {
					return true
				}
			case <-wait:
				return false
			}
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := a.Log(core.LevelInfo, "", note); err != nil {
			t.Fatal(err)
		}
		if heard() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server B showed none of server A's notes within 30 s")
		}
	}

	before := lastSeq(t, a)
	changes := []struct {
		name   string
		change func() error
	}{
		{"setting", func() error { return a.SetSetting("server.name", "Front office") }},
		{"agent", func() error { return a.PutAgent(agentAny) }},
		{"user", func() error { _, err := a.AddUser(core.User{Name: "zoe", MobileAllowed: true}); return err }},
		{"user edit", func() error {
			_, err := a.UpdateUser("zoe", func(u *core.User) error { u.Email = "zoe@example.org"; return nil })
			return err
		}},
	}
	for _, c := range changes {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	// B has taken the configuration and seen every line relayed.
	want := map[uint64]int{}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if b.Settings().ServerName == "Front office" && len(b.Agents()) == 1 && len(want) == len(changes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server B did not take the changes within 5 s: %d line(s) relayed", len(want))
		}
		select {
		case ev := <-shown:
			if ev.Kind == core.EventLog && ev.Log.Seq > before {
				want[ev.Log.Seq]++
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Anything B would write in answer has had time to be written.
	time.Sleep(500 * time.Millisecond)
	for drained := false; !drained; {
		select {
		case ev := <-shown:
			if ev.Kind == core.EventLog && ev.Log.Seq > before {
				want[ev.Log.Seq]++
			}
		default:
			drained = true
		}
	}
	for _, svc := range []*core.Service{a, b} {
		got, err := svc.Logs(before, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(changes) {
			for _, e := range got {
				t.Logf("#%d [%s] %s", e.Seq, e.Actor, e.Message)
			}
			t.Fatalf("%d line(s) for %d changes made on one server, want one each", len(got), len(changes))
		}
		for _, e := range got {
			if want[e.Seq] != 1 {
				t.Errorf("#%d %q shown %d time(s) on server B, want once", e.Seq, e.Message, want[e.Seq])
			}
		}
	}
	if v, err := b.VerifyLog(); err != nil {
		t.Errorf("verify on B: %+v, %v", v, err)
	}
}

func lastSeq(t *testing.T, svc *core.Service) uint64 {
	t.Helper()
	tail, err := svc.LogTail(1)
	if err != nil || len(tail) != 1 {
		t.Fatalf("log tail: %v, %v", tail, err)
	}
	return tail[0].Seq
}
