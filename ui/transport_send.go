package ui

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

func (s *transportScreen) showTestResult(msg string, imp widget.Importance) {
	s.testResult.Importance = imp
	s.testResult.SetText(msg)
	relayout(s.content)
}

// sendTestMessage sends a test message through the settings in the form,
// saved or not, so the admin can try them before applying. The saved
// settings the form's values are set on are read first (off the UI
// thread when attached, request); the SMTP conversation runs in a
// goroutine; its answer comes back through Console.do. Send test waits
// disabled throughout.
func (s *transportScreen) sendTestMessage() {
	if s.sending {
		return
	}
	s.testTo.setError("")
	to := strings.TrimSpace(s.testTo.entry.Text)
	if to == "" {
		s.testTo.setError("Enter the address to send the test message to.")
		return
	}
	if err := core.ValidateEmail("to", to); err != nil {
		s.testTo.setError(core.ErrorMessage(err))
		return
	}
	// The test goes through everything the form shows, saved or not,
	// as it stands now.
	vals := s.formValues()
	s.sending = true
	// Said at once: attached, the saved settings come over the network
	// first.
	s.showTestResult(msgSending, widget.MediumImportance)
	s.readSettings([]fyne.Disableable{s.sendTest}, func(saved core.Settings) {
		set, ok := s.formSettings(saved, vals)
		if !ok {
			s.sending = false
			s.showTestResult("Not sent: correct the fields marked in red.", widget.DangerImportance)
			return
		}
		s.sendTestTo(set.Mail, to)
	})
}

// sendTestTo sends the test message through ms on a goroutine.
func (s *transportScreen) sendTestTo(ms core.MailSettings, to string) {
	s.sendTest.Disable()
	s.showRefused(core.MailCertificate{})
	tlsConf := s.tlsConfig
	go func() {
		// The mail adapter's timeout bounds the conversation.
		err := s.c.mail().SendTest(context.Background(), ms, tlsConf, to)
		s.c.do(func() { s.testDone(to, err) })
	}()
}

// testDone shows the outcome of a test message. It runs on the UI thread.
func (s *transportScreen) testDone(to string, err error) {
	s.sending = false
	s.sendTest.Enable()
	if err == nil {
		s.showTestResult("Test message sent to "+to+".", widget.SuccessImportance)
		return
	}
	// A settings problem found before dialling names its field.
	var ce *core.Error
	if errors.As(err, &ce) {
		if fl := s.fieldFor(ce.Field); fl != nil {
			fl.setError(ce.Message)
		}
	}
	s.showTestResult(s.c.mail().Describe(err), widget.DangerImportance)
	// The certificate comes as data, from this computer's mailer or the
	// server's over the admin API alike.
	if mc, ok := core.RefusedMailCertificate(err); ok && mc.Fingerprint != "" {
		s.showRefused(mc)
	}
}

// mail is the mail adapter's tools the composition root gave.
func (c *Console) mail() core.MailTools { return c.deps.Mail }
