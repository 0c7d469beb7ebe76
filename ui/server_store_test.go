package ui

import (
	"strings"
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
