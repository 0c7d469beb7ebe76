package core_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_FailedMessageKeepsItsSecretOnlyWhileValid checks the
// outbox rule for messages that failed: one carrying a secret (a provision
// code, a PIN reset code, a new PIN) keeps it while it is still valid, so
// that "Retry now" can send it, and is withdrawn and wiped the moment the
// secret dies: at the code's expiry, when it is spent or replaced, when
// the PIN changes, when the user is deleted. The message stays in the
// outbox saying who it was for, when it was queued and how often it was
// tried. Plain and sealed (encrypted at rest) stores alike.
func TestService_FailedMessageKeepsItsSecretOnlyWhileValid(t *testing.T) {
	const refused = "The mail server refused the recipient alice@example.org: 550 5.1.1 User unknown."
	type step func(t *testing.T, svc *core.Service, clock *storetest.Clock)
	lastMail := func(t *testing.T, svc *core.Service) uint64 {
		t.Helper()
		box, err := svc.Outbox()
		if err != nil || len(box) == 0 {
			t.Fatalf("outbox = %+v, %v", box, err)
		}
		return box[len(box)-1].ID
	}
	var (
		provisionMail = func(t *testing.T, svc *core.Service) uint64 {
			ic, err := svc.MailProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			return ic.MailID
		}
		pinResetCodeMail = func(t *testing.T, svc *core.Service) uint64 {
			if err := svc.RequestPINReset(agentAny, "alice"); err != nil {
				t.Fatal(err)
			}
			return lastMail(t, svc)
		}
		newPINMail = func(t *testing.T, svc *core.Service) uint64 {
			if _, err := svc.ResetPIN("alice", true); err != nil {
				t.Fatal(err)
			}
			return lastMail(t, svc)
		}
		failPermanently = func(t *testing.T, svc *core.Service, id uint64) int {
			if err := svc.MailFailed(id, refused, false); err != nil {
				t.Fatal(err)
			}
			return 1
		}
		failTemporarily = func(n int) func(t *testing.T, svc *core.Service, id uint64) int {
			return func(t *testing.T, svc *core.Service, id uint64) int {
				for range n {
					if err := svc.MailFailed(id, "Could not connect to the mail server.", true); err != nil {
						t.Fatal(err)
					}
				}
				return n
			}
		}
		sweepAfter = func(d time.Duration) step {
			return func(t *testing.T, svc *core.Service, clock *storetest.Clock) {
				clock.Advance(d)
				if _, err := svc.DueMail(); err != nil {
					t.Fatal(err)
				}
			}
		}
		do = func(f func(svc *core.Service) error) step {
			return func(t *testing.T, svc *core.Service, _ *storetest.Clock) {
				if err := f(svc); err != nil {
					t.Fatal(err)
				}
			}
		}
	)
	tests := []struct {
		name  string
		queue func(t *testing.T, svc *core.Service) uint64
		fail  func(t *testing.T, svc *core.Service, id uint64) int // returns the attempts made
		then  step
		// kept: the secret is still valid, so the message stays failed
		// with it and can be retried; else it is withdrawn and wiped.
		kept bool
	}{
		{"provision code still valid after a permanent failure", provisionMail, failPermanently, sweepAfter(5 * time.Minute), true},
		{"provision code expired after a permanent failure", provisionMail, failPermanently, sweepAfter(601 * time.Second), false},
		{"provision code expired after too many temporary failures", provisionMail, failTemporarily(core.MaxMailAttempts), sweepAfter(601 * time.Second), false},
		// Six temporary failures wait 16 minutes: the code dies first.
		{"provision code expired during the back-off", provisionMail, failTemporarily(6), sweepAfter(601 * time.Second), false},
		{"provision code replaced after a permanent failure", provisionMail, failPermanently,
			do(func(svc *core.Service) error { _, err := svc.CreateProvisionCode("alice"); return err }), false},
		{"PIN reset code still valid after a permanent failure", pinResetCodeMail, failPermanently, sweepAfter(5 * time.Minute), true},
		{"PIN reset code expired after a permanent failure", pinResetCodeMail, failPermanently, sweepAfter(601 * time.Second), false},
		{"PIN reset code replaced after a permanent failure", pinResetCodeMail, failPermanently,
			do(func(svc *core.Service) error { return svc.RequestPINReset(agentAny, "alice") }), false},
		{"PIN reset code spent by a wrong attempt after a permanent failure", pinResetCodeMail, failPermanently,
			do(func(svc *core.Service) error {
				if err := svc.RedeemPINReset(agentAny, "alice", "WRONGCODE"); core.ErrorCode(err) != core.CodeSession {
					return fmt.Errorf("a wrong PIN reset code: %v", err)
				}
				return nil
			}), false},
		{"new PIN still the user's a day after a permanent failure", newPINMail, failPermanently, sweepAfter(24 * time.Hour), true},
		{"new PIN reset again after a permanent failure", newPINMail, failPermanently,
			do(func(svc *core.Service) error { _, err := svc.ResetPIN("alice", false); return err }), false},
		{"new PIN changed in an edit after a permanent failure", newPINMail, failPermanently,
			do(func(svc *core.Service) error {
				_, err := svc.UpdateUser("alice", func(u *core.User) error { u.PIN = "8642"; return nil })
				return err
			}), false},
		{"new PIN changed through the admin API after a permanent failure", newPINMail, failPermanently,
			do(func(svc *core.Service) error {
				pin := "8642"
				errs, err := svc.UpdateUsers(core.Scope{Agent: "directory"}, []core.UserSpec{{Name: "alice", PIN: &pin}})
				if err == nil {
					err = errors.Join(errs...)
				}
				return err
			}), false},
		{"new PIN's user deleted after a permanent failure", newPINMail, failPermanently,
			do(func(svc *core.Service) error { return svc.DeleteUser("alice") }), false},
	}
	for _, sealed := range []bool{false, true} {
		open := storetest.MustOpen
		if sealed {
			open = storetest.MustOpenSealed
		}
		for _, tt := range tests {
			t.Run(map[bool]string{false: "plain/", true: "sealed/"}[sealed]+tt.name, func(t *testing.T) {
				clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
				svc := storetest.MustServiceOn(t, open(t), core.WithClock(clock))
				storetest.MustAddUser(t, svc, "alice", "1234")
				id := tt.queue(t, svc)
				queued, err := svc.OutMessage(id)
				if err != nil || queued.Code == "" && queued.Text == "" {
					t.Fatalf("queued message = %+v, %v", queued, err)
				}
				attempts := tt.fail(t, svc, id)
				tt.then(t, svc, clock)

				m, err := svc.OutMessage(id)
				if err != nil {
					t.Fatal(err)
				}
				if m.User != "alice" || m.To != "alice@example.org" || !m.Created.Equal(queued.Created) || m.Attempts != attempts {
					t.Errorf("who, when or how often is lost: %+v", m)
				}
				if tt.kept {
					if m.State != core.MailFailed || m.LastError != refused || m.Code != queued.Code || m.URL != queued.URL || m.Text != queued.Text {
						t.Fatalf("a failed message whose secret is valid = %+v, want it failed with its secret for Retry now", m)
					}
					if err := svc.RetryMail(id); err != nil {
						t.Fatalf("Retry now: %v", err)
					}
					if m, _ := svc.OutMessage(id); m.State != core.MailQueued {
						t.Fatalf("after Retry now: %s", m.State)
					}
					return
				}
				if m.Code != "" || m.URL != "" || m.Text != "" {
					t.Errorf("the dead secret is still stored: code %q, url %q, text %q", m.Code, m.URL, m.Text)
				}
				if m.State != core.MailWithdrawn || m.LastError != m.WithdrawnBecause() {
					t.Errorf("state %s, last error %q: want withdrawn: %s", m.State, m.LastError, m.WithdrawnBecause())
				}
				if err := svc.RetryMail(id); core.ErrorCode(err) != core.CodeConflict {
					t.Errorf("Retry now of a withdrawn message: %v", err)
				}
				if !logContains(t, svc, "Message for user: alice, destination: alice@example.org withdrawn: "+m.WithdrawnBecause()+".") {
					t.Error("the withdrawal is not logged")
				}
			})
		}
	}
}
