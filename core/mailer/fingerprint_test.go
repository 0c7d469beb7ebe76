package mailer_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// TestWorker_ProvisionMailCarriesTheFingerprint: the default provision
// mail names the server certificate's fingerprint in both parts, so a
// person whose phone warns about a self-signed certificate can compare
// it through a channel that does not pass through that server; without
// a fingerprint the mail says it is not known rather than leaving a gap.
func TestWorker_ProvisionMailCarriesTheFingerprint(t *testing.T) {
	const fp = "4F:1A:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:98:BA"
	tests := []struct {
		name        string
		fingerprint func() string
		want        string
	}{
		{"served certificate", func() string { return fp }, fp},
		{"none known", nil, "(not known: ask your IT support team)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, smtpcapture.Options{})
			svc := storetest.MustService(t)
			MustAddUser(t, svc, to)
			MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
			if _, err := svc.MailProvisionCode("bob"); err != nil {
				t.Fatal(err)
			}
			w := &mailer.Worker{Service: svc, QRPNG: qrPNG, Fingerprint: tt.fingerprint}
			if err := w.Flush(t.Context()); err != nil {
				t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
			}
			msgs, err := s.Wait(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, msgs[0].Data)
			for _, part := range []string{"text/plain", "text/html"} {
				if body := string(p.one(t, part).body); !strings.Contains(body, tt.want) {
					t.Errorf("%s part lacks %q:\n%s", part, tt.want, body)
				}
			}
		})
	}
}
