package ui

import (
	"strings"
	"sync"
	"testing"
)

// The Server screen shows the store: the data file, or the etcd members
// with their health and the server leading mail and log trim (#16).
func TestServerScreen_Store(t *testing.T) {
	tests := []struct {
		name string
		info StoreInfo
		want []string
	}{
		{"data file", StoreInfo{Where: "/var/lib/provisio/provisio.db"}, []string{"Data file: /var/lib/provisio/provisio.db"}},
		{"etcd", StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12", Leader: "auth2-cd34",
			Members: []StoreMember{
				{Name: "m1", Endpoint: "http://h1:2379", Healthy: true, RaftLeader: true},
				{Name: "m2", Endpoint: "http://h2:2379", Healthy: true},
				{Name: "m3", Endpoint: "http://h3:2379", Problem: "it does not answer"},
			}},
			[]string{"etcd cluster: etcd://h1:2379,h2:2379,h3:2379/office", "m1  http://h1:2379  healthy, Raft leader",
				"m3  http://h3:2379  NOT healthy: it does not answer", "server auth2-cd34 leads (this is auth1-ab12)"}},
		// Without a quorum nobody can be elected, nor can etcd say who
		// was: "no server elected yet" would mislead.
		{"etcd without quorum", StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12",
			LeaderProblem: "etcd has no quorum (most of its members are down or cannot reach each other), so no server can be elected",
			Members: []StoreMember{
				{Name: "m1", Endpoint: "http://h1:2379", Problem: "it runs but has no Raft leader: most members are down or cannot reach each other"},
				{Name: "m2", Endpoint: "http://h2:2379", Problem: "it does not answer"},
				{Name: "m3", Endpoint: "http://h3:2379", Problem: "it does not answer"},
			}},
			[]string{"Mail and log trim: unknown: etcd has no quorum (most of its members are down or cannot reach each other), so no server can be elected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = func() StoreInfo { return tt.info } })
			s := h.c.server
			h.waitFor("the store's status", func() bool { return !strings.Contains(s.store.Text, "Asking") })
			for _, w := range tt.want {
				if !strings.Contains(s.store.Text, w) {
					t.Errorf("store section %q lacks %q", s.store.Text, w)
				}
			}
			if tt.info.LeaderProblem != "" && strings.Contains(s.store.Text, "no server elected") {
				t.Errorf("store section %q says no server is elected; the leader is unknown", s.store.Text)
			}
		})
	}
}

// TestServerScreen_StoreReadAgainWhenShown: the members' health is read
// again each time the Server screen is shown, keeping what it showed
// until the answer comes. It was read once, when the screen was built:
// an etcd member stopped since still showed "healthy" until Refresh was
// pressed, and one back still showed "NOT healthy".
func TestServerScreen_StoreReadAgainWhenShown(t *testing.T) {
	var mu sync.Mutex
	healthy := true
	info := func() StoreInfo {
		mu.Lock()
		defer mu.Unlock()
		m3 := StoreMember{Name: "m3", Endpoint: "http://h3:2379", Healthy: healthy}
		if !healthy {
			m3.Problem = "it does not answer"
		}
		return StoreInfo{Etcd: true, Where: "etcd://h1:2379,h2:2379,h3:2379/office", ThisServer: "auth1-ab12", Leader: "auth1-ab12",
			Members: []StoreMember{{Name: "m1", Endpoint: "http://h1:2379", Healthy: true, RaftLeader: true}, m3}}
	}
	h := newHarnessWith(t, func(_ *harness, d *Deps) { d.Store = info })
	c, s := h.c, h.c.server
	at := -1
	for i, sc := range c.screens {
		if sc.content == s.content {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no Server screen")
	}
	c.show(at)
	h.waitFor("the store's status", func() bool { return strings.Contains(s.store.Text, "m3  http://h3:2379  healthy") })

	for _, tc := range []struct {
		healthy bool
		want    string
	}{
		{false, "m3  http://h3:2379  NOT healthy: it does not answer"},
		{true, "m3  http://h3:2379  healthy"},
	} {
		c.showScreen(c.users.content)
		mu.Lock()
		healthy = tc.healthy
		mu.Unlock()
		c.show(at)
		if strings.Contains(s.store.Text, "Asking") {
			t.Errorf("shown again, the store section says %q instead of keeping the last state", s.store.Text)
		}
		h.waitFor("the store's status read again: "+tc.want, func() bool { return strings.Contains(s.store.Text, tc.want) })
	}
}
