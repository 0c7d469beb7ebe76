package core_test

import (
	"errors"
	"net/netip"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Service.PutAgent's secret rules: an empty secret keeps the stored one of
// an existing agent (a console edits an agent without ever holding its
// secret, which a sealed store keeps only as a hash), is refused for a new
// one, and a typed secret may not look like a stored hash, which would be
// kept as it is and never match.
func TestService_PutAgentSecret(t *testing.T) {
	const old = "vpn-secret-1"
	for _, sealed := range []bool{false, true} {
		open := storetest.MustOpen
		if sealed {
			open = storetest.MustOpenSealed
		}
		for _, tt := range []struct {
			name      string
			agent     core.Agent
			wantErr   string // the sentence; "" for a save
			accepts   string // a secret the saved agent accepts
			refuses   string // one it refuses
			wantGroup string
		}{
			{name: "empty keeps", agent: core.Agent{Name: "vpn", Host: "127.0.0.1", Group: "sales"}, accepts: old, wantGroup: "sales"},
			{name: "new replaces", agent: core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-2"}, accepts: "vpn-secret-2", refuses: old, wantGroup: core.GroupAny},
			{name: "empty for a new agent", agent: core.Agent{Name: "web", Host: "127.0.0.2"}, wantErr: "Enter a shared secret for the agent."},
			{name: "hash-like", agent: core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "h1:0123456789abcdef"},
				wantErr: `A shared secret cannot start with "h1:", which marks a stored hash; generate one or choose another.`},
		} {
			t.Run(map[bool]string{false: "plain ", true: "sealed "}[sealed]+tt.name, func(t *testing.T) {
				svc := storetest.MustServiceOn(t, open(t))
				if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: old}); err != nil {
					t.Fatal(err)
				}
				before := svc.Agents()
				err := svc.PutAgent(tt.agent)
				if tt.wantErr != "" {
					var ce *core.Error
					if !errors.As(err, &ce) || ce.Field != "secret" || ce.Message != tt.wantErr {
						t.Fatalf("err %v, want the secret field's %q", err, tt.wantErr)
					}
					if after := svc.Agents(); len(after) != len(before) || after[0].Secret != before[0].Secret || after[0].Group != before[0].Group {
						t.Errorf("a refused save changed the agents: %+v", after)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				authorized := func(secret string) bool {
					_, ok := svc.AuthorizeAgent(netip.MustParseAddr("127.0.0.1"), secret)
					return ok
				}
				if !authorized(tt.accepts) || tt.refuses != "" && authorized(tt.refuses) {
					t.Errorf("accepts %q: %v; refuses %q: %v", tt.accepts, authorized(tt.accepts), tt.refuses, !authorized(tt.refuses))
				}
				if a := svc.Agents(); len(a) != 1 || a[0].Group != tt.wantGroup {
					t.Errorf("saved %+v", a)
				}
			})
		}
	}
}

// TestService_AgentSecretIsItsOwn: a shared secret another agent already
// has is refused, whether a new agent is saved with it or an existing one
// changed to it, on a plain and on a sealed store (where only keyed
// hashes are kept). AuthorizeAgent takes the first matching agent by
// name, so two agents with one secret on overlapping ranges let the
// group-limited one's secret act as the other. An agent saved again with
// its own secret, or edited keeping it, is not refused.
func TestService_AgentSecretIsItsOwn(t *testing.T) {
	const shared = "office-vpn-secret"
	want := `Agent "a-vpn" already has this shared secret; give each agent its own (Generate makes one).`
	for _, sealed := range []bool{false, true} {
		open := storetest.MustOpen
		if sealed {
			open = storetest.MustOpenSealed
		}
		other := "sales-portal-secret"
		for _, tt := range []struct {
			name    string
			save    func(svc *core.Service) error
			wantErr string
		}{
			{"new agent with it", func(svc *core.Service) error {
				return svc.PutAgent(core.Agent{Name: "b-sales", Host: "127.0.0.0/8", Group: "sales", Secret: shared})
			}, want},
			{"agent replaced with it", func(svc *core.Service) error {
				return svc.PutAgent(core.Agent{Name: "c-web", Host: "127.0.0.2", Secret: shared})
			}, want},
			{"agent changed to it", func(svc *core.Service) error {
				s := shared
				return svc.ChangeAgent("c-web", core.AgentChange{Secret: &s})
			}, want},
			{"same agent saved again", func(svc *core.Service) error {
				return svc.PutAgent(core.Agent{Name: "a-vpn", Host: "127.0.0.1", Secret: shared})
			}, ""},
			{"other agent keeps its own", func(svc *core.Service) error {
				g := "sales"
				return svc.ChangeAgent("c-web", core.AgentChange{Group: &g})
			}, ""},
			{"other agent, a new secret of its own", func(svc *core.Service) error {
				s := "web-secret-2"
				return svc.ChangeAgent("c-web", core.AgentChange{Secret: &s})
			}, ""},
		} {
			t.Run(map[bool]string{false: "plain ", true: "sealed "}[sealed]+tt.name, func(t *testing.T) {
				svc := storetest.MustServiceOn(t, open(t))
				for _, a := range []core.Agent{{Name: "a-vpn", Host: "127.0.0.1", Secret: shared}, {Name: "c-web", Host: "127.0.0.2", Secret: other}} {
					if err := svc.PutAgent(a); err != nil {
						t.Fatal(err)
					}
				}
				before := svc.Agents()
				err := tt.save(svc)
				if tt.wantErr == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				var ce *core.Error
				if !errors.As(err, &ce) || ce.Field != "secret" || ce.Message != tt.wantErr {
					t.Fatalf("err %v, want the secret field's %q", err, tt.wantErr)
				}
				if after := svc.Agents(); len(after) != len(before) || after[1].Secret != before[1].Secret {
					t.Errorf("a refused save changed the agents: %+v", after)
				}
				if a, ok := svc.AuthorizeAgent(netip.MustParseAddr("127.0.0.1"), shared); !ok || a.Name != "a-vpn" {
					t.Errorf("the secret now authorizes %+v %v", a, ok)
				}
			})
		}
	}
}
