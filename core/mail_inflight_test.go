package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_FailureOfAMessageWithdrawnWhileSending: the sender takes a
// message, and while its SMTP conversation runs the secret the message
// carries dies (the PIN is reset again, the code replaced), which
// withdraws and wipes the message. The failure the sender then records
// must not turn the withdrawn message back into a failed one: "Retry now"
// would send the wiped message, an empty mail where the PIN should be.
func TestService_FailureOfAMessageWithdrawnWhileSending(t *testing.T) {
	const reason = "The mail server refused the recipient alice@example.org: 550 5.1.1 User unknown."
	tests := []struct {
		name     string
		queue    func(t *testing.T, svc *core.Service) uint64
		kill     func(svc *core.Service) error
		temp     bool
		attempts int
	}{
		{"new PIN reset again, permanent failure",
			func(t *testing.T, svc *core.Service) uint64 {
				if _, err := svc.ResetPIN("alice", true); err != nil {
					t.Fatal(err)
				}
				box, err := svc.Outbox()
				if err != nil || len(box) == 0 {
					t.Fatalf("outbox %+v, %v", box, err)
				}
				return box[len(box)-1].ID
			},
			func(svc *core.Service) error { _, err := svc.ResetPIN("alice", false); return err },
			false, 1},
		{"provision code replaced, permanent failure",
			func(t *testing.T, svc *core.Service) uint64 {
				ic, err := svc.MailProvisionCode("alice")
				if err != nil {
					t.Fatal(err)
				}
				return ic.MailID
			},
			func(svc *core.Service) error { _, err := svc.CreateProvisionCode("alice"); return err },
			false, 1},
		{"provision code replaced, last temporary failure",
			func(t *testing.T, svc *core.Service) uint64 {
				ic, err := svc.MailProvisionCode("alice")
				if err != nil {
					t.Fatal(err)
				}
				return ic.MailID
			},
			func(svc *core.Service) error { _, err := svc.CreateProvisionCode("alice"); return err },
			true, core.MaxMailAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			storetest.MustAddUser(t, svc, "alice", "1234")
			id := tt.queue(t, svc)
			for range tt.attempts - 1 {
				if err := svc.MailFailed(id, "Could not connect to the mail server.", true); err != nil {
					t.Fatal(err)
				}
			}
			// The sender has the message in hand; its secret dies.
			if err := tt.kill(svc); err != nil {
				t.Fatal(err)
			}
			if err := svc.MailFailed(id, reason, tt.temp); err != nil {
				t.Fatal(err)
			}
			m, err := svc.OutMessage(id)
			if err != nil {
				t.Fatal(err)
			}
			if m.State != core.MailWithdrawn || m.LastError != m.WithdrawnBecause() || m.Attempts != tt.attempts {
				t.Errorf("state %s, last error %q, attempts %d; want withdrawn: %s, %d attempts",
					m.State, m.LastError, m.Attempts, m.WithdrawnBecause(), tt.attempts)
			}
			if m.Code != "" || m.URL != "" || m.Text != "" {
				t.Errorf("the dead secret came back: %+v", m)
			}
			if err := svc.RetryMail(id); core.ErrorCode(err) != core.CodeConflict {
				t.Errorf("Retry now of the withdrawn message: %v, want a conflict", err)
			}
			if !logContains(t, svc, "Message for user: alice, destination: alice@example.org failed after it was withdrawn: "+reason) {
				t.Error("the failure is not in the log")
			}
		})
	}
}
