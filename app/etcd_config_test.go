package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
)

// Events, settings and agents reaching every server of an etcd site,
// whether changed through a server or by a command attached to none. The
// cluster set-up (twoNodes, detachedCLI) is in etcd_test.go.

// TestEtcd_EventsCrossServers: a console attached to A (through its admin
// socket, as an attached console is) hears "provisioned" when the phone
// used B; an agent added on B works on A at once (an action that needs
// its secret: ping needs none).
func TestEtcd_EventsCrossServers(t *testing.T) {
	url, _, a, b := twoNodes(t)
	api, err := adminapi.Dial(filepath.Join(a.dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code := provisionOn(t, url, b, "carol")
	phoneOn(t, b, "carol", code)
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			seen = ev.Kind == "provisioned" && ev.User == "carol"
		case <-deadline:
			t.Fatal("the console on A did not hear that carol provisioned on B")
		}
	}
	if code, _, errOut := runStoreIn(t, url, b.dir, b.keyDir, "web-secret-456\n", "agent", "add", "web", "--host", "127.0.0.1", "--secret", "-"); code != 0 {
		t.Fatal(errOut)
	}
	web, err := agentxmltest.NewAgentClient("https://"+a.addr, a.fp, "web-secret-456")
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; {
		r, err := web.Action("exists", "Username", "carol")
		if err == nil && r.Pass() {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("agent added on B not accepted on A: %+v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEtcd_DetachedCommandConfigReachesEveryServer: settings and agents
// changed by a command line attached to no server reach both running
// servers within seconds, though no serving process relays an event for
// them: a policy turned on applies, a deleted agent's secret is refused
// and an added agent's accepted, on A and on B.
func TestEtcd_DetachedCommandConfigReachesEveryServer(t *testing.T) {
	url, _, a, b := twoNodes(t)
	cdir, ckeys := detachedCLI(t, a)
	// everywhere waits until ok holds on both servers.
	everywhere := func(what string, ok func(n *node) (bool, string)) {
		t.Helper()
		for name, n := range map[string]*node{"A": a, "B": b} {
			var got string
			for end := time.Now().Add(5 * time.Second); ; {
				var done bool
				if done, got = ok(n); done {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("%s by a detached command: not so on server %s 5 s later (%s)", what, name, got)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	clients := map[[2]string]*agentxmltest.AgentClient{}
	action := func(n *node, secret, action string, pairs ...string) (bool, string) {
		ac := clients[[2]string{n.addr, secret}]
		if ac == nil {
			var err error
			if ac, err = agentxmltest.NewAgentClient("https://"+n.addr, n.fp, secret); err != nil {
				t.Fatal(err)
			}
			clients[[2]string{n.addr, secret}] = ac
		}
		r, err := ac.Action(action, pairs...)
		if err != nil {
			return false, err.Error()
		}
		return r.Pass(), r.Result + " " + r.Error
	}

	// A policy: self-provision is off by default, so an agent's
	// provisioncode fails until it is turned on.
	for _, n := range []*node{a, b} {
		if pass, got := action(n, "vpn-secret-123", "provisioncode", "Username", "carol"); pass {
			t.Fatalf("provisioncode passed with self-provision off: %s", got)
		}
	}
	if code, _, errOut := runStore(t, url, cdir, ckeys, "settings", "set", "policy.selfreset.allow_self_provision", "yes"); code != 0 {
		t.Fatalf("settings set: %s", errOut)
	}
	everywhere("self-provision turned on", func(n *node) (bool, string) {
		return action(n, "vpn-secret-123", "provisioncode", "Username", "carol")
	})

	// An agent deleted: its secret is refused (exists needs it; ping
	// would not).
	if code, _, errOut := runStore(t, url, cdir, ckeys, "agent", "delete", "vpn"); code != 0 {
		t.Fatalf("agent delete: %s", errOut)
	}
	everywhere("agent vpn deleted", func(n *node) (bool, string) {
		pass, got := action(n, "vpn-secret-123", "exists", "Username", "carol")
		return !pass, got
	})

	// An agent added: its secret is accepted.
	if code, _, errOut := runStoreIn(t, url, cdir, ckeys, "web-secret-456\n", "agent", "add", "web", "--host", "127.0.0.1", "--secret", "-"); code != 0 {
		t.Fatalf("agent add: %s", errOut)
	}
	everywhere("agent web added", func(n *node) (bool, string) {
		return action(n, "web-secret-456", "exists", "Username", "carol")
	})
}
