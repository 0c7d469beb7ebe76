package core_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Resynchronising a drifted token and the HOTP look-ahead (oath_sync.go,
// oath_otp.go); the shared set-up (oathEnv) is in oath_test.go.

func TestOATH_SyncRecoversDrift(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	phone := func() time.Time { return e.clock.Now().Add(-150 * time.Second) } // 5 steps slow
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("drifted code logs in: %v", err)
	}
	if err := e.svc.OATHSync(agentVPN, "alice", totpAt(t, p, phone()), totpAt(t, p, phone().Add(time.Minute))); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("sync with codes that are not consecutive: %v", err)
	}
	// The user reads two codes 30 s apart.
	c1 := totpAt(t, p, phone())
	e.clock.Advance(30 * time.Second)
	c2 := totpAt(t, p, phone())
	if err := e.svc.OATHSync(agentVPN, "alice", c1, c2); err != nil {
		t.Fatalf("sync: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); err != nil {
		t.Fatalf("login after sync: %v", err)
	}
	if !logHas(t, e.svc, `OATH token of user "alice" resynchronised.`, `agent "vpn"`) {
		t.Error("no sync log line")
	}
}

func TestOATH_HOTPLookAhead(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{Kind: "HOTP"})
	if p.Kind != core.OATHHOTP || !strings.Contains(mustURI(t, e, "alice"), "counter=0") {
		t.Fatalf("parsed = %+v", p)
	}
	c, _ := p.HOTP(0)
	if err := e.svc.ConfirmOATH("alice", c); err != nil {
		t.Fatal(err)
	}
	c, _ = p.HOTP(10) // 9 presses lost: still within the look-ahead of 10
	if err := e.svc.Login(agentVPN, "alice", c); err != nil {
		t.Fatalf("counter 10: %v", err)
	}
	c, _ = p.HOTP(22) // beyond the look-ahead
	if err := e.svc.Login(agentVPN, "alice", c); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("counter 22: %v", err)
	}
	c1, _ := p.HOTP(30)
	c2, _ := p.HOTP(31)
	if err := e.svc.OATHSync(agentVPN, "alice", c1, c2); err != nil {
		t.Fatalf("sync: %v", err)
	}
	c, _ = p.HOTP(32)
	if err := e.svc.Login(agentVPN, "alice", c); err != nil {
		t.Fatalf("counter 32 after sync: %v", err)
	}
}

// mustURI issues a fresh pending token for a second user and returns its
// URI, to look at the HOTP form.
func mustURI(t *testing.T, e *oathEnv, _ string) string {
	t.Helper()
	storetest.MustAddUser(t, e.svc, "hotpuser", "4821")
	is, err := e.svc.IssueOATH("hotpuser", core.OATHOptions{Kind: core.OATHHOTP})
	if err != nil {
		t.Fatal(err)
	}
	return is.URI
}

// TestOATH_SyncRefusedForDisabledUser: a disabled user's token is not
// resynchronised, whoever asks (docs/decisions.md "Smaller decisions of
// 1 December, afternoon"). The agent's oathsync, which a user drives
// like a login, gets the neutral answer a login gets and counts no
// failure; the helpdesk is told why, in a sentence saying what to do,
// as for a PIN reset or a token issued to a disabled user. Once enabled,
// the same drifted token is resynchronised.
func TestOATH_SyncRefusedForDisabledUser(t *testing.T) {
	helpdesk := core.HelpdeskScope(agentVPN, "")
	tests := []struct {
		name     string
		sync     func(svc *core.Service, c1, c2 string) error
		wantCode core.Code
		wantSays string
		actor    string // of the log line
	}{
		{"agent oathsync", func(svc *core.Service, c1, c2 string) error {
			return svc.OATHSync(agentVPN, "alice", c1, c2)
		}, core.CodeWrongOTC, "The token could not be synchronised.", `agent "vpn"`},
		{"helpdesk OathSync", func(svc *core.Service, c1, c2 string) error {
			return svc.OATHSyncUsers(helpdesk, []string{"alice"}, [][2]string{{c1, c2}})[0]
		}, core.CodeDisabled, `User "alice" is disabled; enable them before resynchronising their token.`, `helpdesk agent "vpn"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			storetest.MustAddUser(t, e.svc, "alice", "9132")
			_, p := e.issue(t, "alice", core.OATHOptions{})
			if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(10 * time.Minute)
			phone := func() time.Time { return e.clock.Now().Add(-150 * time.Second) } // 5 steps slow
			setDisabled := func(off bool) {
				t.Helper()
				if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.Disabled = off; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			setDisabled(true)
			c1 := totpAt(t, p, phone())
			e.clock.Advance(30 * time.Second)
			c2 := totpAt(t, p, phone())
			err := tt.sync(e.svc, c1, c2)
			if core.ErrorCode(err) != tt.wantCode || core.ErrorMessage(err) != tt.wantSays {
				t.Fatalf("sync of a disabled user: %v (code %s), want %s %q", err, core.ErrorCode(err), tt.wantCode, tt.wantSays)
			}
			if n := e.failures(t, "alice"); n != 0 {
				t.Errorf("the refused sync counted %d failure(s)", n)
			}
			if !logHas(t, e.svc, "OATH sync failed for user: alice, error: the user is disabled", tt.actor) {
				t.Error("no log line for the refused sync")
			}
			setDisabled(false)
			// The refusal kept the drift: a drifted code still fails.
			e.clock.Advance(30 * time.Second)
			if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); core.ErrorCode(err) != core.CodeWrongOTC {
				t.Fatalf("the refused sync resynchronised the token: login %v", err)
			}
			c1 = totpAt(t, p, phone())
			e.clock.Advance(30 * time.Second)
			c2 = totpAt(t, p, phone())
			if err := tt.sync(e.svc, c1, c2); err != nil {
				t.Fatalf("sync once enabled: %v", err)
			}
		})
	}
}
