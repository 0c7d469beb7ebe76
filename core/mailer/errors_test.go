package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"

	"provisio/core"
)

func reply(code int, ec smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}

func TestClassify(t *testing.T) {
	f := failure{addr: "smtp.example.org:587", from: "provisio@example.org", rcpt: "bob@example.org"}
	at := func(p phase) failure { g := f; g.phase = p; return g }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}

	tests := []struct {
		name      string
		f         failure
		err       error
		want      string
		kind      error
		temporary bool
	}{
		{"connection refused", at(phaseConnect), refused,
			"Could not connect to the mail server smtp.example.org:587: connection refused.", ErrConnect, true},
		{"no such host", at(phaseConnect), &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "smtp.example.org", IsNotFound: true}},
			"Could not connect to the mail server smtp.example.org:587: there is no such host.", ErrConnect, true},
		{"timeout", at(phaseHello), fmt.Errorf("read: %w", os.ErrDeadlineExceeded),
			"The mail server smtp.example.org:587 did not answer in time.", ErrTimeout, true},
		{"dropped", at(phaseMail), io.EOF,
			"The mail server smtp.example.org:587 closed the connection unexpectedly.", ErrConnect, true},
		{"unknown authority", at(phaseHello), x509.UnknownAuthorityError{},
			"The mail server's TLS certificate was not accepted: it is not signed by an authority this computer trusts (a self-signed certificate, say); add the certificate, or the authority that signed it, to this computer's trusted certificates, or give the mail server a certificate from a public authority.", ErrTLS, false},
		{"expired", at(phaseConnect), x509.CertificateInvalidError{Reason: x509.Expired},
			"The mail server's TLS certificate was not accepted: it has expired or is not valid yet.", ErrTLS, false},
		{"no STARTTLS", at(phaseStartTLS), errors.New("smtp: server doesn't support STARTTLS"),
			"The mail server smtp.example.org:587 does not offer STARTTLS: set Security to tls if it takes TLS from the start (usually port 465); none sends the mail, and any password, unencrypted, so choose it only for a relay on a network you trust.", ErrTLS, false},
		{"greeting 554", at(phaseHello), reply(554, smtp.EnhancedCode{5, 7, 1}, "No SMTP service here"),
			"The mail server smtp.example.org:587 refused the connection: 554 5.7.1 No SMTP service here.", ErrServer, false},
		{"421 anywhere", at(phaseRcpt), reply(421, smtp.EnhancedCode{4, 3, 2}, "Shutting down"),
			"The mail server smtp.example.org:587 is not available just now: 421 4.3.2 Shutting down.", ErrServer, true},
		{"wrong password", at(phaseAuth), reply(535, smtp.EnhancedCode{5, 7, 8}, "Authentication credentials invalid"),
			"The mail server refused the user name or password.", ErrAuth, false},
		{"auth try later", at(phaseAuth), reply(454, smtp.EnhancedCode{4, 7, 0}, "Temporary authentication failure"),
			"The mail server could not check the user name and password just now: 454 4.7.0 Temporary authentication failure.", ErrAuth, true},
		{"auth needs TLS", at(phaseAuth), reply(538, smtp.EnhancedCode{5, 7, 11}, "Encryption required"),
			"The mail server wants an encrypted connection before it accepts a password; set Security to starttls or tls.", ErrAuth, false},
		{"auth required", at(phaseMail), reply(530, smtp.EnhancedCode{5, 7, 0}, "Authentication required"),
			"The mail server wants a user name and password before it accepts mail; enter them in the mail settings.", ErrAuth, false},
		{"STARTTLS required", at(phaseMail), reply(530, smtp.EnhancedCode{5, 7, 0}, "Must issue a STARTTLS command first"),
			"The mail server takes mail only over an encrypted connection; set Security to starttls.", ErrTLS, false},
		{"sender refused", at(phaseMail), reply(553, smtp.EnhancedCode{5, 7, 1}, "Sender address rejected: not owned by user"),
			"The mail server refused the sender address provisio@example.org: 553 5.7.1 Sender address rejected: not owned by user.", ErrSender, false},
		{"recipient refused", at(phaseRcpt), reply(550, smtp.EnhancedCode{5, 1, 1}, "User unknown."),
			"The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.", ErrRecipient, false},
		{"greylisted", at(phaseRcpt), reply(450, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again"),
			"The mail server would not take the mail for bob@example.org just now: 450 4.7.1 Greylisted, try again.", ErrRecipient, true},
		{"no enhanced code", at(phaseData), reply(554, smtp.EnhancedCodeNotSet, "Message looks like spam"),
			"The mail server refused the message to bob@example.org: 554 Message looks like spam.", ErrRejected, false},
		{"too large", at(phaseData), reply(552, smtp.EnhancedCode{5, 3, 4}, "Message too big"),
			"The mail server refused the message to bob@example.org as too large: 552 5.3.4 Message too big.", ErrRejected, false},
		// The answer to MAIL FROM ... SIZE=n from a server that did not
		// say its limit: about the message, not the sender.
		{"too large at MAIL", at(phaseMail), reply(552, smtp.EnhancedCode{5, 3, 4}, "Message size exceeds fixed limit"),
			"The mail server refused the message to bob@example.org as too large: 552 5.3.4 Message size exceeds fixed limit.", ErrRejected, false},
		{"sender put off", at(phaseMail), reply(451, smtp.EnhancedCode{4, 3, 0}, "Try again later"),
			"The mail server would not take mail from provisio@example.org just now: 451 4.3.0 Try again later.", ErrSender, true},
		{"other", at(phaseData), errors.New("something odd"),
			"Could not send mail through the mail server smtp.example.org:587: something odd.", ErrServer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(context.Background(), tt.f, tt.err)
			if err.Message != tt.want {
				t.Errorf("Message =\n %q\nwant\n %q", err.Message, tt.want)
			}
			if err.Code != CodeMail {
				t.Errorf("Code = %q, want %q", err.Code, CodeMail)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(err, %v) = false", tt.kind)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the cause %v is not wrapped", tt.err)
			}
			if got := Temporary(err); got != tt.temporary {
				t.Errorf("Temporary = %v, want %v", got, tt.temporary)
			}
			if got := Describe(err); got != tt.want {
				t.Errorf("Describe = %q, want the Message", got)
			}
		})
	}
}

func TestClassify_Context(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), 0)
	defer cancel2()
	// Our own deadline closes the connection, so the I/O error a step sees
	// is "use of closed network connection"; the context must win.
	closed := fmt.Errorf("write: %w", net.ErrClosed)

	if err := classify(canceled, failure{phase: phaseData}, closed); !errors.Is(err, context.Canceled) || err.Message != "Sending the mail was cancelled." {
		t.Errorf("cancelled: %v (%q)", err, err.Message)
	}
	if err := classify(expired, failure{phase: phaseData, addr: "h:25"}, closed); !errors.Is(err, ErrTimeout) || err.Message != "The mail server h:25 did not answer in time." {
		t.Errorf("expired: %v (%q)", err, err.Message)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"core error", core.FieldError("smtp.host", "Enter the mail server's host name."), "Enter the mail server's host name."},
		{"raw smtp reply", reply(535, smtp.EnhancedCode{5, 7, 8}, "nope"), "The mail server answered: 535 5.7.8 nope."},
		{"raw dial error", fmt.Errorf("x: %w", syscall.ECONNRESET), "The mail server closed the connection unexpectedly."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.err); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemporary_Foreign(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{reply(451, smtp.EnhancedCode{4, 3, 0}, "local error"), true},
		{reply(550, smtp.EnhancedCode{5, 1, 1}, "unknown"), false},
		{fmt.Errorf("queued: %w", ErrConnect), true},
		{context.Canceled, true},
		{invalid("smtp.host", "x"), false},
	}
	for _, tt := range tests {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestConfig_normalize(t *testing.T) {
	base := Config{Host: " smtp.example.org ", From: "provisio@example.org"}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }

	tests := []struct {
		name     string
		cfg      Config
		wantAddr string
		field    string // "" = valid
	}{
		{"starttls default", base, "smtp.example.org:587", ""},
		{"none", with(func(c *Config) { c.Security = "none" }), "smtp.example.org:25", ""},
		{"tls upper case", with(func(c *Config) { c.Security = " TLS " }), "smtp.example.org:465", ""},
		{"explicit port", with(func(c *Config) { c.Port = 2525 }), "smtp.example.org:2525", ""},
		{"ipv6", with(func(c *Config) { c.Host = "::1"; c.Port = 25 }), "[::1]:25", ""},
		{"no host", with(func(c *Config) { c.Host = " " }), "", "smtp.host"},
		{"bad security", with(func(c *Config) { c.Security = "ssl" }), "", "smtp.security"},
		{"bad port", with(func(c *Config) { c.Port = 70000 }), "", "smtp.port"},
		{"no from", with(func(c *Config) { c.From = "" }), "", "smtp.from"},
		{"bad from", with(func(c *Config) { c.From = "Provisio <p@example.org>" }), "", "smtp.from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.normalize()
			if tt.field != "" {
				e, ok := errors.AsType[*core.Error](err)
				if !ok || e.Field != tt.field || e.Code != core.CodeInvalid || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %#v, want invalid %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Addr() != tt.wantAddr {
				t.Errorf("Addr = %q, want %q", got.Addr(), tt.wantAddr)
			}
			if got.Timeout != DefaultTimeout {
				t.Errorf("Timeout = %v, want the default", got.Timeout)
			}
		})
	}
}

func TestConfig_tlsConfig(t *testing.T) {
	pool := x509.NewCertPool()
	c := Config{Host: "smtp.example.org"}
	c.TLSConfig = nil
	if got := c.tlsConfig(); got.ServerName != "smtp.example.org" || got.MinVersion == 0 {
		t.Errorf("nil TLSConfig: %+v", got)
	}
	c.TLSConfig = &tls.Config{RootCAs: pool}
	got := c.tlsConfig()
	if got.RootCAs != pool || got.ServerName != "smtp.example.org" {
		t.Errorf("RootCAs or ServerName lost: %+v", got)
	}
	if c.TLSConfig.ServerName != "" {
		t.Error("the caller's TLSConfig was modified")
	}
}
