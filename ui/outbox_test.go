package ui

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// row returns the texts of the outbox list's row i as the admin reads them.
func (s *outboxScreen) row(i int) []string {
	o := s.list.CreateItem()
	s.updateRow(i, o)
	return visibleTexts(o)
}

// selectMessage selects the outbox row of message id.
func (h *harness) selectMessage(id uint64) {
	h.t.Helper()
	s := h.c.outbox
	for i, m := range s.shown {
		if m.ID == id {
			s.list.Select(i)
			return
		}
	}
	h.t.Fatalf("message %d is not listed", id)
}

func TestOutbox_SendByEmailThenDeliver(t *testing.T) {
	h := newHarness(t)
	s := h.c.outbox
	s.loc = time.UTC
	if !s.empty.Visible() || s.empty.Text != outboxEmpty {
		t.Errorf("empty state %q (visible %v)", s.empty.Text, s.empty.Visible())
	}
	if !s.banner.Visible() || s.banner.Text != outboxNotSetUp {
		t.Errorf("banner %q (visible %v)", s.banner.Text, s.banner.Visible())
	}

	// Send by email in the Reprovision dialog: the code on screen, as it
	// was, and a message carrying it waiting in the outbox (#8).
	d := h.openFor("alice")
	first := d.issued.Code
	test.Tap(d.sendMail)
	if d.issued.Code != first || d.issued.MailID == 0 {
		t.Fatalf("Send by email did not mail the code on screen %q: %+v", first, d.issued)
	}
	if got := strings.ReplaceAll(d.code.Text, " ", ""); got != d.issued.Code {
		t.Errorf("dialog shows %q, issued %q", d.code.Text, d.issued.Code)
	}
	if want := "Queued for alice@example.org; it goes out once mail is set up in Mail Transport."; d.status.Text != want {
		t.Errorf("status %q, want %q", d.status.Text, want)
	}
	h.waitFor("message listed", func() bool { return len(s.shown) == 1 })
	if got, want := s.row(0), []string{"2025-06-02 09:00", "alice", "alice@example.org", "provision", "queued", "0", "when mail is set up"}; !equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	if s.empty.Visible() {
		t.Error("the empty text shows over a message")
	}
	// The mailed code reaches the admin as the dialog shows it, and no
	// agent notice pops up for it.
	h.settle()
	if h.c.notice != nil {
		t.Error("the console's own mailed code raised an agent notice")
	}
	d.dlg.Hide()

	id := d.issued.MailID
	h.selectMessage(id)
	assertNoSecret(t, h.win, d.issued.Code)
	assertNoSecret(t, h.win, groupCode(d.issued.Code))
	if !strings.HasPrefix(s.detail.Text, "Provision code for alice to alice@example.org, queued 2025-06-02 09:00: queued") {
		t.Errorf("detail %q", s.detail.Text)
	}

	// A failed attempt, then Retry now.
	const reason = "The mail server refused the recipient alice@example.org: 550 5.1.1 User unknown."
	if err := h.svc.MailFailed(id, reason, false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("failed state", func() bool { return s.shown[0].State == core.MailFailed })
	if got := s.row(0); !contains(got, "failed") || !contains(got, reason) || !contains(got, "1") {
		t.Errorf("failed row %q", got)
	}
	if !strings.Contains(s.detail.Text, "Last error: "+reason) || s.retry.Disabled() {
		t.Errorf("detail %q, retry disabled %v", s.detail.Text, s.retry.Disabled())
	}
	test.Tap(s.retry)
	if m := s.shown[0]; m.State != core.MailQueued || m.Attempts != 1 {
		t.Errorf("after Retry now: %s, %d attempts", m.State, m.Attempts)
	}

	// Mail set up in Mail Transport, then one round of the sender.
	srv, err := smtpcapture.New(smtpcapture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	fillTransport(h.c.transport, srv.Host(), srv.Port(), core.MailSecurityNone)
	test.Tap(h.c.transport.apply)
	h.waitFor("banner gone", func() bool { return !s.banner.Visible() })
	if got := s.row(0); !contains(got, "now") {
		t.Errorf("queued row once mail is set up: %q", got)
	}

	w := &mailer.Worker{Service: h.svc, QRPNG: func(text string) ([]byte, error) { return qr.PNG(text, 240) }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	h.waitFor("sent state", func() bool { return s.shown[0].State == core.MailSent })
	if got := s.row(0); !contains(got, "sent at 2025-06-02 09:00") || !contains(got, "2") {
		t.Errorf("sent row %q", got)
	}
	if !s.retry.Disabled() {
		t.Error("Retry now is offered for a delivered message")
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "alice@example.org" || !strings.Contains(string(msgs[0].Data), d.issued.Code) {
		t.Fatalf("captured %d messages, want the code for alice", len(msgs))
	}
	assertNoSecret(t, h.win, d.issued.Code)

	// Discard asks first.
	test.Tap(s.discard)
	if s.confirm == nil {
		t.Fatal("Discard did not ask for confirmation")
	}
	s.confirm.Confirm()
	if len(s.shown) != 0 || !s.empty.Visible() || s.detail.Text != "" {
		t.Errorf("after Discard: %d rows, empty visible %v, detail %q", len(s.shown), s.empty.Visible(), s.detail.Text)
	}
	if _, err := h.svc.OutMessage(id); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("message still in the outbox: %v", err)
	}
}

func TestOutbox_SendByEmailWithoutAddress(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.AddUser(core.User{Name: "bob", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	s := h.c.users
	h.waitFor("bob listed", func() bool { return len(s.shown) == 1 })
	s.list.Select(0)
	test.Tap(s.reprovision)
	d := h.c.reprov
	code := d.issued.Code

	test.Tap(d.sendMail)
	if want := `User "bob" has no email address to send the provision code to.`; d.status.Text != want {
		t.Errorf("status %q, want %q", d.status.Text, want)
	}
	if d.issued.Code != code {
		t.Error("a failed Send by email replaced the code on screen")
	}
	if msgs, _ := h.svc.Outbox(); len(msgs) != 0 {
		t.Errorf("outbox holds %v", msgs)
	}

	// With an address for security strings and the policy to use it, the
	// code goes there.
	if _, err := h.svc.UpdateUser("bob", func(u *core.User) error { u.StringsEmail = "bob.phone@example.org"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetSetting("policy.selfreset.send_code_as_security_string", "yes"); err != nil {
		t.Fatal(err)
	}
	test.Tap(d.sendMail)
	if !strings.HasPrefix(d.status.Text, "Queued for bob.phone@example.org") {
		t.Errorf("status %q", d.status.Text)
	}
}

func TestUserForm_SecurityStringEmail(t *testing.T) {
	h := newHarness(t)
	s := h.c.users
	test.Tap(s.add)
	f := s.form
	test.Type(f.name.entry, "dave")
	test.Type(f.stringsEmail.entry, "dave-phone")
	test.Tap(f.save)
	if want := `"dave-phone" is not an email address like name@example.org.`; f.stringsEmail.msg.Text != want {
		t.Fatalf("message %q, want %q", f.stringsEmail.msg.Text, want)
	}
	f.stringsEmail.entry.SetText("dave.phone@example.org")
	test.Tap(f.save)
	u, err := h.svc.User("dave")
	if err != nil || u.StringsEmail != "dave.phone@example.org" {
		t.Fatalf("saved %+v, %v", u, err)
	}

	// Edit shows it and saves a change.
	h.waitFor("dave listed", func() bool { return len(s.shown) == 1 })
	s.list.Select(0)
	test.Tap(s.edit)
	f = s.form
	if f.stringsEmail.entry.Text != "dave.phone@example.org" {
		t.Errorf("Edit shows %q", f.stringsEmail.entry.Text)
	}
	f.stringsEmail.entry.SetText("")
	test.Tap(f.save)
	if u, _ := h.svc.User("dave"); u.StringsEmail != "" {
		t.Errorf("after clearing: %q", u.StringsEmail)
	}
}

func TestOutbox_Layout(t *testing.T) {
	h := newHarness(t)
	s := h.c.outbox
	s.loc = time.UTC
	storetest.MustAddUser(t, h.svc, "alice", "1234")
	if _, err := h.svc.UpdateUser("alice", func(u *core.User) error { u.FullName = "Alice Liddell"; return nil }); err != nil {
		t.Fatal(err)
	}
	ic, err := h.svc.MailProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(90 * time.Second)
	failed, err := h.svc.QueueMail("", "helpdesk@example.org", "Provisio test message", "hello")
	if err != nil {
		t.Fatal(err)
	}
	// Mail is set up before the failures: saving mail settings makes a
	// message waiting out a back-off due at once, and this layout shows
	// one waiting.
	if err := h.svc.SetSetting("smtp.host", "smtp.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetSetting("smtp.from", "provisio@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.MailFailed(failed.ID, "The mail server refused the recipient helpdesk@example.org: 550 5.1.1 User unknown.", false); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.MailFailed(ic.MailID, "Could not connect to the mail server smtp.example.org:587: connection refused.", true); err != nil {
		t.Fatal(err)
	}
	h.waitFor("two messages", func() bool { return len(s.shown) == 2 && s.shown[1].Attempts == 1 && !s.banner.Visible() })
	h.selectMessage(ic.MailID)

	s.content.Resize(fyne.NewSize(1060, 520))
	test.AssertObjectRendersToMarkup(t, "outbox.xml", s.content)
	assertGoldenFree(t, "outbox.xml", ic.Code)

	// Mail not set up, nothing queued.
	for _, m := range []uint64{ic.MailID, failed.ID} {
		if err := h.svc.DiscardMail(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.SetSetting("smtp.host", ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor("empty outbox", func() bool { return len(s.shown) == 0 && s.banner.Visible() })
	test.AssertObjectRendersToMarkup(t, "outbox_empty.xml", s.content)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A message that failed keeps its code for Retry now while the code is
// valid; once the code expires the Outbox shows it withdrawn, without the
// failure as its last error, and no longer offers Retry now, before the
// sender looks (which then wipes the code, core's rule).
func TestOutbox_FailedMessageRetryOnlyWhileCodeValid(t *testing.T) {
	h := newHarness(t)
	s := h.c.outbox
	s.loc = time.UTC
	storetest.MustAddUser(t, h.svc, "alice", "1234")
	ic, err := h.svc.MailProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	const reason = "The mail server refused the recipient alice@example.org: 550 5.1.1 User unknown."
	if err := h.svc.MailFailed(ic.MailID, reason, false); err != nil {
		t.Fatal(err)
	}
	h.waitFor("failed state", func() bool { return len(s.shown) == 1 && s.shown[0].State == core.MailFailed })
	h.selectMessage(ic.MailID)
	if s.retry.Disabled() || !contains(s.row(0), "failed") || !strings.Contains(s.detail.Text, "The code expires ") {
		t.Fatalf("failed with a valid code: retry disabled %v, row %q, detail %q", s.retry.Disabled(), s.row(0), s.detail.Text)
	}

	h.clock.Advance(601 * time.Second)
	h.waitFor("Retry now withdrawn after expiry", func() bool { return s.retry.Disabled() })
	if !contains(s.row(0), "withdrawn: the code is no longer valid") {
		t.Errorf("row after expiry %q", s.row(0))
	}
	if contains(s.row(0), reason) || strings.Contains(s.detail.Text, "Last error") || strings.Contains(s.detail.Text, "The code expires") {
		t.Errorf("row %q, detail %q", s.row(0), s.detail.Text)
	}
}

// TestOutbox_RetryAllFailed: after a relay refused every message, one
// press of "Retry all failed" queues them all again and says how many,
// on the standalone console and on one attached to the service over a
// real admin socket (both through core.ConsoleAPI). The button is offered
// only while a failed message is listed; a failed one whose code has
// expired shows as withdrawn and does not count. The sender then
// delivers every message to a real SMTP server on loopback.
func TestOutbox_RetryAllFailed(t *testing.T) {
	tests := []struct {
		name    string
		harness func(t *testing.T) *harness
	}{
		{"standalone", newHarness},
		{"attached", func(t *testing.T) *harness { h, _ := newAttachedHarness(t); return h }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.harness(t)
			s := h.c.outbox
			if !s.retryAll.Disabled() {
				t.Error("Retry all failed is offered for an empty outbox")
			}
			const refused = "The mail server refused the sender provisio@example.org: 550 5.7.1 Relaying denied."
			fail := func(id uint64) {
				t.Helper()
				if err := h.svc.MailFailed(id, refused, false); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{"alice", "bob", "carol"} {
				storetest.MustAddUser(t, h.svc, name, "1234")
			}
			// carol's code fails and then expires: withdrawn, as far as
			// the admin can tell.
			dead, err := h.svc.MailProvisionCode("carol")
			if err != nil {
				t.Fatal(err)
			}
			fail(dead.MailID)
			h.clock.Advance(601 * time.Second)
			h.waitFor("carol's message withdrawn on screen", func() bool {
				return len(s.shown) == 1 && s.shownState(s.shown[0]) == core.MailWithdrawn
			})
			if !s.retryAll.Disabled() {
				t.Error("Retry all failed is offered for a message whose code has expired")
			}

			var ids []uint64
			for _, name := range []string{"alice", "bob"} {
				ic, err := h.svc.MailProvisionCode(name)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, ic.MailID)
			}
			h.waitFor("two queued", func() bool { return len(s.shown) == 3 })
			if !s.retryAll.Disabled() {
				t.Error("Retry all failed is offered with nothing failed")
			}
			for _, id := range ids {
				fail(id)
			}
			h.waitFor("Retry all failed offered", func() bool { return s.failedShown() == 2 && !s.retryAll.Disabled() })

			test.Tap(s.retryAll)
			h.answered()
			if want := "2 failed messages queued again."; s.status.Text != want || !s.status.Visible() {
				t.Errorf("status %q (visible %v), want %q", s.status.Text, s.status.Visible(), want)
			}
			for _, m := range s.shown {
				if st := s.shownState(m); st != core.MailQueued && st != core.MailWithdrawn {
					t.Errorf("after Retry all failed: %s", m)
				}
			}
			if !s.retryAll.Disabled() {
				t.Error("Retry all failed still offered with nothing failed")
			}
			if m, err := h.svc.OutMessage(dead.MailID); err != nil || m.State == core.MailQueued {
				t.Errorf("carol's expired message: %s, %v; want it left alone", m, err)
			}

			// The relay works now: one round delivers both.
			srv, err := smtpcapture.New(smtpcapture.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			for k, v := range map[string]string{"smtp.host": srv.Host(), "smtp.port": strconv.Itoa(srv.Port()),
				"smtp.security": core.MailSecurityNone, "smtp.from": "provisio@example.org"} {
				if err := h.svc.SetSetting(k, v); err != nil {
					t.Fatal(err)
				}
			}
			w := &mailer.Worker{Service: h.svc, QRPNG: func(text string) ([]byte, error) { return qr.PNG(text, 240) }}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := w.Flush(ctx); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if got := len(srv.Messages()); got != 2 {
				t.Errorf("the relay has %d messages, want alice's and bob's", got)
			}
			h.waitFor("both sent", func() bool {
				sent := 0
				for _, m := range s.shown {
					if m.State == core.MailSent {
						sent++
					}
				}
				return sent == 2
			})
		})
	}
}
