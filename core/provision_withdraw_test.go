package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// TestService_WithdrawProvisionCode: the console withdraws the code it
// shows when the admin turns to the authenticator app instead (#11). Only
// that code is withdrawn, with its unsent message and an audit line; a
// code made since, a wrong one or none is left alone, and a withdrawn
// code no longer provisions.
func TestService_WithdrawProvisionCode(t *testing.T) {
	const logLine = `Provision code for user "alice" withdrawn; it no longer works.`
	tests := []struct {
		name string
		// code returns the code to withdraw, given the one issued.
		code func(t *testing.T, svc *core.Service, ic core.IssuedCode) string
		// withdrawn: the issued code is gone; pending: some code is still
		// pending afterwards.
		withdrawn, pending bool
	}{
		{"the code on screen", func(_ *testing.T, _ *core.Service, ic core.IssuedCode) string { return ic.Code }, true, false},
		{"a wrong code", func(*testing.T, *core.Service, core.IssuedCode) string { return "WRONGCODE" }, false, true},
		{"replaced meanwhile", func(t *testing.T, svc *core.Service, ic core.IssuedCode) string {
			if _, err := svc.CreateProvisionCode("alice"); err != nil {
				t.Fatal(err)
			}
			return ic.Code
		}, false, true},
		{"used meanwhile", func(t *testing.T, svc *core.Service, ic core.IssuedCode) string {
			if _, err := svc.Provision("127.0.0.1", "alice", ic.Code, "iOS 17"); err != nil {
				t.Fatal(err)
			}
			return ic.Code
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			storetest.MustAddUser(t, svc, "alice", "1234")
			ic, err := svc.MailProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			if !ic.Created.Equal(clock.Now()) || ic.Expires.Sub(ic.Created) != 600*time.Second {
				t.Errorf("issued at %v until %v; want created now, 10 minutes", ic.Created, ic.Expires)
			}
			code := tt.code(t, svc, ic)
			events, stop := svc.Subscribe()
			defer stop()

			got, err := svc.WithdrawProvisionCode("alice", code)
			if err != nil || got != tt.withdrawn {
				t.Fatalf("withdrawn %v, %v; want %v", got, err, tt.withdrawn)
			}
			pending, _ := svc.PendingCodes()
			if _, ok := pending["alice"]; ok != tt.pending {
				t.Errorf("a code pending afterwards: %v, want %v", ok, tt.pending)
			}
			if logContains(t, svc, logLine) != tt.withdrawn {
				t.Errorf("audit line %q logged: %v, want %v", logLine, !tt.withdrawn, tt.withdrawn)
			}
			if !tt.withdrawn {
				return
			}
			box, _ := svc.Outbox()
			if len(box) != 1 || box[0].State != core.MailWithdrawn || box[0].Code != "" {
				t.Errorf("the code's message = %+v", box)
			}
			kinds := map[core.EventKind]bool{}
			for len(events) > 0 {
				kinds[(<-events).Kind] = true
			}
			if !kinds[core.EventUsersChanged] || !kinds[core.EventOutboxChanged] {
				t.Errorf("events %v: the users list and the outbox must be told", kinds)
			}
			if _, err := svc.Provision("127.0.0.1", "alice", ic.Code, "iOS 17"); core.ErrorCode(err) != core.CodeProvision {
				t.Errorf("a withdrawn code provisions: %v", err)
			}
		})
	}

	svc := storetest.MustService(t)
	if _, err := svc.WithdrawProvisionCode("nobody", "WRONGCODE"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("unknown user: %v", err)
	}
}

// TestService_IssuedSaysWhenMade: a provision code and an OATH token say
// when the service made them (Created, its clock), so a console whose
// clock differs counts Expires − Created down (docs/decisions.md).
func TestService_IssuedSaysWhenMade(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
	storetest.MustAddUser(t, svc, "alice", "1234")
	if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	is, err := svc.IssueOATH("alice", core.OATHOptions{Kind: core.OATHTOTP})
	if err != nil {
		t.Fatal(err)
	}
	for what, span := range map[string][2]time.Time{"provision code": {ic.Created, ic.Expires}, "OATH token": {is.Created, is.Expires}} {
		if !span[0].Equal(clock.Now()) || span[1].Sub(span[0]) != 600*time.Second {
			t.Errorf("%s made %v, expires %v; want made now, valid 10 minutes", what, span[0], span[1])
		}
	}
}
