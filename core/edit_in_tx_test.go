package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Profiles and agents are edited inside the save's transaction
// (docs/decisions.md, "Two consoles editing the same record"): a save
// that lands between another save's start and its write is kept. Two
// services over one store stand for two servers of an etcd site (or two
// consoles); storetest.Meanwhile lands the other's save at the start of
// this one's write transaction, after anything it read before.

// twoServers returns a service over a Meanwhile store and another over
// the same data.
func twoServers(t *testing.T) (m *storetest.Meanwhile, a, b *core.Service) {
	t.Helper()
	st := storetest.MustOpen(t)
	m = storetest.NewMeanwhile(st)
	return m, storetest.MustServiceOn(t, m), storetest.MustServiceOn(t, st)
}

func addSales(t *testing.T, svc *core.Service) {
	t.Helper()
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "sales@example.org"
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
}

// TestService_SetProfileValueKeepsAChangeSavedMeanwhile: `provisio
// profile set` (SetProfileValue) used to read the profile, set its key
// and write the whole profile back, putting back a key another server
// saved between the read and the write.
func TestService_SetProfileValueKeepsAChangeSavedMeanwhile(t *testing.T) {
	m, a, b := twoServers(t)
	addSales(t, a)
	m.Before(func() {
		if err := b.SetProfileValue("Sales", "support_phone", "+44 20 7946 0000"); err != nil {
			t.Error(err)
		}
	})
	if err := a.SetProfileValue("Sales", "pin_cache_timeout", "900"); err != nil {
		t.Fatal(err)
	}
	got, err := b.Profile("Sales")
	if err != nil || got.PINCacheTimeout != 900 || got.SupportPhone != "+44 20 7946 0000" {
		t.Errorf("stored timeout %d, support phone %q (%v): want both saves", got.PINCacheTimeout, got.SupportPhone, err)
	}
}

// TestService_ChangeProfileOntoStored: ChangeProfile sets its keys on the
// profile as its transaction reads it, and checks the profile as it will
// be there. On the Default profile the policy.mobile.* settings follow,
// with another server's change to another of them kept.
func TestService_ChangeProfileOntoStored(t *testing.T) {
	t.Run("keys saved meanwhile stay", func(t *testing.T) {
		m, a, b := twoServers(t)
		addSales(t, a)
		m.Before(func() {
			if err := b.ChangeProfile("Sales", map[string]string{"support_phone": "+44 20 7946 0000", "pin_mode": "mandatory"}); err != nil {
				t.Error(err)
			}
		})
		if err := a.ChangeProfile("Sales", map[string]string{"pin_cache_timeout": "900", "pin_mode": "optional"}); err != nil {
			t.Fatal(err)
		}
		got, _ := b.Profile("Sales")
		if got.PINCacheTimeout != 900 || got.SupportPhone != "+44 20 7946 0000" || got.PINMode != core.PINModeOptional {
			t.Errorf("stored %+v: want this save's timeout and PIN mode (the later save wins) and the other's phone", got.ClientPolicies)
		}
	})
	t.Run("the Default profile and its settings", func(t *testing.T) {
		m, a, b := twoServers(t)
		m.Before(func() {
			if err := b.SetSetting("policy.mobile.support_phone", "+44 20 7946 0000"); err != nil {
				t.Error(err)
			}
		})
		if err := a.ChangeProfile(core.DefaultProfileName, map[string]string{"allow_pin_entry": "Yes"}); err != nil {
			t.Fatal(err)
		}
		def, _ := b.Profile(core.DefaultProfileName)
		for name, m := range map[string]core.MobileClientPolicy{"stored Default profile": def.MobileClientPolicy, "stored settings": storetest.MustServiceOn(t, m.Store).Settings().MobileClient, "this server's snapshot": a.Settings().MobileClient} {
			if !m.AllowPINEntry || m.SupportPhone != "+44 20 7946 0000" {
				t.Errorf("%s: allow_pin_entry %v, support_phone %q: want both saves", name, m.AllowPINEntry, m.SupportPhone)
			}
		}
	})
	t.Run("refusals write nothing", func(t *testing.T) {
		svc := storetest.MustService(t)
		addSales(t, svc)
		tail := func() uint64 { e, _ := svc.LogTail(1); return e[len(e)-1].Seq }
		before := tail()
		for _, tt := range []struct {
			values map[string]string
			field  string
		}{
			{map[string]string{"pin_max_retries": "0", "pin_mode": "sometimes"}, "pin_mode pin_max_retries"},
			{map[string]string{"support_email": ""}, "support_email"},
			{map[string]string{"no_such_key": "1"}, "no_such_key"},
		} {
			err := svc.ChangeProfile("Sales", tt.values)
			var fields []string
			for _, e := range core.FieldErrors(err) {
				fields = append(fields, e.Field)
			}
			if strings.Join(fields, " ") != tt.field {
				t.Errorf("%v: refused fields %q (%v), want %q", tt.values, fields, err, tt.field)
			}
		}
		if err := svc.ChangeProfile("Nope", map[string]string{"pin_mode": "mandatory"}); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("a missing profile: %v", err)
		}
		if got := tail(); got != before {
			t.Errorf("refused changes wrote %d log lines", got-before)
		}
		if p, _ := svc.Profile("Sales"); p.SupportEmail != "sales@example.org" || p.PINMode != core.PINModeOptional {
			t.Errorf("stored %+v", p.ClientPolicies)
		}
	})
}

// TestService_ChangeAgentOntoStored: ChangeAgent sets the fields of its
// change on the agent its transaction reads, so a group and a secret
// another server saved meanwhile stay; an absent secret keeps the stored
// one, a new one replaces it, an agent deleted meanwhile is not put back.
func TestService_ChangeAgentOntoStored(t *testing.T) {
	ptr := func(s string) *string { return &s }
	t.Run("fields saved meanwhile stay", func(t *testing.T) {
		m, a, b := twoServers(t)
		if err := a.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1"}); err != nil {
			t.Fatal(err)
		}
		m.Before(func() {
			if err := b.ChangeAgent("vpn", core.AgentChange{Group: ptr("sales"), Secret: ptr("vpn-secret-2")}); err != nil {
				t.Error(err)
			}
		})
		if err := a.ChangeAgent("vpn", core.AgentChange{Host: ptr("127.0.0.0/24")}); err != nil {
			t.Fatal(err)
		}
		e, _ := a.LogTail(1)
		if msg := e[0].Message; msg != `Agent "vpn" saved (host 127.0.0.0/24, group sales, rights: authenticate); changed: host 127.0.0.1 → 127.0.0.0/24.` {
			t.Errorf("log %q", msg)
		}
		for name, svc := range map[string]*core.Service{"this server's snapshot": a, "the store": storetest.MustServiceOn(t, m.Store)} {
			if ag := svc.Agents(); len(ag) != 1 || ag[0].Host != "127.0.0.0/24" || ag[0].Group != "sales" || ag[0].Secret != "vpn-secret-2" {
				t.Errorf("%s: %+v", name, ag)
			}
		}
		if got := a.AgentAddresses("vpn"); len(got) != 1 || got[0].String() != "127.0.0.0/24" {
			t.Errorf("addresses %v", got)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		svc := storetest.MustService(t)
		if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1"}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			c     core.AgentChange
			field string
		}{
			{core.AgentChange{Host: ptr("not a host!")}, "host"},
			{core.AgentChange{Secret: ptr("short")}, "secret"},
			{core.AgentChange{Secret: ptr("h1:abcdefghij")}, "secret"},
			{core.AgentChange{Modes: &[]string{"carrier-pigeon"}}, "modes"},
		} {
			if err := svc.ChangeAgent("vpn", tt.c); core.ErrorCode(err) != core.CodeInvalid || fieldOf(err) != tt.field {
				t.Errorf("%+v: %v, want a refusal of %s", tt.c, err, tt.field)
			}
		}
		if err := svc.ChangeAgent("gone", core.AgentChange{Host: ptr("127.0.0.2")}); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("a missing agent: %v", err)
		}
		if ag := svc.Agents(); len(ag) != 1 || ag[0].Host != "127.0.0.1" || ag[0].Secret != "vpn-secret-1" {
			t.Errorf("stored %+v", ag)
		}
	})
}

// fieldOf is the field a refusal names.
func fieldOf(err error) string {
	if fe := core.FieldErrors(err); len(fe) == 1 {
		return fe[0].Field
	}
	return ""
}
