package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestService_MailProvisionCode(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	storetest.MustAddUser(t, svc, "alice", "1234")
	ic, err := svc.MailProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !logContains(t, svc, "Message added to message queue for user: alice, destination: alice@example.org.") {
		t.Fatal("queueing not logged with the seed's wording")
	}
	due, err := svc.DueMail()
	if err != nil || len(due) != 1 || due[0].Code != ic.Code || due[0].URL != ic.URL || due[0].To != "alice@example.org" {
		t.Fatalf("due = %+v, %v", due, err)
	}
	id := due[0].ID

	// A temporary failure waits 30 s; the message is not due before then.
	if err := svc.MailFailed(id, "Could not connect to the mail server.", true); err != nil {
		t.Fatal(err)
	}
	if due, _ := svc.DueMail(); len(due) != 0 {
		t.Fatalf("due during back-off: %+v", due)
	}
	clock.Advance(31 * time.Second)
	if due, _ := svc.DueMail(); len(due) != 1 {
		t.Fatalf("not due after back-off: %+v", due)
	}
	if err := svc.MailSent(id); err != nil {
		t.Fatal(err)
	}
	if !logContains(t, svc, "Message sent to user: alice, destination: alice@example.org.") {
		t.Fatal("delivery not logged with the seed's wording")
	}
	box, _ := svc.Outbox()
	if len(box) != 1 || box[0].State != core.MailSent || box[0].Code != "" || box[0].Attempts != 2 {
		t.Fatalf("after delivery: %+v", box)
	}
	if due, _ := svc.DueMail(); len(due) != 0 {
		t.Fatal("a delivered message is due again")
	}
	if err := svc.RetryMail(id); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("retry of a sent message: %v", err)
	}
}

func TestService_MailRules(t *testing.T) {
	tests := []struct {
		name  string
		act   func(svc *core.Service, clock *storetest.Clock, id uint64)
		state core.MailState
		wiped bool
	}{
		{"permanent failure", func(svc *core.Service, _ *storetest.Clock, id uint64) {
			svc.MailFailed(id, "The mail server refused the recipient.", false)
		}, core.MailFailed, false},
		{"code expired before delivery", func(svc *core.Service, clock *storetest.Clock, id uint64) {
			clock.Advance(601 * time.Second)
			svc.DueMail()
		}, core.MailFailed, true},
		{"retry after a permanent failure", func(svc *core.Service, _ *storetest.Clock, id uint64) {
			svc.MailFailed(id, "refused", false)
			svc.RetryMail(id)
		}, core.MailQueued, false},
		{"too many temporary failures", func(svc *core.Service, _ *storetest.Clock, id uint64) {
			for i := 0; i < core.MaxMailAttempts; i++ {
				svc.MailFailed(id, "timeout", true)
			}
		}, core.MailFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			storetest.MustAddUser(t, svc, "alice", "1234")
			if _, err := svc.MailProvisionCode("alice"); err != nil {
				t.Fatal(err)
			}
			box, _ := svc.Outbox()
			tt.act(svc, clock, box[0].ID)
			box, _ = svc.Outbox()
			if box[0].State != tt.state || (box[0].Code == "") != tt.wiped {
				t.Fatalf("message = %+v, want state %s wiped %v", box[0], tt.state, tt.wiped)
			}
		})
	}
}

func TestService_MailDestination(t *testing.T) {
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "nomail", PIN: "1234"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.MailProvisionCode("nomail"); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("mail to a user without address: %v", err)
	}
	// Nothing half-done: no code and no message.
	if pending, _ := svc.PendingCodes(); len(pending) != 0 {
		t.Fatalf("code left behind: %v", pending)
	}
	if box, _ := svc.Outbox(); len(box) != 0 {
		t.Fatalf("message left behind: %v", box)
	}

	if _, err := svc.AddUser(core.User{Name: "bob", Email: "bob@example.org", StringsEmail: "bob.phone@example.org"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		asString bool
		want     string
	}{{false, "bob@example.org"}, {true, "bob.phone@example.org"}} {
		if err := svc.SetSetting("policy.selfreset.send_code_as_security_string", map[bool]string{true: "Yes", false: "No"}[tt.asString]); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.MailProvisionCode("bob"); err != nil {
			t.Fatal(err)
		}
		box, _ := svc.Outbox()
		if got := box[len(box)-1].To; got != tt.want {
			t.Fatalf("send as security string %v: to %s, want %s", tt.asString, got, tt.want)
		}
	}
}

func TestSettings_SecretMasked(t *testing.T) {
	s := core.DefaultSettings()
	if err := s.Set("smtp.password", "hunter2!"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get("smtp.password"); v != "********" || s.Mail.Password != "hunter2!" {
		t.Fatalf("password shown as %q", v)
	}
	if err := s.Set("smtp.security", "ssl"); err == nil {
		t.Fatal("unknown security mode accepted")
	}
}
