package mailer_test

import (
	"bytes"
	"errors"
	"log"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// trustRelay pins fp the way Mail Transport's "Trust this certificate"
// does: smtp.tls_fingerprint alone, through the settings use case, so the
// change is validated and audit-logged as the admin's would be.
func trustRelay(tb testing.TB, svc *core.Service, fp string) {
	tb.Helper()
	set := svc.Settings()
	if err := set.SetValues(map[string]string{"smtp.tls_fingerprint": fp}); err != nil {
		tb.Fatalf("trust %s: %v", fp, err)
	}
	if err := svc.SetSettings(set, "Mail transport"); err != nil {
		tb.Fatalf("trust %s: %v", fp, err)
	}
}

// TestWorker_PinnedRelay is the outbox against an office relay with its
// own certificate, trusted by its fingerprint, over a real SMTP
// conversation on 127.0.0.1. With the pin matching, a queued provision
// message goes out over TLS and is marked sent. When the relay restarts
// with another certificate, the next message is refused before anything
// is sent: it is marked failed (a changed certificate is not worth an
// automatic retry) with the sentence naming both fingerprints, keeps its
// code for "Retry now", and the code is in no error, sentence or log
// line. Once the admin trusts the new certificate, Retry now delivers it.
func TestWorker_PinnedRelay(t *testing.T) {
	tests := []struct {
		name     string
		security string
		implicit bool
	}{
		{name: "STARTTLS", security: core.MailSecurityStartTLS},
		{name: "implicit TLS", security: core.MailSecurityTLS, implicit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			// Both for nas.office.lan, not the 127.0.0.1 dialled, and
			// signed by no authority: only the pin lets either through.
			oldTLS, oldFP := officeCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour))
			newTLS, newFP := officeCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour))

			relay := newServer(t, smtpcapture.Options{TLS: oldTLS, ImplicitTLS: tt.implicit})
			svc := storetest.MustService(t)
			MustAddUser(t, svc, to)
			ms := mailTo(relay.Host(), relay.Port())
			ms.Security = tt.security
			MustSetMail(t, svc, ms)
			trustRelay(t, svc, oldFP)
			var errLog bytes.Buffer
			// TLSConfig nil: this computer's authorities, as in the app.
			w := &mailer.Worker{Service: svc, QRPNG: qrPNG, ErrorLog: log.New(&errLog, "", 0)}

			// (a) The pinned certificate: delivered and marked sent.
			first, err := svc.MailProvisionCode("bob")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("Flush to the pinned relay: %v (%s)", err, mailer.Describe(err))
			}
			msgs := relay.Messages()
			if len(msgs) != 1 || !msgs[0].TLS || !strings.Contains(string(msgs[0].Data), first.Code) {
				t.Fatalf("the relay has %d messages (want 1, over TLS, carrying the code)", len(msgs))
			}
			if m := MustOnlyMessage(t, svc); m.State != core.MailSent || m.Attempts != 1 || m.LastError != "" {
				t.Fatalf("outbox after delivery: %+v", m)
			}

			// (b) The relay restarts on the same address with another
			// certificate.
			addr := relay.Addr()
			if err := relay.Close(); err != nil {
				t.Fatal(err)
			}
			relay = MustListenOn(t, smtpcapture.Options{Addr: addr, TLS: newTLS, ImplicitTLS: tt.implicit})
			second, err := svc.MailProvisionCode("bob")
			if err != nil {
				t.Fatal(err)
			}
			flushErr := w.Flush(t.Context())
			if !errors.Is(flushErr, mailer.ErrTLS) || mailer.Temporary(flushErr) {
				t.Fatalf("Flush = %v, want a permanent ErrTLS", flushErr)
			}
			want := "The mail server's TLS certificate has changed: it is not the one trusted in the mail settings (SHA-256 " + oldFP +
				") but one with the SHA-256 fingerprint " + newFP + "."
			sentence := mailer.Describe(flushErr)
			checkPlainWords(t, "Describe", sentence)
			if !strings.HasPrefix(sentence, want) {
				t.Errorf("Describe = %q, want it to start %q", sentence, want)
			}
			if mc, ok := core.RefusedMailCertificate(flushErr); !ok || mc.Fingerprint != newFP || mc.Pinned != oldFP {
				t.Errorf("refused certificate %+v (%v), want %s pinned %s", mc, ok, newFP, oldFP)
			}
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("%d messages went to the relay with the changed certificate", n)
			}
			box := MustOutbox(t, svc)
			if len(box) != 2 {
				t.Fatalf("outbox holds %d messages, want 2: %v", len(box), box)
			}
			m := box[1]
			if m.State != core.MailFailed || m.Attempts != 1 || m.LastError != sentence {
				t.Errorf("outbox after the refusal: %+v, want failed after 1 attempt with %q", m, sentence)
			}
			// Nothing lost: the code is kept for Retry now.
			if m.Code != second.Code || m.URL != second.URL {
				t.Errorf("the failed message lost its code: %+v", m)
			}
			failed := logLines(t, svc, "failed: "+want)
			if len(failed) != 1 {
				t.Errorf("the audit log has %d lines with the refusal, want 1", len(failed))
			}
			for what, s := range map[string]string{
				"Flush's error": flushErr.Error(), "Describe": sentence, "LastError": m.LastError,
				"ErrorLog": errLog.String(), "the audit log": strings.Join(logLines(t, svc, ""), "\n"),
			} {
				if strings.Contains(s, second.Code) || strings.Contains(s, second.URL) {
					t.Errorf("%s shows the code or its URL: %q", what, s)
				}
			}
			// Failed is failed: later rounds do not try the changed
			// certificate again on their own.
			if err := w.Flush(t.Context()); err != nil {
				t.Errorf("Flush with nothing due: %v", err)
			}
			if n := len(relay.Messages()); n != 0 {
				t.Fatalf("%d messages went to the relay with the changed certificate", n)
			}

			// (c) The admin checks the new fingerprint, trusts it and
			// retries the message.
			trustRelay(t, svc, newFP)
			if err := svc.RetryMail(m.ID); err != nil {
				t.Fatalf("Retry now: %v", err)
			}
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("Flush after trusting the new certificate: %v (%s)", err, mailer.Describe(err))
			}
			msgs = relay.Messages()
			if len(msgs) != 1 || !msgs[0].TLS || !strings.Contains(string(msgs[0].Data), second.Code) {
				t.Fatalf("the relay has %d messages (want 1, over TLS, carrying the second code)", len(msgs))
			}
			if m := MustOutbox(t, svc)[1]; m.State != core.MailSent || m.Attempts != 2 || m.LastError != "" || m.Code != "" {
				t.Errorf("outbox after the retry: %+v", m)
			}
			if _, err := svc.Provision("127.0.0.1", "bob", second.Code, ""); err != nil {
				t.Errorf("the retried code does not provision: %v", err)
			}
		})
	}
}
