package mailer_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	return addr.IP.String(), addr.Port
}

// silentServer accepts connections and never says a word, like a
// firewall that lets SYNs through to a hung process.
func silentServer(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	addr := l.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

func TestSend_Errors(t *testing.T) {
	serverTLS, pool := newTLS(t)
	_, otherPool := newTLS(t)
	login := smtpcapture.Options{TLS: serverTLS, Username: "alice", Password: "s3cret"}
	fp := core.CertFingerprint(serverTLS.Certificates[0].Certificate[0])
	const trustHint = "Its SHA-256 fingerprint is {fp}; once you have checked that this is the mail server's certificate, " +
		"you can trust it instead (Mail Transport, or provisio settings set smtp.tls_fingerprint)."

	tests := []struct {
		name      string
		opt       *smtpcapture.Options // nil: no capture server
		cfg       func(t *testing.T, c *mailer.Config)
		ctx       func() context.Context
		want      string // the whole sentence, or a part of it after "~"; {fp} is serverTLS's fingerprint
		kind      error
		temporary bool
		cert      bool // the error carries serverTLS's certificate as data
	}{
		{
			name: "wrong password",
			opt:  &login,
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Username, c.Password = "alice", "wrong" },
			want: "The mail server refused the user name or password.",
			kind: mailer.ErrAuth,
		},
		{
			name: "login required but none given",
			opt:  &login,
			want: "The mail server wants a user name and password before it accepts mail; enter them in the mail settings.",
			kind: mailer.ErrAuth,
		},
		{
			name: "login given but not offered",
			opt:  &smtpcapture.Options{TLS: serverTLS},
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Username, c.Password = "alice", "s3cret" },
			want: "~does not offer a login here",
			kind: mailer.ErrAuth,
		},
		{
			name: "refused recipient",
			opt:  &smtpcapture.Options{RejectRecipients: []string{"BOB@example.org"}},
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Security = mailer.SecurityNone },
			want: "The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.",
			kind: mailer.ErrRecipient,
		},
		{
			name: "untrusted certificate, STARTTLS",
			opt:  &smtpcapture.Options{TLS: serverTLS},
			cfg:  func(_ *testing.T, c *mailer.Config) { c.TLSConfig = &tls.Config{RootCAs: otherPool} },
			want: "The mail server's TLS certificate was not accepted: it is not signed by an authority this computer trusts (a self-signed certificate, say); add the certificate, or the authority that signed it, to this computer's trusted certificates, or give the mail server a certificate from a public authority. " + trustHint,
			kind: mailer.ErrTLS,
			cert: true,
		},
		{
			name: "untrusted certificate, implicit TLS",
			opt:  &smtpcapture.Options{TLS: serverTLS, ImplicitTLS: true},
			cfg: func(_ *testing.T, c *mailer.Config) {
				c.Security = mailer.SecurityTLS
				c.TLSConfig = &tls.Config{RootCAs: otherPool}
			},
			want: "The mail server's TLS certificate was not accepted: it is not signed by an authority this computer trusts (a self-signed certificate, say); add the certificate, or the authority that signed it, to this computer's trusted certificates, or give the mail server a certificate from a public authority. " + trustHint,
			kind: mailer.ErrTLS,
			cert: true,
		},
		{
			name: "certificate for another name",
			opt:  &smtpcapture.Options{TLS: serverTLS},
			cfg: func(_ *testing.T, c *mailer.Config) {
				c.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "mail.example.org"}
			},
			want: "The mail server's TLS certificate was not accepted: it is for localhost, 127.0.0.1, ::1, not mail.example.org; enter in Server a name it is for. " + trustHint,
			kind: mailer.ErrTLS,
			cert: true,
		},
		{
			name: "STARTTLS not offered",
			opt:  &smtpcapture.Options{},
			want: "~does not offer STARTTLS: set Security to tls if it takes TLS from the start (usually port 465); none sends the mail, and any password, unencrypted, so choose it only for a relay on a network you trust.",
			kind: mailer.ErrTLS,
		},
		{
			// Postfix with smtpd_tls_security_level = encrypt: the fix is
			// the Security setting, not a user name.
			name: "STARTTLS required, Security none",
			opt:  &smtpcapture.Options{TLS: serverTLS, RequireTLS: true},
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Security = mailer.SecurityNone },
			want: "The mail server takes mail only over an encrypted connection; set Security to starttls.",
			kind: mailer.ErrTLS,
		},
		{
			name: "implicit TLS against a plain server",
			opt:  &smtpcapture.Options{},
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Security = mailer.SecurityTLS },
			want: "~did not answer with TLS",
			kind: mailer.ErrTLS,
		},
		{
			name: "connection refused",
			cfg: func(t *testing.T, c *mailer.Config) {
				c.Host, c.Port = closedPort(t)
			},
			want:      "~: connection refused.",
			kind:      mailer.ErrConnect,
			temporary: true,
		},
		{
			name: "no answer",
			cfg: func(t *testing.T, c *mailer.Config) {
				c.Host, c.Port = silentServer(t)
				c.Timeout = 300 * time.Millisecond
			},
			want:      "~did not answer in time.",
			kind:      mailer.ErrTimeout,
			temporary: true,
		},
		{
			name: "cancelled",
			opt:  &smtpcapture.Options{},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want:      "Sending the mail was cancelled.",
			kind:      context.Canceled,
			temporary: true,
		},
		{
			name: "no host",
			cfg:  func(_ *testing.T, c *mailer.Config) { c.Host = "" },
			want: "Enter the mail server's host name.",
			kind: mailer.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mailer.Config{Host: "127.0.0.1", Port: 1, From: from, Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: pool}}
			var s *smtpcapture.Server
			if tt.opt != nil {
				s = newServer(t, *tt.opt)
				cfg.Port = s.Port()
			}
			if tt.cfg != nil {
				tt.cfg(t, &cfg)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}

			err := mailer.Send(ctx, cfg, mailer.TestMessage(cfg, to))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			got := mailer.Describe(err)
			checkPlainWords(t, "Describe", got)
			tt.want = strings.ReplaceAll(tt.want, "{fp}", fp)
			if want, ok := strings.CutPrefix(tt.want, "~"); ok {
				if !strings.Contains(got, want) {
					t.Errorf("Describe = %q, want it to contain %q", got, want)
				}
			} else if got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if mc, ok := core.RefusedMailCertificate(err); ok != tt.cert || ok && (mc.Fingerprint != fp || mc.Pinned != "") {
				t.Errorf("refused certificate %+v, %v; want it: %v", mc, ok, tt.cert)
			}
			if mailer.Temporary(err) != tt.temporary {
				t.Errorf("Temporary = %v, want %v", mailer.Temporary(err), tt.temporary)
			}
			if _, ok := errors.AsType[*core.Error](err); !ok {
				t.Errorf("%T is not a *core.Error", err)
			}
			if s != nil && len(s.Messages()) != 0 {
				t.Errorf("the server captured %d messages", len(s.Messages()))
			}
		})
	}
}

func TestSend_ConnectionRefusedSentence(t *testing.T) {
	host, port := closedPort(t)
	cfg := mailer.Config{Host: host, Port: port, Security: mailer.SecurityStartTLS, From: from}
	err := mailer.Send(context.Background(), cfg, mailer.TestMessage(cfg, to))
	want := fmt.Sprintf("Could not connect to the mail server 127.0.0.1:%d: connection refused.", port)
	if got := mailer.Describe(err); got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if !mailer.Temporary(err) {
		t.Error("Temporary = false for a refused connection")
	}
}
