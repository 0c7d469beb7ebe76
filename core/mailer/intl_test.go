package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
)

// TestSend_InternationalAddresses: Provisio takes a user's address with
// letters beyond ASCII (core.ValidateEmail follows RFC 6532), and SMTP
// without SMTPUTF8 carries ASCII addresses only. A domain name goes out
// in its ASCII form (xn--), which every server takes, in the envelope and
// the headers alike; letters before the @ need the server's SMTPUTF8,
// asked for in MAIL FROM, and without it the message fails for good with
// a sentence, rather than going out in a form the server must refuse.
func TestSend_InternationalAddresses(t *testing.T) {
	tests := []struct {
		name, to   string
		from       string
		smtputf8   bool
		envelopeTo string
		envelopeFr string
		utf8       bool   // the session asked for SMTPUTF8
		want       string // the sentence when it fails
		kind       error
	}{
		{name: "domain name", to: "bob@exämple.org", envelopeTo: "bob@xn--exmple-cua.org", envelopeFr: from},
		{name: "domain name, server with SMTPUTF8", to: "bob@bücher.example", smtputf8: true, envelopeTo: "bob@xn--bcher-kva.example", envelopeFr: from},
		{name: "sender's domain name", to: to, from: "provisio@exämple.org", envelopeTo: to, envelopeFr: "provisio@xn--exmple-cua.org"},
		{name: "letters before the @, server with SMTPUTF8", to: "zoë@example.org", smtputf8: true, envelopeTo: "zoë@example.org", envelopeFr: from, utf8: true},
		{
			name: "letters before the @, server without SMTPUTF8", to: "zoë@example.org",
			want: "The mail server cannot take the address zoë@example.org: it does not accept letters beyond plain ASCII before the @ (it does not offer SMTPUTF8).",
			kind: mailer.ErrRecipient,
		},
		{
			name: "sender with letters before the @, server without SMTPUTF8", to: to, from: "prüfung@example.org",
			want: "The mail server cannot take the sender address prüfung@example.org: it does not accept letters beyond plain ASCII before the @ (it does not offer SMTPUTF8).",
			kind: mailer.ErrSender,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, smtpcapture.Options{SMTPUTF8: tt.smtputf8})
			cfg := configFor(s, mailer.SecurityNone)
			if tt.from != "" {
				cfg.From = tt.from
			}
			m := mailer.Message{To: tt.to, ToName: "Zoë", Subject: "Hello", Text: "Hello"}
			err := mailer.Send(context.Background(), cfg, m)
			if tt.want != "" {
				if got := mailer.Describe(err); got != tt.want {
					t.Errorf("Describe = %q, want %q", got, tt.want)
				}
				if !errors.Is(err, tt.kind) || mailer.Temporary(err) {
					t.Errorf("err = %v, want a permanent %v", err, tt.kind)
				}
				if n := len(s.Messages()); n != 0 {
					t.Errorf("the server received %d messages", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v (%s)", err, mailer.Describe(err))
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("the server received %d messages", len(msgs))
			}
			got := msgs[0]
			if got.From != tt.envelopeFr || len(got.To) != 1 || got.To[0] != tt.envelopeTo || got.UTF8 != tt.utf8 {
				t.Errorf("envelope from %q to %q (SMTPUTF8 %v), want %q to %q (%v)", got.From, got.To, got.UTF8, tt.envelopeFr, tt.envelopeTo, tt.utf8)
			}
			p := parse(t, got.Data)
			if tl, err := p.header.AddressList("To"); err != nil || len(tl) != 1 || tl[0].Address != tt.envelopeTo {
				t.Errorf("To header %v (%v), want %s", tl, err, tt.envelopeTo)
			}
			if fl, err := p.header.AddressList("From"); err != nil || len(fl) != 1 || fl[0].Address != tt.envelopeFr {
				t.Errorf("From header %v (%v), want %s", fl, err, tt.envelopeFr)
			}
			if !tt.utf8 {
				// Without SMTPUTF8 the message is 7-bit, Message-ID too.
				for i, b := range got.Data {
					if b >= 0x80 {
						t.Fatalf("byte %d is not 7-bit: %q", i, got.Data[max(0, i-30):min(len(got.Data), i+30)])
					}
				}
			}
			if id := p.header.Get("Message-Id"); !bytes.HasSuffix([]byte(id), []byte("@"+domain(tt.envelopeFr)+">")) {
				t.Errorf("Message-ID %q, want one at %s", id, domain(tt.envelopeFr))
			}
		})
	}
}

func domain(addr string) string {
	_, d, _ := bytes.Cut([]byte(addr), []byte("@"))
	return string(d)
}
