package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestService_RequestSelfServiceCode(t *testing.T) {
	svc := storetest.MustService(t)
	if out, err := svc.RequestSelfServiceCode("192.0.2.9", "alice"); err != nil || out != core.SelfServiceOff {
		t.Fatalf("with the policy off = %v, %v", out, err)
	}
	if err := svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	mail := func(name, email string) {
		t.Helper()
		storetest.MustAddUser(t, svc, name, "1357")
		if _, err := svc.UpdateUser(name, func(u *core.User) error { u.Email = email; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	mail("alice", "alice@example.org")
	mail("bob", "")
	mail("carol", "carol@example.org")
	mail("dave", "dave@example.org")
	if _, err := svc.UpdateUser("dave", func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	carolDevice, _ := mustProvision(t, svc, "carol")
	admin, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}

	logs := func() int { e, _ := svc.LogTail(10000); return len(e) }
	for _, tt := range []struct {
		name string
		want core.SelfServiceOutcome
	}{
		{"nobody", core.SelfServiceNoUser},
		{"", core.SelfServiceNoUser},
		{"bob", core.SelfServiceCannotReceive},
		{"dave", core.SelfServiceCannotReceive},
		{"alice", core.SelfServicePending},
	} {
		before := logs()
		out, err := svc.RequestSelfServiceCode("192.0.2.9", tt.name)
		if err != nil || out != tt.want {
			t.Errorf("RequestSelfServiceCode(%q) = %v, %v; want %v", tt.name, out, err, tt.want)
		}
		if logs() != before {
			t.Errorf("RequestSelfServiceCode(%q) wrote the log; refusals must cost no write", tt.name)
		}
	}
	// The administrator's code for alice still works.
	if _, err := svc.Provision("127.0.0.1", "alice", admin.Code, "test"); err != nil {
		t.Fatalf("the administrator's pending code was replaced: %v", err)
	}

	// carol gets a mailed code, and her current device keeps working.
	out, err := svc.RequestSelfServiceCode("192.0.2.9", "carol")
	if err != nil || out != core.SelfServiceMailed {
		t.Fatalf("carol = %v, %v", out, err)
	}
	box, _ := svc.Outbox()
	if len(box) != 1 || box[0].To != "carol@example.org" || box[0].Kind != core.MailProvision {
		t.Fatalf("outbox = %+v", box)
	}
	if user, ok, err := svc.DeviceUser(carolDevice); err != nil || !ok || user != "carol" {
		t.Fatalf("carol's device after the request: %q %v %v", user, ok, err)
	}
	if !logContains(t, svc, `Provision code created for user "carol"`) {
		t.Fatal("no log line for the created code")
	}
	// A second request while that code is pending leaves it alone.
	if out, _ := svc.RequestSelfServiceCode("192.0.2.9", "carol"); out != core.SelfServicePending {
		t.Fatalf("second request = %v", out)
	}
	if _, err := svc.Provision("127.0.0.1", "carol", box[0].Code, "test"); err != nil {
		t.Fatalf("the mailed code: %v", err)
	}
	if _, ok, _ := svc.DeviceUser(carolDevice); ok {
		t.Fatal("the old device still counts after the new one provisioned")
	}
}
