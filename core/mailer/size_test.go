package mailer_test

import (
	"fmt"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// TestWorker_MailLargerThanTheServerTakes: a relay that advertises a SIZE
// limit smaller than the provision mail (whose bulk is the QR image)
// refuses it every time, so the message fails at once, without sending
// its bytes, with a sentence giving both sizes and the two ways out; a
// small message through the same server still goes.
func TestWorker_MailLargerThanTheServerTakes(t *testing.T) {
	const limit = 3000
	s := newServer(t, smtpcapture.Options{MaxMessageBytes: limit})
	svc := storetest.MustService(t)
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	if _, err := svc.MailProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	pin := MustQueue(t, svc, to, "Your new PIN")
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	if err := w.Flush(t.Context()); err == nil {
		t.Fatal("Flush succeeded")
	}
	msgs := s.Messages()
	if len(msgs) != 1 || fmt.Sprint(msgs[0].To) != "["+to+"]" {
		t.Fatalf("the server got %d messages, want only the small one", len(msgs))
	}
	box := MustOutbox(t, svc)
	m := box[0]
	if m.State != core.MailFailed || m.Attempts != 1 {
		t.Errorf("the large message: %s after %d attempts, want failed after 1 (it cannot shrink)", m.State, m.Attempts)
	}
	want := fmt.Sprintf(`The mail is ~ kB, more than the 3 kB the mail server %s takes (its SIZE limit); raise the limit on the mail server, `+
		`or set Policy → Self-Reset "QR Code URL" so that the mail links to the QR code image instead of carrying it.`, s.Addr())
	if !matchSize(m.LastError, want) {
		t.Errorf("the Outbox says %q, want %q", m.LastError, want)
	}
	checkPlainWords(t, "the Outbox's reason", m.LastError)
	if p := box[1]; p.ID != pin.ID || p.State != core.MailSent {
		t.Errorf("the PIN message: %+v, want sent", p)
	}
}

// matchSize compares got with want, where "~" in want stands for a number.
func matchSize(got, want string) bool {
	before, after, _ := strings.Cut(want, "~")
	n, ok := strings.CutPrefix(got, before)
	if n, ok = strings.CutSuffix(n, after); !ok || n == "" {
		return false
	}
	return strings.Trim(n, "0123456789") == ""
}
