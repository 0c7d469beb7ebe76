package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Mail Transport's relay certificate (a refused one shown to compare and trust,
// the one trusted) and the offer to retry what failed before a fix.

// showPin shows the certificate trusted by fingerprint, if any. Every
// read shows it, so Forget goes through setEnabled: it stays disabled
// while its own request is on its way.
func (s *transportScreen) showPin(fp string) {
	s.c.setEnabled(fp != "", s.forgetPin)
	if fp == "" {
		s.pin.SetText(noPinText(s.site))
		return
	}
	s.pin.SetText(pinPrefix + fp)
}

// noPinText is the Certificate row's sentence when no certificate is
// trusted by fingerprint, for the store si describes: whose authorities
// check the mail server's certificate. On an etcd site the outbox is
// sent by the server the site elected, with its computer's authorities,
// and a test message by this server, with this computer's; they may
// differ.
func noPinText(si StoreInfo) string {
	switch {
	case !si.Etcd:
		return msgNoPin
	case si.Leader != "" && si.Leader == si.ThisServer:
		return "Checked against the authorities this computer trusts: this server (" + si.ThisServer +
			") is the one this etcd site elected to send the mail, and it sends the test message too."
	}
	return "Checked against the authorities trusted by the computer of " + electedServer(si, "send the mail") +
		"; a test message, against those of this server's computer" + thisServerName(si) + "."
}

// showSite shows the wording for the store si describes
// (Console.askSite): the Certificate row names the server that sends the
// mail on an etcd site.
func (s *transportScreen) showSite(si StoreInfo) {
	s.site = si
	// Only the sentence for no pin changes; before the first read the
	// row is left empty, and a pinned certificate's stays.
	if strings.HasPrefix(s.pin.Text, "Checked against") {
		s.pin.SetText(noPinText(si))
	}
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
// form stays as typed. An attached console saves off the UI thread
// (request.go), Trust disabled until the answer comes.
func (s *transportScreen) trustRefused() {
	fp := s.refused.Fingerprint
	if fp == "" || s.trustCert.Disabled() {
		return
	}
	s.savePin(s.trustCert, fp, func(failed int, err error) {
		if err != nil {
			s.showTestResult("Not trusted: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		if s.refused.Fingerprint == fp {
			// Not replaced meanwhile by another test's refusal.
			s.showRefused(core.MailCertificate{})
			s.showTestResult(msgTrusted, widget.SuccessImportance)
		}
		if offer := s.offerRetry(failed); offer != "" {
			s.showResult("Trusted."+offer, widget.SuccessImportance)
		}
	})
}

// offerRetry shows Retry failed messages when failed messages in the
// Outbox (read with the save) are more than none, and returns the
// sentence that says so ("" and no button when there are none).
func (s *transportScreen) offerRetry(failed int) string {
	if failed == 0 {
		s.retryFailed.Hide()
		return ""
	}
	s.retryFailed.Show()
	if failed == 1 {
		return " 1 message in the Outbox failed before this change; retry it now?"
	}
	return fmt.Sprintf(" %d messages in the Outbox failed before this change; retry them now?", failed)
}

// retryFailedMail queues the failed messages again (the Outbox's Retry
// all failed), off the UI thread when attached (request.go).
func (s *transportScreen) retryFailedMail() {
	if s.retryFailed.Disabled() {
		return
	}
	svc := s.c.svc
	request(s.c, []fyne.Disableable{s.retryFailed}, svc.RetryFailedMail, func(n int, err error) {
		s.retryFailed.Hide()
		if err != nil {
			s.showResult("Not queued: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		s.showResult(plural(n, "failed message", "failed messages")+" queued again; the Outbox shows how they go.", widget.SuccessImportance)
	})
}

// forgetPinned clears the pin: the computer's trusted authorities decide
// again, and failed messages in the Outbox are offered again as after a
// save. An attached console saves off the UI thread (request.go), Forget
// disabled until the answer comes.
func (s *transportScreen) forgetPinned() {
	if s.forgetPin.Disabled() {
		return
	}
	s.savePin(s.forgetPin, "", func(failed int, err error) {
		if err != nil {
			s.showResult("Not saved: "+core.ErrorMessage(err), widget.DangerImportance)
			return
		}
		// Like any change of the transport, it may be what the failed
		// messages needed: the relay's certificate now passes the
		// computer's trusted authorities instead of the old pin.
		s.showResult("The mail server's certificate is no longer trusted by its fingerprint."+s.offerRetry(failed), widget.SuccessImportance)
	})
}

// savePin saves smtp.tls_fingerprint alone, btn disabled while the
// request is on its way, shows the pin saved and hands done how many
// messages in the Outbox failed.
func (s *transportScreen) savePin(btn fyne.Disableable, fp string, done func(failed int, err error)) {
	svc := s.c.svc
	request(s.c, []fyne.Disableable{btn}, func() (transportSaved, error) {
		return saveTransport(svc, map[string]string{keySMTPPin: fp})
	}, func(r transportSaved, err error) {
		if err == nil {
			s.showPin(r.set.Mail.TLSFingerprint)
		}
		done(r.failed, err)
	})
}
