package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Logging in with a token (oath_login.go): the lockout shared with
// strings, confirmation by the first login, loginbyattribute; the shared
// set-up (oathEnv) is in oath_test.go.

func TestOATH_LockoutCountsWithStrings(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{Digits: 8, Algorithm: "sha256"})
	if p.Digits != 8 || p.Algorithm != "SHA256" {
		t.Fatalf("parsed = %+v", p)
	}
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		err := e.svc.Login(agentVPN, "alice", "12345678")
		if core.ErrorCode(err) != core.CodeWrongOTC {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	u, _ := e.svc.User("alice")
	if !u.Locked || u.Failures != 5 {
		t.Fatalf("after 5 wrong codes: locked %v failures %d", u.Locked, u.Failures)
	}
	e.clock.Advance(30 * time.Second)
	// A locked account answers a right code exactly like a wrong one (#9).
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("right code while locked: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", "1234"); core.ErrorCode(err) != core.CodeBadOTC {
		t.Errorf("malformed code: %v", err)
	}
}

// TestOATH_ReprovisionKeepsOldDevice: a strings device keeps working
// while an OATH token is pending; the first login with the token confirms
// it and revokes the device in the same transaction.
func TestOATH_ReprovisionKeepsOldDevice(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	dev, ss := mustProvision(t, e.svc, "alice")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if st, _ := e.svc.OATHStatus("alice"); st.Kind != "strings" || st.Pending != core.OATHTOTP {
		t.Errorf("status with a device and a pending token = %+v", st)
	}
	if err := e.svc.Login(agentVPN, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0)); err != nil {
		t.Fatalf("old device while the token is pending: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("first login with the token: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", core.MobileCode(core.ExtractOTC(ss.S[1], "9132"), 1)); err == nil {
		t.Fatal("old device still works after confirmation")
	}
	if _, err := e.svc.SecurityStrings(dev); core.ErrorCode(err) != core.CodeSession {
		t.Errorf("old device fetches strings: %v", err)
	}
	if !logContains(t, e.svc, `OATH token for user "alice" confirmed by the user's first login; the previous device was revoked.`) {
		t.Error("no confirmation log line")
	}
	// A new device replaces the token in turn.
	mustProvision(t, e.svc, "alice")
	if st, _ := e.svc.OATHStatus("alice"); st.Kind != "strings" || st.State != core.OATHStateConfirmed {
		t.Errorf("status after a new device = %+v", st)
	}
}

// TestOATH_LoginByAttribute: loginbyattribute reaches the OATH check.
func TestOATH_LoginByAttribute(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error {
		u.Attributes = map[string]string{"upn": "alice@corp.example.org"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.LoginByAttribute(agentVPN, "upn", "alice@corp.example.org", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("loginbyattribute with the app's code: %v", err)
	}
}
