package ui

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
)

// selfSignedRelay is an office relay on 127.0.0.1 with a certificate of
// its own (STARTTLS, or implicit TLS with implicit), closed with the test,
// and that certificate's fingerprint.
func selfSignedRelay(t *testing.T, implicit bool) (*smtpcapture.Server, string) {
	t.Helper()
	serverTLS, _, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smtpcapture.New(smtpcapture.Options{TLS: serverTLS, ImplicitTLS: implicit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, core.CertFingerprint(serverTLS.Certificates[0].Certificate[0])
}

// TestTransport_SendTestSelfSignedRelay: an office relay with its own
// certificate, which this computer does not trust. The test message says
// so in words and what to do about it, without suggesting Security none.
func TestTransport_SendTestSelfSignedRelay(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	srv, fp := selfSignedRelay(t, false)
	s.tlsConfig = nil // the system's roots, as in the app

	fillTransport(s, srv.Host(), srv.Port(), core.MailSecurityStartTLS)
	test.Type(s.testTo.entry, "bob@example.org")
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	want := "The mail server's TLS certificate was not accepted: it is not signed by an authority this computer trusts (a self-signed certificate, say); " +
		"add the certificate, or the authority that signed it, to this computer's trusted certificates, or give the mail server a certificate from a public authority. " +
		"Its SHA-256 fingerprint is " + fp + "; once you have checked that this is the mail server's certificate, " +
		"you can trust it instead (Mail Transport, or provisio settings set smtp.tls_fingerprint)."
	if s.testResult.Text != want {
		t.Errorf("result %q, want %q", s.testResult.Text, want)
	}
	if s.testResult.Importance != widget.DangerImportance {
		t.Error("a failure does not look like one")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages went out over an untrusted connection", n)
	}
}

// TestTransport_TrustRefusedCertificate: the Mail Transport flow for an
// office relay with its own certificate. The test message is refused and
// the screen shows the certificate's fingerprint and names; "Trust this
// certificate" stores the pin (audit-logged) and the next test goes out.
// When the relay later shows another certificate, the screen says it
// changed and offers the new one; "Forget" clears the pin.
func TestTransport_TrustRefusedCertificate(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	srv, fp := selfSignedRelay(t, false)
	s.tlsConfig = nil // the system's roots, as in the app

	if s.pin.Text != msgNoPin || !s.forgetPin.Disabled() || s.certBox.Visible() {
		t.Fatalf("before: pin %q, forget disabled %v, certificate shown %v", s.pin.Text, s.forgetPin.Disabled(), s.certBox.Visible())
	}
	fillTransport(s, srv.Host(), srv.Port(), core.MailSecurityStartTLS)
	test.Type(s.testTo.entry, "bob@example.org")
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if !strings.Contains(s.testResult.Text, "not signed by an authority this computer trusts") {
		t.Errorf("result %q", s.testResult.Text)
	}
	if !s.certBox.Visible() || s.certFP.Text != fp || !strings.Contains(s.certNames.Text, "127.0.0.1") || !s.trustCert.Visible() {
		t.Fatalf("certificate shown %v, fingerprint %q (want %s), names %q, trust offered %v",
			s.certBox.Visible(), s.certFP.Text, fp, s.certNames.Text, s.trustCert.Visible())
	}
	test.Tap(s.copyCertFP)
	if got := h.c.app.Clipboard().Content(); got != fp {
		t.Errorf("clipboard %q", got)
	}

	test.Tap(s.trustCert)
	if got := h.svc.Settings().Mail.TLSFingerprint; got != fp {
		t.Fatalf("stored pin %q, want %s", got, fp)
	}
	if s.testResult.Text != msgTrusted || s.certBox.Visible() || s.pin.Text != pinPrefix+fp || s.forgetPin.Disabled() {
		t.Errorf("after trusting: result %q, certificate shown %v, pin %q", s.testResult.Text, s.certBox.Visible(), s.pin.Text)
	}
	if h.svc.Settings().Mail.Host != "" {
		t.Error("trusting the certificate saved the rest of the form")
	}
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "Test message sent to bob@example.org."; s.testResult.Text != want {
		t.Fatalf("pinned: result %q, want %q", s.testResult.Text, want)
	}
	if _, err := srv.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	// The relay now shows another certificate.
	other, otherFP := selfSignedRelay(t, false)
	s.port.entry.SetText(strconv.Itoa(other.Port()))
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "The mail server's TLS certificate has changed: it is not the one trusted in the mail settings (SHA-256 " + fp +
		") but one with the SHA-256 fingerprint " + otherFP + "."; !strings.HasPrefix(s.testResult.Text, want) {
		t.Errorf("result %q, want it to start %q", s.testResult.Text, want)
	}
	if s.certFP.Text != otherFP || !s.trustCert.Visible() || len(other.Messages()) != 0 {
		t.Errorf("changed: fingerprint shown %q, trust offered %v, %d messages out", s.certFP.Text, s.trustCert.Visible(), len(other.Messages()))
	}

	test.Tap(s.forgetPin)
	if got := h.svc.Settings().Mail.TLSFingerprint; got != "" || s.pin.Text != msgNoPin {
		t.Errorf("after Forget: stored %q, shown %q", got, s.pin.Text)
	}
	entries, err := h.svc.LogTail(10)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, e := range entries {
		log = append(log, e.Message)
	}
	for _, want := range []string{
		`Mail transport saved: smtp.tls_fingerprint "" → ` + fp + ".",
		"Mail transport saved: smtp.tls_fingerprint " + fp + ` → "".`,
	} {
		if !slices.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, strings.Join(log, "\n"))
		}
	}
}

// TestTransport_TrustRefusedCertificateAttached: the same flow on a console
// attached over the admin API, where the server sends the test message:
// the refused certificate reaches the screen as data, "Trust this
// certificate" stores the pin on the service, and the next test goes out.
func TestTransport_TrustRefusedCertificateAttached(t *testing.T) {
	h, _ := newAttachedHarness(t)
	h.svc.SetMailTools(mailer.Tools{}) // as app wires the service
	s := h.c.transport
	srv, fp := selfSignedRelay(t, true)

	fillTransport(s, srv.Host(), srv.Port(), core.MailSecurityTLS)
	test.Type(s.testTo.entry, "bob@example.org")
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if !s.certBox.Visible() || s.certFP.Text != fp || !s.trustCert.Visible() {
		t.Fatalf("result %q; certificate shown %v, fingerprint %q (want %s), trust offered %v",
			s.testResult.Text, s.certBox.Visible(), s.certFP.Text, fp, s.trustCert.Visible())
	}
	test.Tap(s.trustCert)
	h.answered()
	if got := h.svc.Settings().Mail.TLSFingerprint; got != fp {
		t.Fatalf("the service stores pin %q, want %s (result %q)", got, fp, s.testResult.Text)
	}
	if s.pin.Text != pinPrefix+fp {
		t.Errorf("pin shown %q", s.pin.Text)
	}
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "Test message sent to bob@example.org."; s.testResult.Text != want {
		t.Fatalf("pinned: result %q, want %q", s.testResult.Text, want)
	}
	if _, err := srv.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestTransport_PinFollowsChangesWhileEditing: the certificate row is not
// part of the form (Trust and Forget save it alone), so a pin set or
// cleared elsewhere (the CLI, another console) shows at once even while
// the admin is in the middle of editing the form, whose edits stay.
func TestTransport_PinFollowsChangesWhileEditing(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	test.Type(s.host.entry, "relay.example.org") // unsaved
	if err := h.svc.SetSetting(keySMTPPin, fp); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if s.pin.Text != pinPrefix+fp || s.forgetPin.Disabled() {
		t.Errorf("pinned elsewhere: shown %q, Forget disabled %v", s.pin.Text, s.forgetPin.Disabled())
	}
	if err := h.svc.SetSetting(keySMTPPin, ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if s.pin.Text != msgNoPin || !s.forgetPin.Disabled() {
		t.Errorf("cleared elsewhere: shown %q, Forget disabled %v", s.pin.Text, s.forgetPin.Disabled())
	}
	if s.host.entry.Text != "relay.example.org" {
		t.Errorf("the typed host became %q", s.host.entry.Text)
	}
}

// TestTransport_PinKeepsTLS: with a trusted relay certificate, choosing
// Security none and applying is refused with the sentence that says why
// (without TLS nothing would check the certificate); the choice stays as
// picked and nothing is saved.
func TestTransport_PinKeepsTLS(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	h := newHarness(t)
	for _, kv := range [][2]string{{"smtp.host", "relay.example.org"}, {"smtp.from", "provisio@example.org"},
		{"smtp.security", core.MailSecurityStartTLS}, {"smtp.tls_fingerprint", fp}} {
		if err := h.svc.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	s := h.c.transport
	h.waitFor("the saved settings on screen", func() bool {
		return s.host.entry.Text == "relay.example.org" && s.security.Selected == core.MailSecurityStartTLS && strings.Contains(s.pin.Text, fp)
	})
	s.security.SetSelected(core.MailSecurityNone)
	test.Tap(s.apply)
	const want = "A trusted mail server certificate (smtp.tls_fingerprint) is checked only over TLS; set Security to starttls or tls, or clear the trusted certificate."
	if s.result.Text != want {
		t.Errorf("result %q, want %q", s.result.Text, want)
	}
	if s.security.Selected != core.MailSecurityNone {
		t.Errorf("the choice became %q", s.security.Selected)
	}
	if m := h.svc.Settings().Mail; m.Security != core.MailSecurityStartTLS || m.TLSFingerprint != fp {
		t.Errorf("saved anyway: %+v", m)
	}
}
