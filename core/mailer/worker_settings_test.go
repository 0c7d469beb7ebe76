package mailer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// TestWorker_NewMailServerTakesWaitingMail is the admin's fix for a relay
// that is gone: messages failed against the old server and wait out their
// back-off (up to 4 h for a PIN, which has no deadline); saving a new
// server sends them through it at once, not at the old server's retry
// time.
func TestWorker_NewMailServerTakesWaitingMail(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	svc := storetest.MustService(t, core.WithClock(clock))
	MustAddUser(t, svc, to)
	host, port := closedPort(t)
	MustSetMail(t, svc, mailTo(host, port))
	ic, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	MustQueue(t, svc, to, "Your new PIN")
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	if err := w.Flush(t.Context()); !errors.Is(err, mailer.ErrConnect) {
		t.Fatalf("Flush with the old server gone = %v", err)
	}
	for _, m := range MustOutbox(t, svc) {
		if m.State == core.MailQueued && !m.NextAttempt.After(clock.Now()) {
			t.Fatalf("message %d is due right after a failure: %+v", m.ID, m)
		}
	}

	s := newServer(t, smtpcapture.Options{})
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("Flush after the new server was saved: %v (%s)", err, mailer.Describe(err))
	}
	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the new server got %d messages, want the PIN and the provision code", len(msgs))
	}
	if c := codeLine.FindStringSubmatch(string(parse(t, msgs[0].Data).one(t, "text/plain").body)); c == nil || c[1] != ic.Code {
		t.Errorf("delivered code %v, want %q", c, ic.Code)
	}
	for _, m := range MustOutbox(t, svc) {
		if m.State == core.MailQueued || m.State == core.MailFailed {
			t.Errorf("message %d still waits: %+v", m.ID, m)
		}
	}
	if lines := logLines(t, svc, "tried now"); len(lines) != 1 || !strings.Contains(lines[0], "2 waiting messages") {
		t.Errorf("the settings' audit line does not say the waiting messages go now: %q", lines)
	}

	// A save that does not touch the mail transport leaves back-offs alone.
	host2, port2 := closedPort(t)
	MustSetMail(t, svc, mailTo(host2, port2))
	MustQueue(t, svc, to, "Another PIN")
	if err := w.Flush(t.Context()); !errors.Is(err, mailer.ErrConnect) {
		t.Fatalf("Flush with the third server gone = %v", err)
	}
	if err := svc.SetSetting("policy.selfreset.code_validity", "900"); err != nil {
		t.Fatal(err)
	}
	if due, err := svc.DueMail(); err != nil || len(due) != 0 {
		t.Errorf("after a save of another setting %d messages are due (%v), want none", len(due), err)
	}
}
