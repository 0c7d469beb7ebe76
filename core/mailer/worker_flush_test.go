package mailer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

func TestWorker_Flush_Refusals(t *testing.T) {
	serverTLS, pool := newTLS(t)
	const rejected = "nobody@example.org"
	tests := []struct {
		name      string
		password  string
		to        string
		state     core.MailState
		lastError string
		kind      error
	}{
		{"delivered", "s3cret", to, core.MailSent, "", nil},
		{"wrong password", "guess", to, core.MailFailed, "The mail server refused the user name or password.", mailer.ErrAuth},
		{"refused recipient", "s3cret", rejected, core.MailFailed, "The mail server refused the recipient nobody@example.org: 550 5.1.1 User unknown.", mailer.ErrRecipient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, smtpcapture.Options{TLS: serverTLS, Username: "alice", Password: "s3cret", RejectRecipients: []string{rejected}})
			svc := storetest.MustService(t)
			ms := mailTo(s.Host(), s.Port())
			ms.Security, ms.Username, ms.Password = core.MailSecurityStartTLS, "alice", tt.password
			MustSetMail(t, svc, ms)
			MustQueue(t, svc, tt.to, "Hello")

			w := &mailer.Worker{Service: svc, TLSConfig: &tls.Config{RootCAs: pool}}
			err := w.Flush(t.Context())
			if tt.kind == nil && err != nil || tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("Flush = %v, want kind %v", err, tt.kind)
			}
			m := MustOnlyMessage(t, svc)
			if m.State != tt.state || m.Attempts != 1 || m.LastError != tt.lastError {
				t.Errorf("outbox: state %s, attempts %d, last error %q; want %s, 1, %q", m.State, m.Attempts, m.LastError, tt.state, tt.lastError)
			}
			if msgs := s.Messages(); tt.state == core.MailSent && (len(msgs) != 1 || !msgs[0].TLS || msgs[0].Username != "alice") {
				t.Errorf("captured %+v, want one message over TLS from alice", msgs)
			}
			if lines := logLines(t, svc, tt.password); len(lines) != 0 {
				t.Errorf("the audit log shows the password: %q", lines)
			}
		})
	}
}

func TestWorker_Flush_Order(t *testing.T) {
	tests := []struct {
		name   string
		server func(t *testing.T) (host string, port int)
		// states of the three queued messages after one Flush
		want  []core.MailState
		sent  int
		error string
	}{
		{
			name: "a refused recipient does not hold up the others",
			server: func(t *testing.T) (string, int) {
				s := newServer(t, smtpcapture.Options{RejectRecipients: []string{"second@example.org"}})
				return s.Host(), s.Port()
			},
			want:  []core.MailState{core.MailSent, core.MailFailed, core.MailSent},
			sent:  2,
			error: "The mail server refused the recipient second@example.org: 550 5.1.1 User unknown.",
		},
		{
			name:   "a server that is down fails every message alike",
			server: closedPort,
			want:   []core.MailState{core.MailQueued, core.MailQueued, core.MailQueued},
			error:  "~Could not connect to the mail server",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := tt.server(t)
			svc := storetest.MustService(t)
			MustSetMail(t, svc, mailTo(host, port))
			for _, who := range []string{"first", "second", "third"} {
				MustQueue(t, svc, who+"@example.org", who)
			}
			err := (&mailer.Worker{Service: svc}).Flush(t.Context())
			if got := mailer.Describe(err); tt.error != "" && !strings.HasPrefix(got, strings.TrimPrefix(tt.error, "~")) {
				t.Errorf("Flush error %q, want %q", got, tt.error)
			}
			box := MustOutbox(t, svc)
			var states []core.MailState
			sent := 0
			for _, m := range box {
				states = append(states, m.State)
				if m.State == core.MailSent {
					sent++
				}
				if m.Attempts != 1 {
					t.Errorf("message %s: %d attempts, want 1", m, m.Attempts)
				}
			}
			if fmt.Sprint(states) != fmt.Sprint(tt.want) || sent != tt.sent {
				t.Errorf("states %v, want %v", states, tt.want)
			}
		})
	}
}

func TestWorker_Flush_CutShort(t *testing.T) {
	svc := storetest.MustService(t)
	MustSetMail(t, svc, mailTo(silentServer(t)))
	MustQueue(t, svc, to, "Hello")

	// The caller gives up before the server's Timeout: that says nothing
	// about the message, so it keeps all its attempts.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := (&mailer.Worker{Service: svc}).Flush(ctx); err == nil {
		t.Fatal("Flush succeeded against a silent server")
	}
	if m := MustOnlyMessage(t, svc); m.State != core.MailQueued || m.Attempts != 0 || m.LastError != "" {
		t.Errorf("outbox: %+v, want queued and untouched", m)
	}
}
