package adminapi_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/mailer/smtpcapture"
)

// TestConsole_MailTestFromServer: the Mail Transport screen's test
// message, attached, is sent by the server to a real SMTP server on
// loopback, logging in with the stored password when the form holds the
// mask; a wrong password comes back as the mail adapter's sentence.
func TestConsole_MailTestFromServer(t *testing.T) {
	svc, sock := newServer(t)
	smtpSrv, err := smtpcapture.New(smtpcapture.Options{Username: "provisio", Password: "hunter2-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	for k, v := range map[string]string{"smtp.host": smtpSrv.Host(), "smtp.port": strconv.Itoa(smtpSrv.Port()),
		"smtp.security": "none", "smtp.username": "provisio", "smtp.password": "hunter2-secret", "smtp.from": "provisio@example.org"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	ms := k.Settings().Mail
	if ms.Password != core.SecretMask {
		t.Fatalf("password %q", ms.Password)
	}
	if err := k.MailTools().SendTest(context.Background(), ms, nil, "alice@example.org"); err != nil {
		t.Fatalf("test send: %s", k.MailTools().Describe(err))
	}
	msgs, err := smtpSrv.Wait(1, 10*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].Username != "provisio" || msgs[0].To[0] != "alice@example.org" {
		t.Fatalf("captured %+v %v", msgs, err)
	}
	ms.Password = "wrong"
	err = k.MailTools().SendTest(context.Background(), ms, nil, "alice@example.org")
	if err == nil || k.MailTools().Describe(err) == "" {
		t.Fatalf("a wrong password was not refused: %v", err)
	}
	if tpl := k.MailTools().DefaultProvisionTemplate(); tpl.Subject == "" || !tpl.CarriesCode() {
		t.Errorf("default template %+v", tpl)
	}
}

// TestConsole_MailTestRefusedCertificate: attached, a test message to a
// relay with a self-signed certificate comes back with the certificate as
// data (not only in the sentence), so the console can offer to trust it;
// trusted through the same settings use case, the next test goes out and
// the audit log names the fingerprint.
func TestConsole_MailTestRefusedCertificate(t *testing.T) {
	svc, sock := newServer(t)
	serverTLS, _, err := smtpcapture.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	fp := core.CertFingerprint(serverTLS.Certificates[0].Certificate[0])
	smtpSrv, err := smtpcapture.New(smtpcapture.Options{TLS: serverTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	if err := svc.ChangeSettings(map[string]string{"smtp.host": smtpSrv.Host(), "smtp.port": strconv.Itoa(smtpSrv.Port()),
		"smtp.security": "starttls", "smtp.from": "provisio@example.org"}, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	err = k.MailTools().SendTest(context.Background(), k.Settings().Mail, nil, "alice@example.org")
	mc, ok := core.RefusedMailCertificate(err)
	if !ok || mc.Fingerprint != fp || mc.Pinned != "" || !slices.Contains(mc.Names, "127.0.0.1") || !mc.Trustable(time.Now()) {
		t.Fatalf("refused certificate %+v (%v), want %s: %v", mc, ok, fp, err)
	}
	if d := k.MailTools().Describe(err); !strings.Contains(d, "not signed by an authority this computer trusts") || !strings.Contains(d, fp) {
		t.Errorf("sentence %q", d)
	}

	set := k.Settings()
	if err := set.Set("smtp.tls_fingerprint", mc.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if err := k.SetSettings(set, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	if got := svc.Settings().Mail.TLSFingerprint; got != fp {
		t.Fatalf("stored pin %q", got)
	}
	if err := k.MailTools().SendTest(context.Background(), k.Settings().Mail, nil, "alice@example.org"); err != nil {
		t.Fatalf("pinned test send: %s", k.MailTools().Describe(err))
	}
	if _, err := smtpSrv.Wait(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	lines, err := svc.LogTail(5)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, l := range lines {
		all = append(all, l.Message)
	}
	if want := `Mail transport saved: smtp.tls_fingerprint "" → ` + fp + "."; !slices.Contains(all, want) {
		t.Errorf("the log lacks %q:\n%s", want, strings.Join(all, "\n"))
	}
}
