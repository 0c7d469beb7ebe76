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
