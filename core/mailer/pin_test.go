package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
)

// officeCert is a self-signed certificate as a NAS or printer relay makes
// one: for a LAN name that is not the address Provisio dials (127.0.0.1),
// valid from notBefore to notAfter. It returns the server's config and the
// certificate's fingerprint.
func officeCert(t *testing.T, notBefore, notAfter time.Time) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "nas.office.lan"},
		DNSNames:     []string{"nas.office.lan"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	return cfg, core.CertFingerprint(der)
}

// TestSend_PinnedCertificate: an office relay with its own certificate,
// over a real SMTP conversation on 127.0.0.1. Unpinned it is refused and
// the refusal carries its fingerprint as data; pinned to it, mail goes
// out over STARTTLS and implicit TLS although neither an authority nor
// the name vouches for it; pinned to another, or out of its validity, it
// is refused with a sentence that says so.
func TestSend_PinnedCertificate(t *testing.T) {
	now := time.Now()
	relayTLS, relayFP := officeCert(t, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	expiredTLS, expiredFP := officeCert(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	_, otherFP := officeCert(t, now.Add(-time.Hour), now.Add(time.Hour))
	// How an admin may paste it: lower case, no colons.
	pasted := strings.ToLower(strings.ReplaceAll(relayFP, ":", ""))

	tests := []struct {
		name     string
		server   *tls.Config
		implicit bool
		pin      string
		want     string // "" delivered; else a part of the sentence
		// The refused certificate the error carries, and the pin it names.
		refused, pinned string
		trustable       bool
	}{
		{name: "unpinned, STARTTLS", server: relayTLS,
			want:    "it is for nas.office.lan, not 127.0.0.1; enter in Server a name it is for. Its SHA-256 fingerprint is " + relayFP + "; once you have checked",
			refused: relayFP, trustable: true},
		{name: "unpinned, implicit TLS", server: relayTLS, implicit: true,
			want:    "Its SHA-256 fingerprint is " + relayFP,
			refused: relayFP, trustable: true},
		{name: "pinned, STARTTLS", server: relayTLS, pin: relayFP},
		{name: "pinned, implicit TLS", server: relayTLS, implicit: true, pin: relayFP},
		{name: "pinned as pasted", server: relayTLS, pin: pasted},
		{name: "pinned to another, STARTTLS", server: relayTLS, pin: otherFP,
			want:    "The mail server's TLS certificate has changed: it is not the one trusted in the mail settings (SHA-256 " + otherFP + ") but one with the SHA-256 fingerprint " + relayFP + ".",
			refused: relayFP, pinned: otherFP, trustable: true},
		{name: "pinned to another, implicit TLS", server: relayTLS, implicit: true, pin: otherFP,
			want:    "has changed",
			refused: relayFP, pinned: otherFP, trustable: true},
		{name: "pinned but expired", server: expiredTLS, pin: expiredFP,
			want:    "The mail server's TLS certificate, the one trusted in the mail settings, expired on " + now.Add(-24*time.Hour).Local().Format("2 Jan 2006") + " ",
			refused: expiredFP, pinned: expiredFP},
		{name: "unpinned and expired", server: expiredTLS,
			want:    "it has expired or is not valid yet.",
			refused: expiredFP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, smtpcapture.Options{TLS: tt.server, ImplicitTLS: tt.implicit})
			m := core.MailSettings{Host: s.Host(), Port: s.Port(), Security: mailer.SecurityStartTLS, From: from, TLSFingerprint: tt.pin}
			if tt.implicit {
				m.Security = mailer.SecurityTLS
			}
			// The console's path: stored settings, this computer's
			// authorities (nil).
			err := mailer.SendTest(context.Background(), m, nil, to)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("not delivered: %s", mailer.Describe(err))
				}
				if _, err := s.Wait(1, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("delivered")
			}
			got := mailer.Describe(err)
			checkPlainWords(t, "Describe", got)
			if !strings.Contains(got, tt.want) {
				t.Errorf("Describe = %q, want it to contain %q", got, tt.want)
			}
			if strings.Contains(got, "Security to none") || strings.Contains(got, "Security none") {
				t.Errorf("Describe = %q suggests Security none", got)
			}
			if !errors.Is(err, mailer.ErrTLS) || mailer.Temporary(err) {
				t.Errorf("kind: ErrTLS %v, temporary %v", errors.Is(err, mailer.ErrTLS), mailer.Temporary(err))
			}
			mc, ok := core.RefusedMailCertificate(err)
			if !ok {
				t.Fatalf("the error carries no certificate: %v", err)
			}
			if mc.Fingerprint != tt.refused || mc.Pinned != tt.pinned || !slices.Equal(mc.Names, []string{"nas.office.lan"}) {
				t.Errorf("refused certificate %+v, want %s pinned %q", mc, tt.refused, tt.pinned)
			}
			if mc.Trustable(time.Now()) != tt.trustable {
				t.Errorf("Trustable = %v", !tt.trustable)
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("%d messages went out", n)
			}
		})
	}
}

// TestSend_PinRefusedBeforeDialling: a pin that is no SHA-256 fingerprint
// is a settings error naming its key, found before any network traffic.
func TestSend_PinRefusedBeforeDialling(t *testing.T) {
	cfg := mailer.Config{Host: "127.0.0.1", Port: 1, From: from, TLSFingerprint: "AB:CD"}
	err := mailer.Send(context.Background(), cfg, mailer.TestMessage(cfg, to))
	ce, ok := errors.AsType[*core.Error](err)
	if !ok || ce.Field != "smtp.tls_fingerprint" || !errors.Is(err, mailer.ErrInvalid) {
		t.Fatalf("err %v, want an invalid smtp.tls_fingerprint", err)
	}
	if !strings.Contains(ce.Message, "is not a SHA-256 certificate fingerprint") {
		t.Errorf("sentence %q", ce.Message)
	}
}

// TestSend_PinNeedsTLS: a pinned certificate with Security none would
// send mail, codes and password in clear text to any server while the
// settings say one certificate is trusted: it is a settings error found
// before any network traffic, and a pinned relay that stops offering
// STARTTLS (a connection that strips it) is never answered with advice
// to set Security to none.
func TestSend_PinNeedsTLS(t *testing.T) {
	now := time.Now()
	_, fp := officeCert(t, now.Add(-time.Hour), now.Add(time.Hour))
	t.Run("security none", func(t *testing.T) {
		s := newServer(t, smtpcapture.Options{})
		cfg := mailer.Config{Host: s.Host(), Port: s.Port(), Security: mailer.SecurityNone, From: from, TLSFingerprint: fp}
		err := mailer.Send(context.Background(), cfg, mailer.TestMessage(cfg, to))
		ce, ok := errors.AsType[*core.Error](err)
		if !ok || ce.Field != "smtp.security" || !errors.Is(err, mailer.ErrInvalid) {
			t.Fatalf("err %v, want an invalid smtp.security", err)
		}
		if n := len(s.Messages()); n != 0 {
			t.Errorf("%d messages went out in clear text to an unchecked server", n)
		}
	})
	t.Run("STARTTLS stripped", func(t *testing.T) {
		s := newServer(t, smtpcapture.Options{})
		m := core.MailSettings{Host: s.Host(), Port: s.Port(), Security: mailer.SecurityStartTLS, From: from, TLSFingerprint: fp}
		err := mailer.SendTest(context.Background(), m, nil, to)
		if err == nil || !errors.Is(err, mailer.ErrTLS) {
			t.Fatalf("err %v, want ErrTLS", err)
		}
		got := mailer.Describe(err)
		checkPlainWords(t, "Describe", got)
		if !strings.Contains(got, "does not offer STARTTLS") || strings.Contains(got, "none") {
			t.Errorf("Describe = %q; want it to say STARTTLS is missing without suggesting Security none", got)
		}
	})
}
