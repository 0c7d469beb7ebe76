package core_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// Mailed provision codes for authenticator apps and redeeming them on the
// web (oath_provision.go); the shared set-up (oathEnv) is in oath_test.go.

// TestOATH_MailAndRedeem: the mail carries the usual Provision URL and no
// secret; redeeming the code reveals the otpauth URI once; the mobile
// client cannot use such a code.
func TestOATH_MailAndRedeem(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := lastMail(t, e.svc)
	if m.URL != ic.URL || !strings.Contains(m.URL, "/userportal/provision?") || strings.Contains(m.URL, "otpauth") {
		t.Errorf("mail URL = %q", m.URL)
	}
	if _, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("mobile provision with an OATH code: %v", err)
	}
	// That attempt left the code (it is right, but for the web page); a
	// fresh one, with 8 digits, is redeemed there.
	ic, err = e.svc.MailOATHProvisionCode("alice", core.OATHOptions{Digits: 8})
	if err != nil {
		t.Fatal(err)
	}
	is, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code)
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	p, err := oathkey.Parse(is.URI)
	if err != nil || p.Digits != 8 {
		t.Fatalf("redeemed URI %q: %+v %v", is.URI, p, err)
	}
	if out, _ := e.svc.Outbox(); strings.Contains(out[len(out)-1].Text+out[len(out)-1].URL, p.Secret) {
		t.Error("the secret is in a message")
	}
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("second redeem: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("login confirms the redeemed token: %v", err)
	}
}

// TestOATH_RedeemRefusals: a right code meant for the mobile client is not
// spent; an unknown user writes nothing.
func TestOATH_RedeemRefusals(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("mobile code redeemed as OATH: %v", err)
	}
	if _, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS"); err != nil {
		t.Fatalf("the mobile code was spent: %v", err)
	}
	before, _ := e.svc.LogTail(1000)
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "nobody", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("unknown user: %v", err)
	}
	if after, _ := e.svc.LogTail(1000); len(after) != len(before) {
		t.Errorf("an unknown user cost %d log writes", len(after)-len(before))
	}
}

// TestOATH_RedeemWrongCodeKeepsTheCode: anyone can post to the set-up
// page, so a stranger's wrong code must neither cancel the pending code
// (of either kind) nor cost a durable write; the phone's right code still
// works afterwards.
func TestOATH_RedeemWrongCodeKeepsTheCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(*core.Service) (core.IssuedCode, error)
		redeem func(*core.Service, string) error
	}{
		{"mobile-client code",
			func(s *core.Service) (core.IssuedCode, error) { return s.CreateProvisionCode("alice") },
			func(s *core.Service, code string) error {
				_, err := s.Provision("127.0.0.1", "alice", code, "TestOS")
				return err
			}},
		{"authenticator code",
			func(s *core.Service) (core.IssuedCode, error) {
				return s.MailOATHProvisionCode("alice", core.OATHOptions{})
			},
			func(s *core.Service, code string) error {
				_, err := s.RedeemOATHProvision("127.0.0.1", "alice", code)
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			svc, wc := e.svc, e.wc
			storetest.MustAddUser(t, svc, "alice", "9132")
			ic, err := tc.create(svc)
			if err != nil {
				t.Fatal(err)
			}
			before := wc.n.Load()
			for _, wrong := range []string{"ABCD2345", strings.ToLower(ic.Code) + "X", ""} {
				if _, err := svc.RedeemOATHProvision("192.0.2.7", "alice", wrong); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("wrong code %q: %v", wrong, err)
				}
				e.clock.Advance(time.Minute) // past the source's delay
			}
			if n := wc.n.Load() - before; n != 0 {
				t.Errorf("three wrong codes cost %d write transactions", n)
			}
			if err := tc.redeem(svc, ic.Code); err != nil {
				t.Fatalf("the right code after a stranger's wrong ones: %v", err)
			}
		})
	}
}

// TestOATH_RedeemWrongCodesKillTheCode: wrong codes are throttled per
// source (a second try at once is refused unchecked, even a right one)
// and the code dies after MaxProvisionAttempts wrong ones in all, with
// one write.
func TestOATH_RedeemWrongCodesKillTheCode(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	if err := e.svc.SetSetting("policy.selfreset.max_provision_attempts", "3"); err != nil {
		t.Fatal(err)
	}
	ic, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.1", "alice", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("a right code inside the delay after a wrong one was checked: %v", err)
	}
	for _, src := range []string{"192.0.2.2", "192.0.2.3"} {
		if _, err := e.svc.RedeemOATHProvision(src, "alice", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.9", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("the code still works after %d wrong attempts: %v", 3, err)
	}
	if !logContains(t, e.svc, `User "alice" provision failed, A valid session could not be loaded or created for the user. (the provision code stopped working after 3 wrong attempts; make a new one)`) {
		t.Error("the dead code is not in the log")
	}
}

// TestService_MobileCodeNeedsTheMobileRight: a mobile-client code for a
// user whose account does not allow the mobile client would provision a
// phone that is then refused every security-string download, so no way
// of making one does, and nothing is left behind; an authenticator app
// needs no such right.
func TestService_MobileCodeNeedsTheMobileRight(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "frank", "9132")
	if _, err := e.svc.UpdateUser("frank", func(u *core.User) error { u.MobileAllowed = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("policy.selfreset.allow_self_provision", "true"); err != nil {
		t.Fatal(err)
	}
	const want = `User "frank" may not use the mobile client; allow it in their account first, or set up an authenticator app, which needs no such right.`
	for name, make := range map[string]func() (core.IssuedCode, error){
		"console":         func() (core.IssuedCode, error) { return e.svc.CreateProvisionCode("frank") },
		"mailed":          func() (core.IssuedCode, error) { return e.svc.MailProvisionCode("frank") },
		"agent's request": func() (core.IssuedCode, error) { return e.svc.RequestProvisionCode(agentAny, "frank") },
	} {
		if _, err := make(); core.ErrorCode(err) != core.CodeNotInGroup || core.ErrorMessage(err) != want {
			t.Errorf("%s: %v, want %s %q", name, err, core.CodeNotInGroup, want)
		}
	}
	if p, _ := e.svc.PendingCodes(); len(p) != 0 {
		t.Errorf("refusals left codes: %v", p)
	}
	if box, _ := e.svc.Outbox(); len(box) != 0 {
		t.Errorf("refusals queued mail: %v", box)
	}
	if _, err := e.svc.MailOATHProvisionCode("frank", core.OATHOptions{}); err != nil {
		t.Errorf("authenticator app set-up for a user without the mobile right: %v", err)
	}
}
