package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/mailer"
)

// The last requests an attached console sent on the UI thread: Mail
// Transport's template, certificate and retry buttons, the Reset buttons
// of the settings forms and Apply's checks, which read the saved
// settings (a request once a change made the console's copy stale), on
// the same silent network as freeze_test.go.

// testPin is a SHA-256 fingerprint to trust as the mail server's.
const testPin = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

// failOneMessage queues a message for bob and marks it failed, so the
// Outbox holds one failed message.
func (h *harness) failOneMessage() {
	h.t.Helper()
	ic, err := h.svc.MailProvisionCode("bob")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.svc.MailFailed(ic.MailID, "The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.", false); err != nil {
		h.t.Fatal(err)
	}
}

// waitsDisabled fails the test unless each of ws is disabled.
func waitsDisabled(t *testing.T, what string, ws ...fyne.Disableable) {
	t.Helper()
	for i, w := range ws {
		if !w.Disabled() {
			t.Errorf("%s: input %d is enabled while the request is on its way", what, i)
		}
	}
}

// TestAttachedFreeze_Reset: Reset on a settings form comes back at once
// over a silent network after a change made its copy of the settings
// stale, waits disabled with Apply, keeps what was typed until the
// answer, and then shows the saved values.
func TestAttachedFreeze_Reset(t *testing.T) {
	for _, tt := range []struct {
		name       string
		key, value string // saved on the service meanwhile
		entry      func(h *harness) *widget.Entry
		buttons    func(h *harness) (reset, apply *widget.Button)
	}{
		{"PIN & Lockout", "policy.lockout.max_failures", "7",
			func(h *harness) *widget.Entry { return h.c.pin.entries["policy.lockout.max_failures"].entry },
			func(h *harness) (*widget.Button, *widget.Button) { return h.c.pin.reset, h.c.pin.apply }},
		{"server", keyServerName, "hq",
			func(h *harness) *widget.Entry { return h.c.server.name.entry },
			func(h *harness) (*widget.Button, *widget.Button) { return h.c.server.reset, h.c.server.apply }},
		{"mail transport", keySMTPHost, "smtp.example.org",
			func(h *harness) *widget.Entry { return h.c.transport.host.entry },
			func(h *harness) (*widget.Button, *widget.Button) { return h.c.transport.reset, h.c.transport.apply }},
		{"template", keyTemplateSubject, "Your code, {username}",
			func(h *harness) *widget.Entry { return h.c.transport.template.subject.entry },
			func(h *harness) (*widget.Button, *widget.Button) {
				return h.c.transport.template.reset, h.c.transport.template.apply
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			e := tt.entry(h)
			reset, apply := tt.buttons(h)
			e.SetText("typed-here")
			h.staleSettings(tt.key, tt.value)
			h.tapWhileHeld(g, reset, "Reset")
			waitsDisabled(t, "Reset", apply)
			if e.Text != "typed-here" {
				t.Errorf("the form changed before the service answered: %q", e.Text)
			}
			g.release()
			h.answered()
			if e.Text != tt.value {
				t.Errorf("after Reset the field reads %q, want %q", e.Text, tt.value)
			}
			if reset.Disabled() || apply.Disabled() {
				t.Error("Reset or Apply stays disabled after the answer")
			}
		})
	}
}

// TestAttachedFreeze_ApplyReadsSettings: Apply's checks read the saved
// settings (and Backups asks the service whether its folder will do):
// over a silent network, after a change made the copy stale, Apply comes
// back at once, waits disabled with Reset and the value as typed, and
// the value is saved once the network carries; a value core refuses is
// marked under its field then, and nothing is saved.
func TestAttachedFreeze_ApplyReadsSettings(t *testing.T) {
	type formCase struct {
		entry        func(h *harness) *field
		buttons      func(h *harness) (apply, reset *widget.Button)
		result       func(h *harness) string
		saved        func(h *harness) bool
		good, bad    string // a value core takes and one it refuses
		savedMessage string // the result line's start after a save
	}
	forms := map[string]formCase{
		"PIN & Lockout": {
			entry:   func(h *harness) *field { return h.c.pin.entries["policy.lockout.max_failures"] },
			buttons: func(h *harness) (*widget.Button, *widget.Button) { return h.c.pin.apply, h.c.pin.reset },
			result:  func(h *harness) string { return h.c.pin.result.Text },
			saved:   func(h *harness) bool { return h.svc.Settings().MaxFailures == 7 },
			good:    "7", bad: "0", savedMessage: "Saved.",
		},
		"backups": {
			entry: func(h *harness) *field { return h.c.backups.form.entries["backup.keep"] },
			buttons: func(h *harness) (*widget.Button, *widget.Button) {
				return h.c.backups.form.apply, h.c.backups.form.reset
			},
			result: func(h *harness) string { return h.c.backups.form.result.Text },
			saved:  func(h *harness) bool { return h.svc.Settings().Backup.Keep == 7 },
			good:   "7", bad: "0", savedMessage: "Saved.",
		},
		"server": {
			entry:   func(h *harness) *field { return h.c.server.siteID },
			buttons: func(h *harness) (*widget.Button, *widget.Button) { return h.c.server.apply, h.c.server.reset },
			result:  func(h *harness) string { return h.c.server.result.Text },
			saved:   func(h *harness) bool { return h.svc.Settings().SiteID == "hq-7" },
			good:    "hq-7", bad: "hq 7", savedMessage: "Saved.",
		},
		"mail transport": {
			entry:   func(h *harness) *field { return h.c.transport.from },
			buttons: func(h *harness) (*widget.Button, *widget.Button) { return h.c.transport.apply, h.c.transport.reset },
			result:  func(h *harness) string { return h.c.transport.result.Text },
			saved:   func(h *harness) bool { return h.svc.Settings().Mail.From == "provisio@example.org" },
			good:    "provisio@example.org", bad: "not an address", savedMessage: "Saved.",
		},
	}
	for name, fc := range forms {
		for _, valid := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/saved", false: "/refused"}[valid], func(t *testing.T) {
				h, g := frozenHarness(t)
				fl := fc.entry(h)
				apply, reset := fc.buttons(h)
				value := map[bool]string{true: fc.good, false: fc.bad}[valid]
				fl.entry.SetText(value)
				h.staleSettings("server.name", "elsewhere")
				h.tapWhileHeld(g, apply, "Apply")
				waitsDisabled(t, "Apply", reset)
				if fl.entry.Text != value {
					t.Errorf("the field changed while saving: %q", fl.entry.Text)
				}
				g.release()
				h.answered()
				if valid {
					if !strings.HasPrefix(fc.result(h), fc.savedMessage) || !fc.saved(h) {
						t.Errorf("result %q, saved %v", fc.result(h), fc.saved(h))
					}
					return
				}
				if fl.msg.Text == "" || !strings.HasPrefix(fc.result(h), "Not saved") || fl.entry.Text != value {
					t.Errorf("refused: field error %q, result %q, field %q", fl.msg.Text, fc.result(h), fl.entry.Text)
				}
				if apply.Disabled() {
					t.Error("Apply stays disabled after the refusal")
				}
			})
		}
	}
}

// TestAttachedFreeze_TemplateApply: Apply on the provision message reads
// the saved settings, saves and reads the template back off the UI
// thread; Reset and Restore default wait disabled with it, the subject
// as typed, and "Saved." shows once the network carries. Restore default
// asks nothing: the built-in message came with the screen's read.
func TestAttachedFreeze_TemplateApply(t *testing.T) {
	h, g := frozenHarness(t)
	h.svc.SetMailTools(mailer.Tools{}) // as app wires the service
	h.c.transport.reread()             // for the built-in message
	h.answered()
	tpl := h.c.transport.template
	tpl.subject.entry.SetText("Your code, {username}")
	h.staleSettings("server.name", "elsewhere")
	h.tapWhileHeld(g, tpl.apply, "Apply")
	waitsDisabled(t, "template Apply", tpl.reset, tpl.restore)
	if tpl.subject.entry.Text != "Your code, {username}" {
		t.Errorf("the subject changed while saving: %q", tpl.subject.entry.Text)
	}
	g.release()
	h.answered()
	if tpl.result.Text != "Saved." || h.svc.Settings().ProvisionTemplate.Subject != "Your code, {username}" {
		t.Errorf("result %q, stored subject %q", tpl.result.Text, h.svc.Settings().ProvisionTemplate.Subject)
	}

	h.staleSettings("server.name", "elsewhere-2")
	g.hold()
	test.Tap(tpl.restore)
	if !g.holding() {
		t.Fatal("Restore default held the window until the service answered")
	}
	g.release()
	def := h.c.mail().DefaultProvisionTemplate()
	if def.Subject == "" {
		t.Fatal("the service has no built-in message to restore")
	}
	if tpl.subject.entry.Text != def.Subject || tpl.html.Text != def.HTML {
		t.Errorf("Restore default put %q in the subject, want %q", tpl.subject.entry.Text, def.Subject)
	}
}

// answersWhileHeld lets the network carry until each answer on its way
// is queued for the UI thread, and applies each one with the network
// held again: applying it must not ask the service anything more (a
// request made as the answer is applied freezes the window as much as
// one made at the tap).
func (h *harness) answersWhileHeld(g *gate) {
	h.t.Helper()
	g.release()
	deadline := time.After(waitLimit)
	for h.c.requests > 0 {
		select {
		case fn := <-h.queue:
			g.hold()
			fn()
			if !g.holding() {
				h.t.Fatal("applying an answer held the window until the service answered again")
			}
			g.release()
		case <-deadline:
			h.t.Fatal("timed out waiting for the service's answers")
		}
	}
}

// TestAttachedFreeze_TrustForgetRetry: Trust this certificate, Forget
// and Retry failed messages on Mail Transport come back at once over a
// silent network and wait disabled; once the network carries, the pin
// is saved or cleared, the offer to retry counts the failed message
// (read with the save, not as its answer is applied), and the retry
// queues it.
func TestAttachedFreeze_TrustForgetRetry(t *testing.T) {
	for _, tt := range []struct {
		name string
		tap  func(h *harness) *widget.Button // readies the screen
		then func(t *testing.T, h *harness)
	}{
		{"trust", func(h *harness) *widget.Button {
			h.c.transport.showRefused(core.MailCertificate{Fingerprint: testPin, Names: []string{"smtp.example.org"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
			return h.c.transport.trustCert
		}, func(t *testing.T, h *harness) {
			s := h.c.transport
			if got := h.svc.Settings().Mail.TLSFingerprint; got != testPin || s.pin.Text != pinPrefix+testPin {
				t.Errorf("stored pin %q, shown %q", got, s.pin.Text)
			}
			if s.certBox.Visible() || s.testResult.Text != msgTrusted {
				t.Errorf("after Trust: certificate shown %v, test result %q", s.certBox.Visible(), s.testResult.Text)
			}
			if want := "Trusted. 1 message in the Outbox failed before this change; retry it now?"; s.result.Text != want || !s.retryFailed.Visible() {
				t.Errorf("result %q (want %q), retry offered %v", s.result.Text, want, s.retryFailed.Visible())
			}
		}},
		{"retry", func(h *harness) *widget.Button {
			h.c.transport.retryFailed.Show()
			return h.c.transport.retryFailed
		}, func(t *testing.T, h *harness) {
			if want := "1 failed message queued again; the Outbox shows how they go."; h.c.transport.result.Text != want {
				t.Errorf("after Retry: result %q, want %q", h.c.transport.result.Text, want)
			}
			if msgs, err := h.svc.Outbox(); err != nil || countFailed(msgs, h.svc.Now()) != 0 {
				t.Errorf("the Outbox still holds failed messages: %+v, %v", msgs, err)
			}
		}},
		{"forget", func(h *harness) *widget.Button {
			if err := h.svc.SetSetting(keySMTPPin, testPin); err != nil {
				h.t.Fatal(err)
			}
			h.c.transport.configChanged()
			h.answered()
			return h.c.transport.forgetPin
		}, func(t *testing.T, h *harness) {
			if got := h.svc.Settings().Mail.TLSFingerprint; got != "" || h.c.transport.pin.Text != msgNoPin {
				t.Errorf("after Forget: stored %q, shown %q", got, h.c.transport.pin.Text)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			h.failOneMessage()
			h.answered()
			b := tt.tap(h)
			h.tapWhileHeld(g, b, tt.name)
			h.answersWhileHeld(g)
			tt.then(t, h)
		})
	}
}

// TestAttachedFreeze_ApplyOffersRetry: the offer to retry after Mail
// Transport's Apply counts the Outbox's failed messages with the save,
// off the UI thread, not as the answer is applied: the answer says
// there is one to retry.
func TestAttachedFreeze_ApplyOffersRetry(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.transport
	h.failOneMessage()
	h.answered()
	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.from.entry, "provisio@example.org")
	h.tapWhileHeld(g, s.apply, "Apply")
	h.answersWhileHeld(g)
	if want := "Saved. 1 message in the Outbox failed before this change; retry it now?"; s.result.Text != want || !s.retryFailed.Visible() {
		t.Errorf("result %q (want %q), retry offered %v", s.result.Text, want, s.retryFailed.Visible())
	}
}

// TestAttachedFreeze_SendTestReadsSettings: Send test message sets the
// form's values on the saved settings, read off the UI thread; Send
// waits disabled, "Sending…" shows at once, and a field core refuses is
// marked once the network carries, nothing sent.
func TestAttachedFreeze_SendTestReadsSettings(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.transport
	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.from.entry, "not an address")
	test.Type(s.testTo.entry, "bob@example.org")
	h.staleSettings("server.name", "elsewhere")
	h.tapWhileHeld(g, s.sendTest, "Send test message")
	if s.testResult.Text != msgSending {
		t.Errorf("while reading the test result says %q", s.testResult.Text)
	}
	s.sendTestMessage() // Enter in the address meanwhile sends nothing more
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way, want 1", h.c.requests)
	}
	g.release()
	h.answered()
	if s.from.msg.Text == "" || s.testResult.Text != "Not sent: correct the fields marked in red." {
		t.Errorf("From's error %q, test result %q", s.from.msg.Text, s.testResult.Text)
	}
	if s.sendTest.Disabled() {
		t.Error("Send test message stays disabled after the answer")
	}
}
