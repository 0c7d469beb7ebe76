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

// TestOATH_SyncWhileLockedIsRefused: an agent's oathsync with two right
// codes for a locked user answers like a wrong one and leaves the token
// as it was, as a login with a right code while locked does (#9): it
// answered PASS, which told whoever held the codes they were right while
// the account was locked. Like that login, it is not counted as a
// failure. Once the lock has run out, the same sync works.
func TestOATH_SyncWhileLockedIsRefused(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute) // 09:10: the drifted codes come after the confirming one
	for i := 0; i < 5; i++ {
		if err := e.svc.Login(agentVPN, "alice", "000000"); core.ErrorCode(err) != core.CodeWrongOTC {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if u, _ := e.svc.User("alice"); !u.Locked {
		t.Fatal("alice is not locked after 5 wrong codes")
	}
	phone := func() time.Time { return e.clock.Now().Add(-150 * time.Second) } // 5 steps slow
	sync := func() error {
		t.Helper()
		c1 := totpAt(t, p, phone())
		e.clock.Advance(30 * time.Second)
		return e.svc.OATHSync(agentVPN, "alice", c1, totpAt(t, p, phone()))
	}
	if err := sync(); core.ErrorCode(err) != core.CodeWrongOTC || core.ErrorMessage(err) != "The token could not be synchronised." {
		t.Fatalf("sync while locked: %v", err)
	}
	if n := e.failures(t, "alice"); n != 5 {
		t.Errorf("failures %d after the refused sync, want 5 (not counted)", n)
	}
	if !logHas(t, e.svc, "OATH sync failed for user: alice, error: the user is locked until 2026-01-05T09:15:00Z; the codes were right but are not accepted while locked", `agent "vpn"`) {
		for _, l := range mustTail(t, e.svc) {
			t.Log(l)
		}
		t.Error("no log line for the refused sync")
	}
	e.clock.Advance(time.Hour)
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("the refused sync resynchronised the token: login %v", err)
	}
	if err := sync(); err != nil {
		t.Fatalf("sync once the lock ran out: %v", err)
	}
}

func mustTail(t *testing.T, svc *core.Service) []string {
	t.Helper()
	tail, err := svc.LogTail(10)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tail {
		out = append(out, e.Actor+": "+e.Message)
	}
	return out
}
