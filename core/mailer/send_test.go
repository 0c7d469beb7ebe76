package mailer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	qrcode "github.com/skip2/go-qrcode"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr/qrtest"
)

const (
	from = "provisio@example.org"
	to   = "bob@example.org"
)

// newServer starts a capture server closed at the end of the test.
func newServer(t *testing.T, opt smtpcapture.Options) *smtpcapture.Server {
	t.Helper()
	s, err := smtpcapture.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close capture server: %v", err)
		}
	})
	return s
}

func newTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	srv, pool, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	return srv, pool
}

func configFor(s *smtpcapture.Server, security string) mailer.Config {
	return mailer.Config{
		Host:     s.Host(),
		Port:     s.Port(),
		Security: security,
		From:     from,
		FromName: "Provisio",
		Timeout:  10 * time.Second,
	}
}

// sendOne sends m and returns the one message the server captured.
func sendOne(t *testing.T, s *smtpcapture.Server, cfg mailer.Config, m mailer.Message) smtpcapture.Captured {
	t.Helper()
	if err := mailer.Send(context.Background(), cfg, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// Send returns after the server's 250 to DATA, which comes after the
	// capture is recorded, so this does not race.
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server captured %d messages, want exactly 1", len(msgs))
	}
	if msgs[0].From != from || len(msgs[0].To) != 1 || msgs[0].To[0] != m.To {
		t.Errorf("envelope from %q to %q, want %q to [%q]", msgs[0].From, msgs[0].To, from, m.To)
	}
	return msgs[0]
}

// leaf is one non-multipart part of a parsed message.
type leaf struct {
	header message.Header
	body   []byte
}

// parsed is a message read back with go-message.
type parsed struct {
	header mail.Header
	shape  []string // depth-first "depth:media/type", e.g. "1:text/plain"
	leaves map[string][]leaf
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	p := parsed{header: mail.Header{Header: e.Header}, leaves: map[string][]leaf{}}
	err = e.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		mt, _, err := part.Header.ContentType()
		if err != nil {
			return err
		}
		p.shape = append(p.shape, fmt.Sprintf("%d:%s", len(path), mt))
		if !strings.HasPrefix(mt, "multipart/") {
			body, err := io.ReadAll(part.Body)
			if err != nil {
				return err
			}
			p.leaves[mt] = append(p.leaves[mt], leaf{part.Header, body})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk message: %v", err)
	}
	return p
}

func (p parsed) one(t *testing.T, mediaType string) leaf {
	t.Helper()
	if n := len(p.leaves[mediaType]); n != 1 {
		t.Fatalf("%d %s parts, want 1 (shape %v)", n, mediaType, p.shape)
	}
	return p.leaves[mediaType][0]
}

// decodeQR reads a QR code out of a PNG with gozxing, the way a phone
// camera would, so the test checks the image and not just the bytes. It
// goes through qrtest.Decode: gozxing's single-code detector alone fails
// on some codes whose data looks like a finder pattern (the OATH mail
// test failed that way about once in twenty runs, with a random code).
func decodeQR(t *testing.T, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	return qrtest.MustDecode(t, img)
}

// provisionVars are typical values, with a QR PNG made the way the app
// does: Medium error correction, 8-pixel modules.
func provisionVars(t *testing.T) mailer.Vars {
	t.Helper()
	u := core.ProvisionURL("provisio.example.lan", "8443", "acme", "bob", "K7MQ2XPA")
	q, err := qrcode.New(u, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	pngData, err := q.PNG(-8)
	if err != nil {
		t.Fatal(err)
	}
	return mailer.Vars{
		Username: "bob",
		FullName: "Bob Example",
		Email:    to,
		Code:     "K7MQ2XPA",
		URL:      u,
		Expires:  time.Date(2030, 3, 14, 15, 9, 0, 0, time.UTC),
		QRPNG:    pngData,
	}
}

var imgSrc = regexp.MustCompile(`<img src="([^"]*)"`)

func TestSend_ProvisionMail(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	v := provisionVars(t)
	m, err := mailer.Render(mailer.DefaultProvisionTemplate(), v)
	if err != nil {
		t.Fatal(err)
	}
	got := sendOne(t, s, configFor(s, mailer.SecurityNone), m)
	p := parse(t, got.Data)

	wantShape := []string{"0:multipart/alternative", "1:text/plain", "1:multipart/related", "2:text/html", "2:image/png"}
	if fmt.Sprint(p.shape) != fmt.Sprint(wantShape) {
		t.Fatalf("MIME shape %v, want %v", p.shape, wantShape)
	}

	t.Run("headers", func(t *testing.T) {
		fromList, err := p.header.AddressList("From")
		if err != nil || len(fromList) != 1 || fromList[0].Name != "Provisio" || fromList[0].Address != from {
			t.Errorf("From = %v (%v)", fromList, err)
		}
		toList, err := p.header.AddressList("To")
		if err != nil || len(toList) != 1 || toList[0].Name != "Bob Example" || toList[0].Address != to {
			t.Errorf("To = %v (%v)", toList, err)
		}
		if subj, _ := p.header.Subject(); subj != "Your mobile authenticator provision code" {
			t.Errorf("Subject = %q", subj)
		}
		if d, err := p.header.Date(); err != nil || time.Since(d) > time.Minute {
			t.Errorf("Date = %v (%v)", d, err)
		}
		if id, err := p.header.MessageID(); err != nil || !strings.HasSuffix(id, "@example.org") {
			t.Errorf("Message-ID = %q (%v)", id, err)
		}
		if v := p.header.Get("MIME-Version"); v != "1.0" {
			t.Errorf("MIME-Version = %q", v)
		}
	})

	t.Run("text part", func(t *testing.T) {
		text := string(p.one(t, "text/plain").body)
		for _, want := range []string{"Hello Bob Example,", "K7MQ2XPA", v.URL, "Thu 14 Mar 2030 15:09 UTC"} {
			if !strings.Contains(text, want) {
				t.Errorf("text part lacks %q:\n%s", want, text)
			}
		}
	})

	t.Run("html and inline QR", func(t *testing.T) {
		htmlBody := string(p.one(t, "text/html").body)
		img := p.one(t, "image/png")
		cid := img.header.Get("Content-Id")
		if !strings.HasPrefix(cid, "<qr.") || !strings.HasSuffix(cid, "@provisio>") {
			t.Errorf("Content-ID = %q, want <qr.…@provisio>", cid)
		}
		src := imgSrc.FindStringSubmatch(htmlBody)
		if src == nil || src[1] != "cid:"+strings.Trim(cid, "<>") {
			t.Fatalf("img src = %v, want cid:%s", src, strings.Trim(cid, "<>"))
		}
		if !strings.Contains(htmlBody, html.EscapeString(v.URL)) {
			t.Errorf("HTML lacks the escaped link %q", html.EscapeString(v.URL))
		}
		if disp, _, _ := img.header.ContentDisposition(); disp != "inline" {
			t.Errorf("Content-Disposition = %q, want inline", disp)
		}
		if !bytes.Equal(img.body, v.QRPNG) {
			t.Error("inline PNG differs from the one rendered")
		}
		if text := decodeQR(t, img.body); text != v.URL {
			t.Errorf("QR code reads %q, want %q", text, v.URL)
		}
	})
}

func TestSend_Security(t *testing.T) {
	serverTLS, pool := newTLS(t)
	tests := []struct {
		name     string
		opt      smtpcapture.Options
		security string
		user     string
		wantTLS  bool
	}{
		{"none, no login", smtpcapture.Options{}, mailer.SecurityNone, "", false},
		{"none, AUTH PLAIN", smtpcapture.Options{Username: "alice", Password: "s3cret"}, mailer.SecurityNone, "alice", false},
		{"starttls, no login", smtpcapture.Options{TLS: serverTLS}, mailer.SecurityStartTLS, "", true},
		{"starttls, AUTH PLAIN", smtpcapture.Options{TLS: serverTLS, Username: "alice", Password: "s3cret"}, mailer.SecurityStartTLS, "alice", true},
		{"starttls, AUTH LOGIN only", smtpcapture.Options{TLS: serverTLS, Username: "alice", Password: "s3cret", AuthMechanisms: []string{"LOGIN"}}, mailer.SecurityStartTLS, "alice", true},
		{"implicit tls, AUTH PLAIN", smtpcapture.Options{TLS: serverTLS, ImplicitTLS: true, Username: "alice", Password: "s3cret"}, mailer.SecurityTLS, "alice", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opt)
			cfg := configFor(s, tt.security)
			cfg.TLSConfig = &tls.Config{RootCAs: pool}
			cfg.Username, cfg.Password = tt.user, tt.opt.Password
			got := sendOne(t, s, cfg, mailer.TestMessage(cfg, to))
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.Username != tt.user {
				t.Errorf("logged in as %q, want %q", got.Username, tt.user)
			}
			p := parse(t, got.Data)
			if subj, _ := p.header.Subject(); subj != "Provisio test message" {
				t.Errorf("Subject = %q", subj)
			}
			if text := string(p.one(t, "text/plain").body); !strings.Contains(text, cfg.Addr()) {
				t.Errorf("test message does not name the server %s:\n%s", cfg.Addr(), text)
			}
		})
	}
}

func TestSend_QRCodeURL(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	v := provisionVars(t)
	v.QRCodeURL = "https://provisio.example.lan:8443/userportal/getQRCode?size=8&text="
	m, err := mailer.Render(mailer.DefaultProvisionTemplate(), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inline) != 0 {
		t.Fatalf("Render attached %d inline parts, want none", len(m.Inline))
	}
	p := parse(t, sendOne(t, s, configFor(s, mailer.SecurityNone), m).Data)

	wantShape := []string{"0:multipart/alternative", "1:text/plain", "1:text/html"}
	if fmt.Sprint(p.shape) != fmt.Sprint(wantShape) {
		t.Fatalf("MIME shape %v, want %v", p.shape, wantShape)
	}
	src := imgSrc.FindStringSubmatch(string(p.one(t, "text/html").body))
	if src == nil {
		t.Fatal("no <img src> in the HTML")
	}
	want := v.QRCodeURL + url.QueryEscape(v.URL)
	if got := html.UnescapeString(src[1]); got != want {
		t.Errorf("img src = %q, want %q", got, want)
	}
	if strings.Contains(src[1], "&text") {
		t.Errorf("img src %q has an unescaped & in HTML", src[1])
	}
}

func TestSend_HTMLEscaping(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	v := provisionVars(t)
	v.FullName = `<b>Bob & "Co"</b>`
	m, err := mailer.Render(mailer.DefaultProvisionTemplate(), v)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, sendOne(t, s, configFor(s, mailer.SecurityNone), m).Data)

	htmlBody := string(p.one(t, "text/html").body)
	if !strings.Contains(htmlBody, "Hello &lt;b&gt;Bob &amp; &#34;Co&#34;&lt;/b&gt;,") {
		t.Errorf("HTML lacks the escaped name:\n%s", htmlBody)
	}
	if strings.Contains(htmlBody, "<b>Bob") {
		t.Error("HTML contains the name unescaped")
	}
	if text := string(p.one(t, "text/plain").body); !strings.Contains(text, `Hello <b>Bob & "Co"</b>,`) {
		t.Errorf("text part should keep the name as typed:\n%s", text)
	}
	toList, err := p.header.AddressList("To")
	if err != nil || len(toList) != 1 || toList[0].Name != v.FullName {
		t.Errorf("To = %v (%v), want the display name %q", toList, err, v.FullName)
	}
}

func TestSend_HeaderEncoding(t *testing.T) {
	tests := []struct {
		name, subject, fromName, toName string
	}{
		{"ascii", "Your code", "Provisio", "Bob"},
		{"german", "Ihr Bereitstellungscode – Grüße aus Köln", "Prüfstelle", "Jürgen Groß"},
		{"japanese", "モバイル認証コード", "プロビジオ", "山田太郎"},
		{"emoji", "Your code 🔐 is ready", "Provisio 🔐", "Bob 🙂"},
		{"long", strings.Repeat("Überlänge ", 30), "Provisio", "Bob"},
		{"header injection", "Hi\r\nBcc: eve@example.org", "Provisio\r\nX-Evil: 1", "Bob\nCc: eve@example.org"},
	}
	s := newServer(t, smtpcapture.Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configFor(s, mailer.SecurityNone)
			cfg.FromName = tt.fromName
			m := mailer.Message{To: to, ToName: tt.toName, Subject: tt.subject, Text: "Hello"}
			if err := mailer.Send(context.Background(), cfg, m); err != nil {
				t.Fatal(err)
			}
			msgs, err := s.Wait(i+1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			raw := msgs[i].Data
			head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			for _, line := range strings.Split(string(head), "\r\n") {
				for _, r := range line {
					if r > 0x7e {
						t.Fatalf("raw header line has non-ASCII: %q", line)
					}
				}
				if len(line) > 998 {
					t.Fatalf("header line is %d bytes long", len(line))
				}
				if k, _, _ := strings.Cut(line, ":"); strings.EqualFold(k, "Bcc") || strings.EqualFold(k, "Cc") || strings.EqualFold(k, "X-Evil") {
					t.Fatalf("injected header %q", line)
				}
			}
			p := parse(t, raw)
			flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
			if subj, err := p.header.Subject(); err != nil || flat(subj) != flat(tt.subject) {
				t.Errorf("Subject = %q (%v), want %q", subj, err, tt.subject)
			}
			if fl, err := p.header.AddressList("From"); err != nil || len(fl) != 1 || flat(fl[0].Name) != flat(tt.fromName) {
				t.Errorf("From = %v (%v), want name %q", fl, err, tt.fromName)
			}
			if tl, err := p.header.AddressList("To"); err != nil || len(tl) != 1 || flat(tl[0].Name) != flat(tt.toName) {
				t.Errorf("To = %v (%v), want name %q", tl, err, tt.toName)
			}
		})
	}
}

func TestSend_TextOnly(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	m := mailer.Message{To: to, Subject: "Plain", Text: "Just text.\nTwo lines."}
	p := parse(t, sendOne(t, s, configFor(s, mailer.SecurityNone), m).Data)
	if fmt.Sprint(p.shape) != "[0:text/plain]" {
		t.Fatalf("MIME shape %v, want a single text/plain", p.shape)
	}
	// SMTP's DATA ends on a line break, so the last line gains one.
	if body := string(p.one(t, "text/plain").body); body != "Just text.\r\nTwo lines.\r\n" {
		t.Errorf("body = %q", body)
	}
}

func TestSend_InvalidMessage(t *testing.T) {
	cfg := mailer.Config{Host: "127.0.0.1", From: from}
	tests := []struct {
		name  string
		m     mailer.Message
		field string
	}{
		{"no recipient", mailer.Message{Subject: "x", Text: "x"}, "email"},
		{"bad recipient", mailer.Message{To: "bob", Subject: "x", Text: "x"}, "email"},
		{"inline without HTML", mailer.Message{To: to, Text: "x", Inline: []mailer.Inline{{ContentID: "a", ContentType: "image/png"}}}, "template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mailer.Send(context.Background(), cfg, tt.m)
			e, ok := errors.AsType[*core.Error](err)
			if !ok || e.Code != core.CodeInvalid || e.Field != tt.field || !errors.Is(err, mailer.ErrInvalid) {
				t.Errorf("err = %#v, want invalid %s", err, tt.field)
			}
		})
	}
}
