package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Mail Transport's relay certificate (a refused one shown to compare and trust,
// the one trusted) and the offer to retry what failed before a fix.

// showPin shows the certificate trusted by fingerprint, if any.
func (s *transportScreen) showPin(fp string) {
	if fp == "" {
		s.pin.SetText(msgNoPin)
		s.forgetPin.Disable()
		return
	}
	s.pin.SetText(pinPrefix + fp)
	s.forgetPin.Enable()
}

// showRefused shows the certificate a test refused, with "Trust this
// certificate" when pinning it would let mail through; an empty one hides
// the box.
func (s *transportScreen) showRefused(mc core.MailCertificate) {
	s.refused = mc
	if mc.Fingerprint == "" {
		s.certBox.Hide()
		relayout(s.content)
		return
	}
	s.certFP.SetText(mc.Fingerprint)
	names := strings.Join(mc.Names, ", ")
	if names == "" {
		names = "(no name)"
	}
	s.certNames.SetText(names)
	s.certDate.SetText(mc.NotBefore.Local().Format("2 Jan 2006") + " to " + mc.NotAfter.Local().Format("2 Jan 2006"))
	if mc.Trustable(time.Now()) {
		s.trustCert.Show()
	} else {
		// Expired, or already the one trusted: pinning changes nothing.
		s.trustCert.Hide()
	}
	s.certBox.Show()
	relayout(s.content)
}

// trustRefused pins the certificate the last test refused, through the
// settings use case (so the change is in the audit log, and an attached
// console saves it on the server). Only the pin is saved: the rest of the
// form stays as typed.
func (s *transportScreen) trustRefused() {
	if s.refused.Fingerprint == "" {
		return
	}
	if err := s.savePin(s.refused.Fingerprint); err != nil {
		s.showTestResult("Not trusted: "+core.ErrorMessage(err), widget.DangerImportance)
		return
	}
	s.showRefused(core.MailCertificate{})
	s.showTestResult(msgTrusted, widget.SuccessImportance)
	if offer := s.offerRetry(); offer != "" {
		s.showResult("Trusted."+offer, widget.SuccessImportance)
	}
}

// offerRetry shows Retry failed messages when the Outbox holds failed
// messages after a save, and returns the sentence that says so ("" and
// no button when there are none).
func (s *transportScreen) offerRetry() string {
	msgs, err := s.c.svc.Outbox()
	n := countFailed(msgs, s.c.svc.Now())
	if err != nil || n == 0 {
		s.retryFailed.Hide()
		return ""
	}
	s.retryFailed.Show()
	if n == 1 {
		return " 1 message in the Outbox failed before this change; retry it now?"
	}
	return fmt.Sprintf(" %d messages in the Outbox failed before this change; retry them now?", n)
}

// retryFailedMail queues the failed messages again (the Outbox's Retry
// all failed).
func (s *transportScreen) retryFailedMail() {
	s.retryFailed.Hide()
	n, err := s.c.svc.RetryFailedMail()
	if err != nil {
		s.showResult("Not queued: "+core.ErrorMessage(err), widget.DangerImportance)
		return
	}
	s.showResult(plural(n, "failed message", "failed messages")+" queued again; the Outbox shows how they go.", widget.SuccessImportance)
}

// forgetPinned clears the pin: the computer's trusted authorities decide
// again.
func (s *transportScreen) forgetPinned() {
	if err := s.savePin(""); err != nil {
		s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
		return
	}
	s.showResult("The mail server's certificate is no longer trusted by its fingerprint.", widget.SuccessImportance)
}

// savePin saves smtp.tls_fingerprint alone.
func (s *transportScreen) savePin(fp string) error {
	if err := s.c.svc.ChangeSettings(map[string]string{keySMTPPin: fp}, "Mail transport"); err != nil {
		return err
	}
	s.showPin(s.c.svc.Settings().Mail.TLSFingerprint)
	return nil
}
