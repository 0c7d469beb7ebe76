package mailer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"provisio/core"
)

// The causes of a refused pinned certificate, inside the
// core.MailCertError checkPin returns.
var (
	errPinChanged = errors.New("mailer: the server's certificate is not the pinned one")
	errPinExpired = errors.New("mailer: the pinned certificate is out of its validity")
)

// checkPin accepts the server's leaf certificate only if its SHA-256
// fingerprint is pin and it is valid at now. The refusal carries the
// certificate as data (core.MailCertError), for the console to show and
// offer to trust.
func checkPin(pin string, peer []*x509.Certificate, now time.Time) error {
	if len(peer) == 0 {
		return &core.MailCertError{Cert: core.MailCertificate{Pinned: pin}, Err: errPinChanged}
	}
	mc := describeCert(peer[0], pin)
	if !core.SameFingerprint(mc.Fingerprint, pin) {
		return &core.MailCertError{Cert: mc, Err: errPinChanged}
	}
	if now.Before(mc.NotBefore) || now.After(mc.NotAfter) {
		return &core.MailCertError{Cert: mc, Err: errPinExpired}
	}
	return nil
}

// describeCert is what an admin compares before trusting c.
func describeCert(c *x509.Certificate, pinned string) core.MailCertificate {
	return core.MailCertificate{
		Fingerprint: core.CertFingerprint(c.Raw),
		Names:       certNameList(c),
		NotBefore:   c.NotBefore,
		NotAfter:    c.NotAfter,
		Pinned:      pinned,
	}
}

// refusedLeaf is the certificate a failed verification was about, when
// the error says (crypto/tls hands it over with every refusal).
func refusedLeaf(err error) *x509.Certificate {
	if ve, ok := errors.AsType[*tls.CertificateVerificationError](err); ok && len(ve.UnverifiedCertificates) > 0 {
		return ve.UnverifiedCertificates[0]
	}
	if he, ok := errors.AsType[x509.HostnameError](err); ok {
		return he.Certificate
	}
	if ue, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return ue.Cert
	}
	return nil
}

// pinSentence words a refusal of checkPin.
func pinSentence(ce *core.MailCertError) string {
	c := ce.Cert
	if errors.Is(ce.Err, errPinExpired) {
		if time.Now().Before(c.NotBefore) {
			return fmt.Sprintf("The mail server's TLS certificate, the one trusted in the mail settings, is valid only from %s; check this computer's clock", when(c.NotBefore))
		}
		return fmt.Sprintf("The mail server's TLS certificate, the one trusted in the mail settings, expired on %s; give the mail server a new certificate, then trust that one", when(c.NotAfter))
	}
	if c.Fingerprint == "" {
		return "The mail server sent no TLS certificate, so it cannot be the one trusted in the mail settings"
	}
	return fmt.Sprintf("The mail server's TLS certificate has changed: it is not the one trusted in the mail settings (SHA-256 %s) "+
		"but one with the SHA-256 fingerprint %s. If the mail server was given a new certificate, check that fingerprint and trust it "+
		"(Mail Transport, or provisio settings set smtp.tls_fingerprint); if it was not, something may be posing as the mail server",
		c.Pinned, c.Fingerprint)
}

// trustHint is what the sentence for an untrusted certificate adds when
// pinning it would work: its fingerprint, to compare, and where to trust it.
func trustHint(c core.MailCertificate) string {
	return fmt.Sprintf("Its SHA-256 fingerprint is %s; once you have checked that this is the mail server's certificate, "+
		"you can trust it instead (Mail Transport, or provisio settings set smtp.tls_fingerprint)", c.Fingerprint)
}

// when is a date and time as the sentences show it, in local time.
func when(t time.Time) string { return t.Local().Format("2 Jan 2006 15:04 MST") }
