package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestService_ResetPINShown(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1357")
	if err := svc.SetSetting("policy.pin.min_length", "6"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.ResetPIN("ALICE", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.User != "alice" || len(res.PIN) != 6 || res.To != "" {
		t.Errorf("reset %+v, want a 6-digit PIN for alice", res)
	}
	u, _ := svc.User("alice")
	if u.PIN != res.PIN {
		t.Errorf("stored PIN differs from the one shown")
	}
	if !logContains(t, svc, `PIN reset for user "alice"; the new PIN was shown to the administrator.`) {
		t.Error("no log line")
	}
	entries, _ := svc.LogTail(50)
	for _, e := range entries {
		if strings.Contains(e.Message, res.PIN) {
			t.Errorf("the PIN is in the log: %q", e.Message)
		}
	}
	if out, _ := svc.Outbox(); len(out) != 0 {
		t.Errorf("a shown PIN was also queued: %v", out)
	}
}

func TestService_ResetPINMailed(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "bob", "1357")
	res, err := svc.ResetPIN("bob", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.PIN != "" || res.To != "bob@example.org" {
		t.Errorf("reset %+v, want no PIN on screen and mail to bob@example.org", res)
	}
	out, _ := svc.Outbox()
	if len(out) != 1 || out[0].To != "bob@example.org" || out[0].Subject != "Your new PIN" {
		t.Fatalf("outbox %v", out)
	}
	u, _ := svc.User("bob")
	if !strings.Contains(out[0].Text, "Your new PIN is:\n\n    "+u.PIN+"\n") {
		t.Errorf("message text %q lacks the stored PIN", out[0].Text)
	}

	// No address: nothing changes.
	if _, err := svc.UpdateUser("bob", func(u *core.User) error { u.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ResetPIN("bob", true)
	if got := core.ErrorMessage(err); got != `User "bob" has no email address to send a new PIN to.` || core.ErrorCode(err) != core.CodeNoTransport {
		t.Errorf("error %q", got)
	}
	if after, _ := svc.User("bob"); after.PIN != u.PIN {
		t.Error("the PIN changed although it could not be sent")
	}
	if _, err := svc.ResetPIN("nobody", false); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("unknown user: %v", err)
	}
}

func TestNewPIN(t *testing.T) {
	for range 200 {
		p := core.NewPIN(4)
		if len(p) != 4 || strings.Trim(p, "0123456789") != "" {
			t.Fatalf("NewPIN(4) = %q", p)
		}
		switch p {
		case "0000", "1111", "1234", "4321", "9876", "6789":
			t.Fatalf("weak PIN %q", p)
		}
	}
}

func TestService_RevokeDevice(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "carol", "1357")
	if err := svc.RevokeDevice("carol"); core.ErrorMessage(err) != `User "carol" has no provisioned device.` {
		t.Errorf("revoke without a device: %v", err)
	}
	dev, ss := mustProvision(t, svc, "carol")
	if err := svc.RevokeDevice("carol"); err != nil {
		t.Fatal(err)
	}
	u, _ := svc.User("carol")
	if u.Provisioned() || u.DeviceOS != "" || !u.ProvisionedAt.IsZero() {
		t.Errorf("user still has a device: %+v", u)
	}
	if _, err := svc.SecurityStrings(dev); core.ErrorCode(err) != core.CodeSession {
		t.Errorf("the revoked device still downloads strings: %v", err)
	}
	otc := core.MobileCode(core.ExtractOTC(ss.S[0], "1357"), 0)
	if err := svc.Login(agentAny, "carol", otc); err == nil {
		t.Error("a string of the revoked device still logs in")
	}
	if !logContains(t, svc, `Device of user "carol" revoked (TestOS 1); the user must reprovision.`) {
		t.Error("no log line")
	}
}

func TestNewAgentSecret(t *testing.T) {
	a, b := core.NewAgentSecret(), core.NewAgentSecret()
	if len(a) != 24 || a == b {
		t.Errorf("secrets %q %q", a, b)
	}
	ag := core.Agent{Name: "vpn", Host: "10.0.0.0/8", Secret: a}
	if err := core.ValidateAgent(&ag); err != nil {
		t.Errorf("a generated secret is refused: %v", err)
	}
}

func TestValidateAgent_Modes(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{[]string{"dual", "Mobile", "dual"}, "mobile,dual", ""},
		{[]string{"sms"}, "", `"sms" is not an authentication mode; use mobile or dual.`},
	}
	for _, tt := range tests {
		a := core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "s3cret-123", Modes: tt.in}
		err := core.ValidateAgent(&a)
		if got := core.ErrorMessage(err); got != tt.wantErr {
			t.Errorf("%v: error %q, want %q", tt.in, got, tt.wantErr)
		}
		if err == nil && strings.Join(a.Modes, ",") != tt.want {
			t.Errorf("%v: modes %v, want %s", tt.in, a.Modes, tt.want)
		}
	}
	legacy := core.Agent{}
	if !legacy.AllowsMode(core.AgentModeMobile) || legacy.AllowsMode(core.AgentModeDual) {
		t.Error("an agent without modes should allow mobile only")
	}
}
