package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_RetryFailedMail: "Retry all failed" queues again, in one
// step, every failed message Retry now would accept, and leaves the rest
// as they are: a failed message whose code has expired, a withdrawn one,
// a sent one, and one still waiting out a temporary failure. One audit
// line counts what was queued and what could not be, and why.
func TestService_RetryFailedMail(t *testing.T) {
	const refused = "The mail server refused the sender provisio@example.org: 550 5.7.1 Relaying denied."
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		storetest.MustAddUser(t, svc, name, "1234")
	}
	mailCode := func(name string) uint64 {
		t.Helper()
		ic, err := svc.MailProvisionCode(name)
		if err != nil {
			t.Fatal(err)
		}
		return ic.MailID
	}
	fail := func(id uint64) uint64 {
		t.Helper()
		if err := svc.MailFailed(id, refused, false); err != nil {
			t.Fatal(err)
		}
		return id
	}

	// bob's code is made first and outlives its 10 minutes in the
	// outbox: the sender has not looked since, so it is still "failed".
	expired := fail(mailCode("bob"))
	clock.Advance(601 * time.Second)

	tests := []struct {
		name    string
		id      uint64
		want    core.MailState
		retried bool // queued again, due now
	}{
		{"failed, code valid", fail(mailCode("alice")), core.MailQueued, true},
		{"failed plain message", fail(mustQueue(t, svc, "helpdesk@example.org")), core.MailQueued, true},
		{"failed, code expired", expired, core.MailFailed, false},
		{"withdrawn: its code replaced", func() uint64 {
			id := fail(mailCode("carol"))
			if _, err := svc.CreateProvisionCode("carol"); err != nil {
				t.Fatal(err)
			}
			return id
		}(), core.MailWithdrawn, false},
		{"sent", func() uint64 {
			id := mailCode("dave")
			if err := svc.MailSent(id); err != nil {
				t.Fatal(err)
			}
			return id
		}(), core.MailSent, false},
		{"waiting after a temporary failure", func() uint64 {
			id := mailCode("erin")
			if err := svc.MailFailed(id, "Could not connect to the mail server.", true); err != nil {
				t.Fatal(err)
			}
			return id
		}(), core.MailQueued, false},
	}
	before := map[uint64]core.OutMessage{}
	for _, tt := range tests {
		m, err := svc.OutMessage(tt.id)
		if err != nil {
			t.Fatal(err)
		}
		before[tt.id] = m
	}
	clock.Advance(5 * time.Second)
	events, stop := svc.Subscribe()
	defer stop()
	logs := countLogs(t, svc)

	n, err := svc.RetryFailedMail()
	if err != nil || n != 2 {
		t.Fatalf("RetryFailedMail = %d, %v; want 2", n, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := svc.OutMessage(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			was := before[tt.id]
			if m.State != tt.want || m.Attempts != was.Attempts || m.Code != was.Code || m.LastError != was.LastError {
				t.Errorf("message %+v\nwas %+v\nwant state %s, the rest kept", m, was, tt.want)
			}
			if due := m.NextAttempt.Equal(clock.Now()); due != tt.retried {
				t.Errorf("next attempt %s, now %s: due now %v, want %v", m.NextAttempt, clock.Now(), due, tt.retried)
			}
		})
	}
	if got := countLogs(t, svc) - logs; got != 1 {
		t.Errorf("%d log lines, want 1", got)
	}
	if want := "2 failed messages queued again; 1 could not be: its code is no longer valid."; !logContains(t, svc, want) {
		t.Errorf("no log line %q:\n%s", want, logLines(t, svc))
	}
	waitOutboxChanged(t, events)

	// Nothing failed any more but the expired one: again queues nothing,
	// says so in one line.
	if n, err := svc.RetryFailedMail(); err != nil || n != 0 {
		t.Fatalf("again = %d, %v; want 0", n, err)
	}
	if want := "0 failed messages queued again; 1 could not be: its code is no longer valid."; !logContains(t, svc, want) {
		t.Errorf("no log line %q:\n%s", want, logLines(t, svc))
	}
	// Once the sender withdraws it, nothing is failed: nothing to do,
	// nothing logged.
	if _, err := svc.DueMail(); err != nil {
		t.Fatal(err)
	}
	logs = countLogs(t, svc)
	if n, err := svc.RetryFailedMail(); err != nil || n != 0 {
		t.Fatalf("with nothing failed = %d, %v; want 0", n, err)
	}
	if got := countLogs(t, svc) - logs; got != 0 {
		t.Errorf("with nothing failed: %d log lines, want none", got)
	}
}

// TestService_RetryFailedMailSentence: the audit line counts with
// core.Plural and names each reason a message was skipped for, with its
// count when there is more than one reason.
func TestService_RetryFailedMailSentence(t *testing.T) {
	tests := []struct {
		name string
		// codes, resets: failed provision / PIN reset code messages
		// whose codes then expire; alive: failed ones that stay valid.
		codes, resets, alive int
		want                 string
	}{
		{"one queued", 0, 0, 1, "1 failed message queued again."},
		{"three queued", 0, 0, 3, "3 failed messages queued again."},
		{"one skipped", 1, 0, 1, "1 failed message queued again; 1 could not be: its code is no longer valid."},
		{"two reasons", 2, 1, 0, "0 failed messages queued again; 3 could not be: its code is no longer valid (2), its PIN reset code is no longer valid (1)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			fail := func(id uint64) {
				t.Helper()
				if err := svc.MailFailed(id, "refused", false); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tt.codes {
				name := "code" + string(rune('a'+i))
				storetest.MustAddUser(t, svc, name, "1234")
				ic, err := svc.MailProvisionCode(name)
				if err != nil {
					t.Fatal(err)
				}
				fail(ic.MailID)
			}
			for i := range tt.resets {
				name := "reset" + string(rune('a'+i))
				storetest.MustAddUser(t, svc, name, "1234")
				if err := svc.RequestPINReset(agentAny, name); err != nil {
					t.Fatal(err)
				}
				box, _ := svc.Outbox()
				fail(box[len(box)-1].ID)
			}
			clock.Advance(601 * time.Second)
			for range tt.alive {
				fail(mustQueue(t, svc, "helpdesk@example.org"))
			}
			logs := countLogs(t, svc)
			if n, err := svc.RetryFailedMail(); err != nil || n != tt.alive {
				t.Fatalf("RetryFailedMail = %d, %v; want %d", n, err, tt.alive)
			}
			entries, err := svc.LogTail(1)
			if err != nil {
				t.Fatal(err)
			}
			if got := countLogs(t, svc) - logs; got != 1 || entries[0].Message != tt.want {
				t.Errorf("%d lines, the last %q; want one: %q", got, entries[0].Message, tt.want)
			}
		})
	}
}

// mustQueue queues a plain test message to addr and returns its ID.
func mustQueue(t *testing.T, svc *core.Service, addr string) uint64 {
	t.Helper()
	m, err := svc.QueueMail("", addr, "Provisio test message", "hello")
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// waitOutboxChanged waits for an outbox-changed event on events.
func waitOutboxChanged(t *testing.T, events <-chan core.Event) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == core.EventOutboxChanged {
				return
			}
		case <-deadline:
			t.Fatal("no outbox-changed event")
		}
	}
}
