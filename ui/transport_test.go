package ui

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// testPassword is an SMTP password that must never be shown.
const testPassword = "Tr0ub4dor-and-3"

// fillTransport types a complete SMTP setup into the form without applying
// it.
func fillTransport(s *transportScreen, host string, port int, security string) {
	s.host.entry.SetText("")
	test.Type(s.host.entry, host)
	s.security.SetSelected(security)
	s.port.entry.SetText(strconv.Itoa(port))
	s.from.entry.SetText("")
	test.Type(s.from.entry, "provisio@example.org")
}

// renderedTexts returns every text drawn in the object tree: labels,
// entries, placeholders and buttons.
func renderedTexts(o fyne.CanvasObject) []string {
	var out []string
	walk(o, func(o fyne.CanvasObject) {
		if t, ok := o.(*canvas.Text); ok && t.Text != "" {
			out = append(out, t.Text)
		}
	})
	return out
}

// assertNoSecret fails if secret is drawn anywhere in the window, dialogs
// included.
func assertNoSecret(t *testing.T, w fyne.Window, secret string) {
	t.Helper()
	objs := []fyne.CanvasObject{w.Canvas().Content()}
	objs = append(objs, w.Canvas().Overlays().List()...)
	for _, o := range objs {
		for _, s := range append(renderedTexts(o), visibleTexts(o)...) {
			if strings.Contains(s, secret) {
				t.Fatalf("%q is on screen in %q", secret, s)
			}
		}
	}
}

func TestTransport_ApplyAndReset(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	h.c.nav.Select(indexOf(t, h.c, "Mail Transport"))

	// The defaults: STARTTLS on 587, nothing saved yet.
	if s.security.Selected != core.MailSecurityStartTLS || s.port.entry.Text != "587" {
		t.Errorf("form starts with security %q port %q", s.security.Selected, s.port.entry.Text)
	}
	if s.password.entry.PlaceHolder == passwordUnchanged || !s.clearPassword.Disabled() {
		t.Error("the form hints at a saved password before there is one")
	}
	// Choosing TLS moves the usual port along.
	s.security.SetSelected(core.MailSecurityTLS)
	if s.port.entry.Text != "465" {
		t.Errorf("port after choosing tls: %q", s.port.entry.Text)
	}

	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.username.entry, "provisio")
	test.Type(s.password.entry, testPassword)
	test.Type(s.from.entry, "provisio@example.org")
	s.fromName.entry.SetText("")
	test.Type(s.fromName.entry, "Provisio Office")
	assertNoSecret(t, h.win, testPassword)
	test.Tap(s.apply)
	if s.result.Text != "Saved." {
		t.Fatalf("result %q", s.result.Text)
	}
	want := core.MailSettings{Host: "smtp.example.org", Port: 465, Security: "tls", Username: "provisio",
		Password: testPassword, From: "provisio@example.org", FromName: "Provisio Office"}
	if got := h.svc.Settings().Mail; got != want {
		t.Fatalf("saved %+v, want %+v", got, want)
	}
	// The saved password is hinted at, never shown.
	if s.password.entry.Text != "" || s.password.entry.PlaceHolder != passwordUnchanged || s.clearPassword.Disabled() {
		t.Errorf("after save: password %q placeholder %q, clear disabled %v",
			s.password.entry.Text, s.password.entry.PlaceHolder, s.clearPassword.Disabled())
	}
	h.waitFor("log entry for the save", func() bool {
		return len(h.c.log.shown) > 0 && strings.HasPrefix(h.c.log.shown[0].Message, "Mail transport saved: ")
	})
	// The line names what changed, the password without its value.
	if msg := h.c.log.shown[0].Message; !strings.Contains(msg, "smtp.host \"\" → smtp.example.org") || !strings.Contains(msg, "smtp.password changed") || strings.Contains(msg, testPassword) {
		t.Errorf("log line %q", msg)
	}
	assertNoSecret(t, h.win, testPassword)

	test.Tap(s.apply)
	if s.result.Text != msgNothingToApply {
		t.Errorf("apply without changes: %q", s.result.Text)
	}

	// Reset undoes edits that were not applied.
	s.host.entry.SetText("other.example.org")
	s.security.SetSelected(core.MailSecurityNone)
	test.Tap(s.reset)
	if s.host.entry.Text != "smtp.example.org" || s.security.Selected != "tls" || s.port.entry.Text != "465" {
		t.Errorf("after Reset: host %q security %q port %q", s.host.entry.Text, s.security.Selected, s.port.entry.Text)
	}

	// An empty password entry keeps the saved password.
	s.port.entry.SetText("2465")
	test.Tap(s.apply)
	if got := h.svc.Settings().Mail; got.Port != 2465 || got.Password != testPassword {
		t.Errorf("after changing the port: %+v", got)
	}

	// Clear password removes it.
	s.clearPassword.SetChecked(true)
	if !s.password.entry.Disabled() {
		t.Error("the password entry is editable while Clear password is ticked")
	}
	test.Tap(s.apply)
	if got := h.svc.Settings().Mail.Password; got != "" {
		t.Errorf("password after Clear: %q", got)
	}
	if s.clearPassword.Checked || !s.clearPassword.Disabled() || s.password.entry.PlaceHolder == passwordUnchanged {
		t.Error("the form still hints at a saved password")
	}

	// The form follows a change made elsewhere while it is not being edited.
	if err := h.svc.SetSetting("smtp.host", "relay.example.org"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("form follows the CLI", func() bool { return s.host.entry.Text == "relay.example.org" })
}

func TestTransport_BadFromKeepsTypedValues(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	before := h.svc.Settings().Mail

	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.password.entry, testPassword)
	test.Type(s.from.entry, "provisio at example")
	s.port.entry.SetText("")
	test.Type(s.port.entry, "seventy")
	test.Tap(s.apply)

	if want := `"provisio at example" is not an email address like name@example.org.`; !s.from.msg.Visible() || s.from.msg.Text != want {
		t.Errorf("From message %q (visible %v), want %q", s.from.msg.Text, s.from.msg.Visible(), want)
	}
	if want := "Enter a whole number from 1 to 65,535."; s.port.msg.Text != want {
		t.Errorf("port message %q, want %q", s.port.msg.Text, want)
	}
	if s.host.msg.Visible() {
		t.Errorf("host marked wrong: %q", s.host.msg.Text)
	}
	if s.result.Text != msgFixFields {
		t.Errorf("result %q", s.result.Text)
	}
	if s.host.entry.Text != "smtp.example.org" || s.from.entry.Text != "provisio at example" ||
		s.port.entry.Text != "seventy" || s.password.entry.Text != testPassword {
		t.Error("typed values were lost")
	}
	if got := h.svc.Settings().Mail; got != before {
		t.Errorf("settings changed despite the errors: %+v", got)
	}
	assertNoSecret(t, h.win, testPassword)

	// Correcting the fields saves them; typing clears each message.
	s.from.entry.SetText("provisio@example.org")
	if s.from.msg.Visible() {
		t.Error("the From message stays after an edit")
	}
	s.port.entry.SetText("587")
	test.Tap(s.apply)
	if s.result.Text != "Saved." {
		t.Errorf("result %q", s.result.Text)
	}
}

func TestTransport_SendTestMessage(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	srv, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// The form's values go out, although nothing is saved.
	fillTransport(s, srv.Host(), srv.Port(), core.MailSecurityNone)
	test.Type(s.testTo.entry, "bob@example.org")
	test.Tap(s.sendTest)
	if s.testResult.Text != msgSending || !s.sendTest.Disabled() {
		t.Errorf("while sending: %q, button disabled %v", s.testResult.Text, s.sendTest.Disabled())
	}
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "Test message sent to bob@example.org."; s.testResult.Text != want {
		t.Fatalf("result %q, want %q", s.testResult.Text, want)
	}
	if s.sendTest.Disabled() {
		t.Error("the button stays disabled")
	}
	msgs, err := srv.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0]; got.From != "provisio@example.org" || len(got.To) != 1 || got.To[0] != "bob@example.org" ||
		!strings.Contains(string(got.Data), "Subject: Provisio test message") {
		t.Errorf("captured from %q to %v:\n%s", got.From, got.To, got.Data)
	}
	if h.svc.Settings().Mail.Host != "" {
		t.Error("sending a test message saved the settings")
	}

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.port.entry.SetText(strconv.Itoa(closed))
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	want := "Could not connect to the mail server 127.0.0.1:" + strconv.Itoa(closed) + ": connection refused."
	if s.testResult.Text != want {
		t.Errorf("result %q, want %q", s.testResult.Text, want)
	}
	if s.testResult.Importance != widget.DangerImportance {
		t.Error("a failure does not look like one")
	}

	// Wrong fields and recipients are caught before anything is sent.
	s.testTo.entry.SetText("bob")
	test.Tap(s.sendTest)
	if want := `"bob" is not an email address like name@example.org.`; s.testTo.msg.Text != want {
		t.Errorf("recipient message %q, want %q", s.testTo.msg.Text, want)
	}
	s.testTo.entry.SetText("bob@example.org")
	s.from.entry.SetText("nobody")
	test.Tap(s.sendTest)
	if !s.from.msg.Visible() || s.testResult.Text != "Not sent: correct the fields marked in red." {
		t.Errorf("From message %q, result %q", s.from.msg.Text, s.testResult.Text)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages captured, want 1", n)
	}
}

// TestTransport_SendTestUsesSavedPassword: with the password entry left
// empty, the test message logs in with the saved password, over STARTTLS.
func TestTransport_SendTestUsesSavedPassword(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	serverTLS, roots, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smtpcapture.New(smtpcapture.Options{TLS: serverTLS, Username: "provisio", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s.tlsConfig = &tls.Config{RootCAs: roots}

	fillTransport(s, srv.Host(), srv.Port(), core.MailSecurityStartTLS)
	test.Type(s.username.entry, "provisio")
	test.Type(s.password.entry, testPassword)
	test.Tap(s.apply)
	if s.result.Text != "Saved." {
		t.Fatalf("result %q", s.result.Text)
	}
	if s.password.entry.Text != "" {
		t.Fatal("the password entry is not empty after saving")
	}

	test.Type(s.testTo.entry, "carol@example.org")
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "Test message sent to carol@example.org."; s.testResult.Text != want {
		t.Fatalf("result %q, want %q", s.testResult.Text, want)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Username != "provisio" || !msgs[0].TLS {
		t.Errorf("captured %+v", msgs)
	}

	// A wrong password typed into the form is what the test uses.
	test.Type(s.password.entry, "wrong")
	test.Tap(s.sendTest)
	h.waitFor("test result", func() bool { return s.testResult.Text != msgSending })
	if want := "The mail server refused the user name or password."; s.testResult.Text != want {
		t.Errorf("result %q, want %q", s.testResult.Text, want)
	}
	assertNoSecret(t, h.win, testPassword)
}

func TestTransport_Template(t *testing.T) {
	h := newHarness(t)
	tp := h.c.transport.template
	def := mailer.DefaultProvisionTemplate()

	// The editor shows the template in effect: the default.
	if tp.subject.entry.Text != def.Subject || tp.text.Text != def.Text || tp.html.Text != def.HTML {
		t.Fatal("the editor does not show the default template")
	}
	test.Tap(tp.apply)
	if tp.result.Text != msgNothingToApply {
		t.Errorf("apply without changes: %q", tp.result.Text)
	}

	tp.subject.entry.SetText("Set up your authenticator, {fullname}")
	tp.text.SetText("Code {code}, valid until {expires}.\n")
	test.Tap(tp.apply)
	if tp.result.Text != "Saved." {
		t.Fatalf("result %q", tp.result.Text)
	}
	// The HTML was left as the default, so it is saved as empty.
	want := core.MailTemplate{Subject: "Set up your authenticator, {fullname}", Text: "Code {code}, valid until {expires}.\n"}
	if got := h.svc.Settings().ProvisionTemplate; got != want {
		t.Errorf("saved %+v, want %+v", got, want)
	}

	// A template that gives the user no way in is saved with a warning.
	tp.text.SetText("Hello.")
	tp.html.SetText("<p>Hello.</p>")
	test.Tap(tp.apply)
	if !strings.HasPrefix(tp.result.Text, "Saved, but the message shows neither {code} nor {url}") {
		t.Errorf("result %q", tp.result.Text)
	}

	// Reset puts back what is saved; Restore default the built-in text,
	// which Apply stores as empty.
	tp.subject.entry.SetText("draft")
	test.Tap(tp.reset)
	if tp.subject.entry.Text != want.Subject {
		t.Errorf("after Reset: %q", tp.subject.entry.Text)
	}
	test.Tap(tp.restore)
	if tp.subject.entry.Text != def.Subject || tp.html.Text != def.HTML {
		t.Error("Restore default did not show the default")
	}
	if got := h.svc.Settings().ProvisionTemplate.Subject; got != want.Subject {
		t.Errorf("Restore default saved at once: %q", got)
	}
	test.Tap(tp.apply)
	if got := h.svc.Settings().ProvisionTemplate; got != (core.MailTemplate{}) {
		t.Errorf("after restoring the default: %+v", got)
	}
}

// TestTransport_TemplateMistakesRefused: a placeholder the mailer does
// not know, or one with a brace missing, is refused with a sentence that
// names the part and the fix; nothing is saved, and the subject's own
// field shows its mistake.
func TestTransport_TemplateMistakesRefused(t *testing.T) {
	h := newHarness(t)
	tp := h.c.transport.template

	tp.text.SetText("Your code: {Code}\n")
	test.Tap(tp.apply)
	if want := "Not saved: The plain text has {Code}; placeholders are in lower case: write {code}."; tp.result.Text != want {
		t.Errorf("result %q, want %q", tp.result.Text, want)
	}
	if got := h.svc.Settings().ProvisionTemplate; got != (core.MailTemplate{}) {
		t.Errorf("saved %+v", got)
	}

	test.Tap(tp.reset)
	tp.subject.entry.SetText("Your code {code")
	test.Tap(tp.apply)
	want := `The subject has "{code" without its closing brace; write {code}.`
	if tp.result.Text != "Not saved: "+want {
		t.Errorf("result %q, want %q", tp.result.Text, "Not saved: "+want)
	}
	if tp.subject.msg.Text != want || !tp.subject.msg.Visible() {
		t.Errorf("subject field says %q (shown %v), want %q", tp.subject.msg.Text, tp.subject.msg.Visible(), want)
	}
	if got := h.svc.Settings().ProvisionTemplate; got != (core.MailTemplate{}) {
		t.Errorf("saved %+v", got)
	}
}

func TestTransport_Layout(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	// SetText rather than test.Type, which would leave every entry
	// looking focused in the markup.
	s.host.entry.SetText("smtp.example.org")
	s.from.entry.SetText("provisio@example.org")
	s.username.entry.SetText("provisio")
	s.password.entry.SetText(testPassword)
	test.Tap(s.apply)
	if s.result.Text != "Saved." {
		t.Fatalf("result %q", s.result.Text)
	}
	// An error as the admin would see it.
	s.fromName.entry.SetText("Provisio")
	s.testTo.entry.SetText("bob")
	test.Tap(s.sendTest)

	s.content.Resize(fyne.NewSize(1060, 1500))
	test.AssertObjectRendersToMarkup(t, "transport.xml", s.content)
	assertGoldenFree(t, "transport.xml", testPassword)
}

// assertGoldenFree fails if a golden file, or the markup just written for
// review, contains secret.
func assertGoldenFree(t *testing.T, name, secret string) {
	t.Helper()
	for _, p := range []string{filepath.Join("testdata", name), filepath.Join("testdata", "failed", name)} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s contains %q", p, secret)
		}
	}
}

// indexOf returns the navigation index of the screen called title.
func indexOf(t *testing.T, c *Console, title string) int {
	t.Helper()
	for i, s := range c.screens {
		if s.title == title {
			return i
		}
	}
	t.Fatalf("no screen %q in the navigation", title)
	return -1
}

// TestTransport_OffersToRetryFailedMail: a relay fixed on this screen is
// the usual reason messages failed (a wrong password, a changed
// certificate), so a save, Trust or Forget while the Outbox holds failed
// messages offers to send them again, and the offer queues them.
func TestTransport_OffersToRetryFailedMail(t *testing.T) {
	h := newHarness(t)
	s := h.c.transport
	h.c.nav.Select(indexOf(t, h.c, "Mail Transport"))
	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.from.entry, "provisio@example.org")
	test.Tap(s.apply)
	if s.result.Text != "Saved." || s.retryFailed.Visible() {
		t.Fatalf("with nothing failed: result %q, retry offered %v", s.result.Text, s.retryFailed.Visible())
	}

	storetest.MustAddUser(t, h.svc, "alice", "1234")
	ic, err := h.svc.MailProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.MailFailed(ic.MailID, "The mail server refused the login: 535 5.7.8 Authentication failed.", false); err != nil {
		t.Fatal(err)
	}
	test.Type(s.password.entry, testPassword)
	test.Tap(s.apply)
	if want := "Saved. 1 message in the Outbox failed before this change; retry it now?"; s.result.Text != want || !s.retryFailed.Visible() {
		t.Fatalf("result %q (retry offered %v), want %q", s.result.Text, s.retryFailed.Visible(), want)
	}
	test.Tap(s.retryFailed)
	if want := "1 failed message queued again; the Outbox shows how they go."; s.result.Text != want || s.retryFailed.Visible() {
		t.Errorf("after retry: result %q (button shown %v), want %q", s.result.Text, s.retryFailed.Visible(), want)
	}
	box, err := h.svc.Outbox()
	if err != nil || len(box) != 1 || box[0].State != core.MailQueued {
		t.Fatalf("outbox %+v (%v), want alice's message queued again", box, err)
	}
	s.fromName.entry.SetText("Office IT")
	test.Tap(s.apply)
	if s.result.Text != "Saved." || s.retryFailed.Visible() {
		t.Errorf("nothing failed any more: result %q, retry offered %v", s.result.Text, s.retryFailed.Visible())
	}

	// Trusting the relay's new certificate offers the same.
	if err := h.svc.MailFailed(ic.MailID, "The mail server's certificate has changed.", false); err != nil {
		t.Fatal(err)
	}
	s.refused = core.MailCertificate{Fingerprint: strings.Repeat("AB:", 31) + "AB"}
	s.trustRefused()
	if want := "Trusted. 1 message in the Outbox failed before this change; retry it now?"; s.result.Text != want || !s.retryFailed.Visible() {
		t.Errorf("after Trust: result %q (retry offered %v), want %q", s.result.Text, s.retryFailed.Visible(), want)
	}

	// So does Forget: the computer's authorities may accept what the
	// old pin refused.
	s.retryFailed.Hide()
	test.Tap(s.forgetPin)
	if want := "The mail server's certificate is no longer trusted by its fingerprint. 1 message in the Outbox failed before this change; retry it now?"; s.result.Text != want || !s.retryFailed.Visible() {
		t.Errorf("after Forget: result %q (retry offered %v), want %q", s.result.Text, s.retryFailed.Visible(), want)
	}
}
