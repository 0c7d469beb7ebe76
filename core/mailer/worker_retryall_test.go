package mailer_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// TestWorker_RetryAllFailedAfterTheFix is the outbox against a relay that
// refuses every message for the same reason, over a real SMTP
// conversation on 127.0.0.1: a certificate that changed under its pin, a
// wrong SMTP password. The round marks every queued message failed (a
// permanent refusal, never retried on its own) and nothing reaches the
// relay. The admin fixes Mail Transport once and presses Retry all
// failed (core.Service.RetryFailedMail): one audit line, and the next
// round delivers every message, each provision code to its user.
func TestWorker_RetryAllFailedAfterTheFix(t *testing.T) {
	now := time.Now()
	// Both for nas.office.lan and signed by no authority: only a pin lets
	// either through.
	_, oldFP := officeCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	changedTLS, changedFP := officeCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	// A relay with a certificate this computer trusts (pool), that wants
	// a login.
	loginTLS, pool := newTLS(t)

	tests := []struct {
		name  string
		relay smtpcapture.Options
		// broken is the mail settings as they stand when the messages
		// fail; fix is what the admin changes in Mail Transport.
		broken func(ms *core.MailSettings)
		fix    func(t *testing.T, svc *core.Service)
		kind   error
	}{
		{
			name:  "relay certificate changed",
			relay: smtpcapture.Options{TLS: changedTLS},
			broken: func(ms *core.MailSettings) {
				ms.Security, ms.TLSFingerprint = core.MailSecurityStartTLS, oldFP
			},
			// Mail Transport's "Trust this certificate".
			fix:  func(t *testing.T, svc *core.Service) { trustRelay(t, svc, changedFP) },
			kind: mailer.ErrTLS,
		},
		{
			name:  "wrong SMTP password",
			relay: smtpcapture.Options{TLS: loginTLS, Username: "provisio", Password: "hunter2-secret"},
			broken: func(ms *core.MailSettings) {
				ms.Security, ms.Username, ms.Password = core.MailSecurityStartTLS, "provisio", "hunter1"
			},
			fix: func(t *testing.T, svc *core.Service) {
				if err := svc.SetSetting("smtp.password", "hunter2-secret"); err != nil {
					t.Fatal(err)
				}
			},
			kind: mailer.ErrAuth,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := newServer(t, tt.relay)
			svc := storetest.MustService(t)
			MustAddUser(t, svc, to)
			if _, err := svc.AddUser(core.User{Name: "carol", Email: "carol@example.org", MobileAllowed: true, PIN: "2468"}); err != nil {
				t.Fatal(err)
			}
			ms := mailTo(relay.Host(), relay.Port())
			tt.broken(&ms)
			MustSetMail(t, svc, ms)
			w := &mailer.Worker{Service: svc, QRPNG: qrPNG, TLSConfig: &tls.Config{RootCAs: pool}}

			codes := map[string]string{} // address → the code mailed there
			for _, name := range []string{"bob", "carol"} {
				ic, err := svc.MailProvisionCode(name)
				if err != nil {
					t.Fatal(err)
				}
				codes[ic.MailTo] = ic.Code
			}
			if len(codes) != 2 {
				t.Fatalf("codes mailed to %v, want bob's and carol's", codes)
			}
			MustQueue(t, svc, "helpdesk@example.org", "Provisio test message")

			flushErr := w.Flush(t.Context())
			if !errors.Is(flushErr, tt.kind) || mailer.Temporary(flushErr) {
				t.Fatalf("Flush = %v, want a permanent %v", flushErr, tt.kind)
			}
			for _, m := range MustOutbox(t, svc) {
				if m.State != core.MailFailed || m.Attempts != 1 {
					t.Fatalf("after the refusal: %s, want every message failed after 1 attempt", m)
				}
			}
			// Failed is failed: the next round leaves them be.
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("Flush with nothing due: %v", err)
			}
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("%d messages reached the relay before the fix", n)
			}

			tt.fix(t, svc)
			n, err := svc.RetryFailedMail()
			if err != nil || n != 3 {
				t.Fatalf("RetryFailedMail = %d, %v; want 3", n, err)
			}
			if got := logLines(t, svc, "queued again"); len(got) != 1 || got[0] != "3 failed messages queued again." {
				t.Errorf("log lines %q, want one: 3 failed messages queued again.", got)
			}
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("Flush after the fix: %v (%s)", err, mailer.Describe(err))
			}
			msgs := relay.Messages()
			if len(msgs) != 3 {
				t.Fatalf("the relay has %d messages, want 3", len(msgs))
			}
			for _, c := range msgs {
				if code, ok := codes[c.To[0]]; ok && !strings.Contains(string(c.Data), code) {
					t.Errorf("the message to %s lacks its code", c.To[0])
				}
			}
			for _, m := range MustOutbox(t, svc) {
				if m.State != core.MailSent || m.Attempts != 2 || m.Code != "" {
					t.Errorf("after the retry: %s (attempts %d), want sent on the second attempt, code wiped", m, m.Attempts)
				}
			}
		})
	}
}
