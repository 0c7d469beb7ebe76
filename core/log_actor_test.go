package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestLog_NamesWhoActed: a representative change by each kind of actor
// writes audit entries whose Actor names that actor, and only such
// entries (docs/decisions.md "The audit log names who acted"). The
// command line's and the admin API's rows go through core.LocalAdmin as
// the CLI and the admin API's server do; app/cli_log_test.go runs the
// real command line and socket.
func TestLog_NamesWhoActed(t *testing.T) {
	st := storetest.MustOpenSealed(t)
	svc := storetest.MustServiceOn(t, st)
	if err := svc.PutAgent(agentAny); err != nil {
		t.Fatal(err)
	}
	const pin = "7391"
	storetest.MustAddUser(t, svc, "alice", pin)
	_, ss := mustProvision(t, svc, "alice")
	storetest.MustAddUser(t, svc, "bob", pin)
	storetest.MustAddUser(t, svc, "frank", pin)
	ic, err := svc.CreateProvisionCode("frank") // the console's, for the phone below
	if err != nil {
		t.Fatal(err)
	}
	attached := `console "desk-2" (helpdesk) at 192.0.2.7`

	tests := []struct {
		name   string
		change func() error
		want   string
	}{
		{"console", func() error {
			_, err := svc.AddUser(core.User{Name: "carol"})
			return err
		}, "the console"},
		{"operator at the command line", func() error {
			_, err := core.LocalAdmin{Svc: svc}.AddUser(core.AdminNewUser{Name: "dave"})
			return err
		}, "the command line"},
		{"operator of an attached console", func() error {
			_, err := core.LocalAdmin{Svc: svc, Operator: attached}.AddUser(core.AdminNewUser{Name: "erin"})
			return err
		}, attached},
		{"agent", func() error {
			return svc.Login(agentAny, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], pin), 0))
		}, `agent "vpn"`},
		{"helpdesk agent", func() error {
			_, err := svc.ResetPINs(core.HelpdeskScope(agentAny, ""), []string{"bob"})
			return err
		}, `helpdesk agent "vpn"`},
		{"phone", func() error {
			_, err := svc.Provision("192.0.2.9", "frank", ic.Code, "TestOS 1")
			return err
		}, "a phone at 192.0.2.9"},
		{"server", func() error {
			svc.Refuse("192.0.2.50", "a test refusal")
			return svc.FlushRefused()
		}, "the server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := lastSeq(t, svc)
			if err := tt.change(); err != nil {
				t.Fatal(err)
			}
			entries, err := svc.Logs(before, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				t.Fatal("the change wrote no log entry")
			}
			for _, e := range entries {
				if e.Actor != tt.want {
					t.Errorf("entry #%d %q: Actor %q, want %q", e.Seq, e.Message, e.Actor, tt.want)
				}
			}
		})
	}
	// Every entry, the actor included, is under the MAC chain.
	if v, err := svc.VerifyLog(); err != nil || v.Last != lastSeq(t, svc) {
		t.Fatalf("verify: %+v, %v", v, err)
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

// TestLog_AttachedChangeWritesOneLine: a change through the admin API
// writes the use case's own audit line, whose Actor names the operator,
// and no second "Admin API: …" line saying the same (docs/decisions.md
// "The audit log names who acted").
func TestLog_AttachedChangeWritesOneLine(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpenSealed(t))
	attached := "a console or command on this machine (uid 1000, pid 4242)"
	before := lastSeq(t, svc)
	if _, err := (core.LocalAdmin{Svc: svc, Operator: attached}).AddUser(core.AdminNewUser{Name: "zed"}); err != nil {
		t.Fatal(err)
	}
	entries, err := svc.Logs(before, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		for _, e := range entries {
			t.Logf("#%d [%s] %s", e.Seq, e.Actor, e.Message)
		}
		t.Fatalf("the attached user add wrote %d audit lines, want 1", len(entries))
	}
	if e := entries[0]; e.Message != `User "zed" added.` || e.User != "zed" || e.Actor != attached {
		t.Errorf("entry #%d: user %q, actor %q, %q; want zed, %q, %q", e.Seq, e.User, e.Actor, e.Message, attached, `User "zed" added.`)
	}
}
