package mailer_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store/storetest"
)

// TestWorker_DeadCodeNeverMailed is #8's outbox rule end to end against
// the real go-smtp capture server: with SMTP down, an admin reprovisions
// a user twice with mail; when SMTP comes up exactly one message arrives,
// it carries the newest code, and that code provisions.
func TestWorker_DeadCodeNeverMailed(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	svc := storetest.MustService(t, core.WithClock(clock))
	MustAddUser(t, svc, to)
	host, port := closedPort(t)
	MustSetMail(t, svc, mailTo(host, port))
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	// Codes outlive the back-off below.
	if err := svc.SetSetting("policy.selfreset.code_validity", "86400"); err != nil {
		t.Fatal(err)
	}

	first, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(t.Context()); err == nil {
		t.Fatal("Flush with SMTP down succeeded")
	}
	second, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if first.Code == second.Code {
		t.Fatal("the second reprovision made the same code")
	}
	box := MustOutbox(t, svc)
	if len(box) != 2 || box[0].State != core.MailWithdrawn || box[0].Code != "" || box[1].State != core.MailQueued {
		t.Fatalf("outbox after the second reprovision: %+v", box)
	}

	s := MustListenOn(t, smtpcapture.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port))})
	clock.Advance(time.Hour) // past any back-off, within the code's life
	for i := range 3 {
		if err := w.Flush(t.Context()); err != nil {
			t.Fatalf("Flush %d with SMTP up: %v (%s)", i, err, mailer.Describe(err))
		}
	}
	msgs, err := s.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("the server received %d messages, want exactly 1", n)
	}
	p := parse(t, msgs[0].Data)
	m := codeLine.FindStringSubmatch(string(p.one(t, "text/plain").body))
	if m == nil || m[1] != second.Code {
		t.Fatalf("the message carries %v, want the newest code %q (the first was %q)", m, second.Code, first.Code)
	}
	if _, err := svc.Provision("127.0.0.1", "bob", m[1], "Android 14"); err != nil {
		t.Fatalf("the mailed code does not provision: %v", err)
	}
	box = MustOutbox(t, svc)
	if box[0].State != core.MailWithdrawn || box[1].State != core.MailSent {
		t.Fatalf("outbox at the end: %+v", box)
	}
}
