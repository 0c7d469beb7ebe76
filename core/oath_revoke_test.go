package core_test

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Revoking an authenticator app and switching between the two kinds of
// token (one device per user); the shared set-up (oathEnv) is in
// oath_test.go.

// appTOTP is the code Google Authenticator shows at t for the token p
// describes, computed by pquerna/otp straight from the secret in the URI.
func appTOTP(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOATH_RevokeDeviceRevokesTheApp: Revoke device… is what the
// helpdesk does for a lost phone (README). For a user whose phone holds
// an authenticator app it was refused ("has no provisioned device"), so
// the app's codes kept logging in; it now revokes the token, confirmed
// or pending, logs it, and the next code fails.
func TestOATH_RevokeDeviceRevokesTheApp(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", appTOTP(t, p.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", appTOTP(t, p.Secret, e.clock.Now())); err != nil {
		t.Fatalf("login before the revoke: %v", err)
	}
	if err := e.svc.RevokeDevice("alice"); err != nil {
		t.Fatalf("revoking alice's authenticator app: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", appTOTP(t, p.Secret, e.clock.Now())); err == nil {
		t.Error("the revoked app's code still logs in")
	}
	if st, _ := e.svc.OATHStatus("alice"); st.State != core.OATHStateNone || st.Kind != "strings" {
		t.Errorf("status after the revoke = %+v", st)
	}
	if !logContains(t, e.svc, `Authenticator app (TOTP) of user "alice" revoked; the user must reprovision.`) {
		t.Error("no log line for the revoked app")
	}
	if err := e.svc.RevokeDevice("alice"); core.ErrorMessage(err) != `User "alice" has no provisioned device.` {
		t.Errorf("a second revoke: %v", err)
	}

	// A phone with strings and an app token waiting to be confirmed (the
	// lost phone may have scanned it): both go, and the line says so.
	storetest.MustAddUser(t, e.svc, "bob", "4821")
	mustProvision(t, e.svc, "bob")
	_, pb := e.issue(t, "bob", core.OATHOptions{})
	if err := e.svc.RevokeDevice("bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ConfirmOATH("bob", appTOTP(t, pb.Secret, e.clock.Now())); core.ErrorCode(err) != core.CodeSession {
		t.Errorf("the pending token confirms after the revoke: %v", err)
	}
	if !logContains(t, e.svc, `Device of user "bob" revoked (TestOS 1), and the authenticator app (TOTP) waiting for confirmation; the user must reprovision.`) {
		t.Error("no log line naming the pending token")
	}
	// Only a pending token: it is what there is to revoke.
	storetest.MustAddUser(t, e.svc, "carol", "1357")
	e.issue(t, "carol", core.OATHOptions{Kind: core.OATHHOTP})
	if err := e.svc.RevokeDevice("carol"); err != nil {
		t.Fatal(err)
	}
	if !logContains(t, e.svc, `Authenticator app (HOTP) of user "carol", waiting for confirmation, revoked; the user must reprovision.`) {
		t.Error("no log line for the revoked pending token")
	}
	assertNoSecretInLog(t, e.svc, p)
}

// TestOATH_PhoneReplacingAppIsLogged: a phone provisioned for a user
// with an authenticator app ends the app's token (one token per user);
// the log said only "provisioned successfully", so nothing recorded that
// the app stopped working.
func TestOATH_PhoneReplacingAppIsLogged(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", appTOTP(t, p.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	mustProvision(t, e.svc, "alice")
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", appTOTP(t, p.Secret, e.clock.Now())); err == nil {
		t.Error("the app still logs in after a phone was provisioned")
	}
	if !logContains(t, e.svc, `User "alice" provisioned successfully; their authenticator app (TOTP) was revoked.`) {
		t.Error("the provision's log line does not say the app was revoked")
	}
}

// TestOATH_SameCodeAtOnceLogsInOnce: a code sniffed on the wire and sent
// at the same moment as the user's own (or a VPN that retries in
// parallel) logs in once: the step is spent inside the login's
// transaction, and the others are replays, not counted as failures.
func TestOATH_SameCodeAtOnceLogsInOnce(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", appTOTP(t, p.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	code := appTOTP(t, p.Secret, e.clock.Now())
	const n = 16
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			errs <- e.svc.Login(agentVPN, "alice", code)
		}()
	}
	close(start)
	passed := 0
	for range n {
		if err := <-errs; err == nil {
			passed++
		} else if core.ErrorCode(err) != core.CodeWrongOTC {
			t.Errorf("a parallel login: %v", err)
		}
	}
	if passed != 1 {
		t.Errorf("%d of %d logins with the same code passed, want 1", passed, n)
	}
	if f := e.failures(t, "alice"); f != 0 {
		t.Errorf("the replays counted %d failures", f)
	}
}

// TestOATH_MobileCodeSaysItReplacesTheApp: a mobile-client code for a
// user with an authenticator app said nothing of it (ReplacesDevice is
// about phones with strings), so the helpdesk was not told that the app
// stops working once the phone provisions. ReplacesApp names it.
func TestOATH_MobileCodeSaysItReplacesTheApp(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil || ic.ReplacesApp != "" {
		t.Fatalf("a user with nothing: %q %v", ic.ReplacesApp, err)
	}
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if ic, _ = e.svc.CreateProvisionCode("alice"); ic.ReplacesApp != "" {
		t.Errorf("a pending token is not in use yet: %q", ic.ReplacesApp)
	}
	if err := e.svc.ConfirmOATH("alice", appTOTP(t, p.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	ic, err = e.svc.CreateProvisionCode("alice")
	if err != nil || ic.ReplacesApp != core.OATHTOTP || ic.ReplacesDevice {
		t.Errorf("a user with an app: app %q device %v (%v)", ic.ReplacesApp, ic.ReplacesDevice, err)
	}
	if a := core.AdminIssuedOf(ic); a.IssuedCode().ReplacesApp != core.OATHTOTP {
		t.Errorf("the admin API's answer loses it: %+v", a)
	}
}
