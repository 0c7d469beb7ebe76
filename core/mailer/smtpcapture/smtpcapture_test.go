package smtpcapture_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"provisio/core/mailer/smtpcapture"
)

func newServer(t *testing.T, opt smtpcapture.Options) *smtpcapture.Server {
	t.Helper()
	s, err := smtpcapture.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// sendPlain delivers without TLS; smtp.SendMail insists on STARTTLS.
func sendPlain(addr, to string, n int) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("a@example.org", []string{to}, strings.NewReader(body(n))); err != nil {
		return err
	}
	return c.Quit()
}

func body(n int) string {
	return fmt.Sprintf("Subject: test %d\r\n\r\nHello %d.\r\n", n, n)
}

func TestNew_CloseAtOnce(t *testing.T) {
	// Close before the serving goroutine has run must not hang.
	for range 50 {
		s, err := smtpcapture.New(smtpcapture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestNew_Errors(t *testing.T) {
	if _, err := smtpcapture.New(smtpcapture.Options{ImplicitTLS: true}); err == nil {
		t.Error("ImplicitTLS without TLS was accepted")
	}
	s := newServer(t, smtpcapture.Options{})
	if _, err := smtpcapture.New(smtpcapture.Options{Addr: s.Addr()}); err == nil {
		t.Error("a port in use was accepted")
	}
}

func TestServer_Addr(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	if s.Host() != "127.0.0.1" || s.Port() == 0 || s.Addr() != fmt.Sprintf("127.0.0.1:%d", s.Port()) {
		t.Errorf("Addr %q Host %q Port %d", s.Addr(), s.Host(), s.Port())
	}
}

func TestServer_CaptureAndWait(t *testing.T) {
	var echo bytes.Buffer
	s := newServer(t, smtpcapture.Options{Echo: &echo, RejectRecipients: []string{"Eve@Example.org"}})

	const n = 5
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := sendPlain(s.Addr(), fmt.Sprintf("u%d@example.org", i), i); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	msgs, err := s.Wait(n, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(msgs) != n {
		t.Fatalf("Wait returned %d messages, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.From != "a@example.org" || len(m.To) != 1 || m.TLS || m.Username != "" {
			t.Errorf("captured %+v", m)
		}
		seen[m.To[0]] = true
		if !bytes.Contains(m.Data, []byte("\r\n\r\nHello ")) {
			t.Errorf("data %q", m.Data)
		}
	}
	if len(seen) != n {
		t.Errorf("recipients %v", seen)
	}

	// A refused recipient gets 550 and nothing is kept.
	err = sendPlain(s.Addr(), "eve@example.org", 9)
	if se, ok := errors.AsType[*smtp.SMTPError](err); !ok || se.Code != 550 {
		t.Errorf("refused recipient: %v", err)
	}
	if _, err := s.Wait(n+1, 100*time.Millisecond); err == nil {
		t.Error("Wait for one more message succeeded")
	}

	// Messages returns copies.
	got := s.Messages()
	got[0].Data[0] = 'X'
	if s.Messages()[0].Data[0] == 'X' {
		t.Error("Messages shares its buffers with the caller")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := echo.String()
	if c := strings.Count(out, "----- message "); c != n {
		t.Errorf("echo shows %d messages, want %d:\n%s", c, n, out)
	}
	if !strings.Contains(out, "Hello 3.\n") {
		t.Errorf("echo lacks a message body:\n%s", out)
	}
}

func TestServer_Auth(t *testing.T) {
	serverTLS, pool, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: pool}
	tests := []struct {
		name     string
		opt      smtpcapture.Options
		client   sasl.Client
		implicit bool
		wantCode int // 0 = delivered
	}{
		{"plain over STARTTLS", smtpcapture.Options{TLS: serverTLS}, sasl.NewPlainClient("", "u", "p"), false, 0},
		{"login over STARTTLS", smtpcapture.Options{TLS: serverTLS, AuthMechanisms: []string{"LOGIN"}}, sasl.NewLoginClient("u", "p"), false, 0},
		{"plain over implicit TLS", smtpcapture.Options{TLS: serverTLS, ImplicitTLS: true}, sasl.NewPlainClient("", "u", "p"), true, 0},
		{"wrong password", smtpcapture.Options{TLS: serverTLS}, sasl.NewPlainClient("", "u", "nope"), false, 535},
		{"mechanism not offered", smtpcapture.Options{TLS: serverTLS, AuthMechanisms: []string{"LOGIN"}}, sasl.NewPlainClient("", "u", "p"), false, 504},
		{"no login", smtpcapture.Options{TLS: serverTLS}, nil, false, 530},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Username, opt.Password = "u", "p"
			s := newServer(t, opt)
			var c *smtp.Client
			if tt.implicit {
				c, err = smtp.DialTLS(s.Addr(), clientTLS)
			} else {
				c, err = smtp.DialStartTLS(s.Addr(), clientTLS)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err := func() error {
				if tt.client != nil {
					if err := c.Auth(tt.client); err != nil {
						return err
					}
				}
				return c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(body(1)))
			}()
			if tt.wantCode != 0 {
				se, ok := errors.AsType[*smtp.SMTPError](err)
				if !ok || se.Code != tt.wantCode {
					t.Fatalf("err = %v, want SMTP %d", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := s.Messages()
			if len(m) != 1 || !m[0].TLS || m[0].Username != "u" {
				t.Errorf("captured %+v", m)
			}
		})
	}
}

func TestServer_AuthOnlyAfterSTARTTLS(t *testing.T) {
	serverTLS, _, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, smtpcapture.Options{TLS: serverTLS, Username: "u", Password: "p"})
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
}
