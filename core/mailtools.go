package core

import (
	"context"
	"crypto/tls"
	"strings"
)

// MailQRKeyword stands for the inline QR code image in a provision
// template's HTML part, as in <img src="url4"> (Swivel's keyword).
const MailQRKeyword = "url4"

// MailTools is what the console needs of the mail adapter (core/mailer)
// without importing it: the built-in provision message, a test message
// and the sentence for a mail error. The composition root wires the
// mailer's (mailer.Tools); ui gets it through its Deps.
type MailTools interface {
	// DefaultProvisionTemplate is the built-in provision message, what an
	// empty part of the stored template means.
	DefaultProvisionTemplate() MailTemplate
	// SendTest sends a test message to to with settings m, which need
	// not be saved yet; tlsConf, when set, is used for the TLS handshake.
	SendTest(ctx context.Context, m MailSettings, tlsConf *tls.Config, to string) error
	// Describe is the sentence a person reads for an error of SendTest.
	Describe(err error) string
}

// WithDefaults is t with every empty (or blank) part taken from def, which
// is what an empty part means in the settings.
func (t MailTemplate) WithDefaults(def MailTemplate) MailTemplate {
	pick := func(stored, def string) string {
		if strings.TrimSpace(stored) == "" {
			return def
		}
		return stored
	}
	return MailTemplate{Subject: pick(t.Subject, def.Subject), Text: pick(t.Text, def.Text), HTML: pick(t.HTML, def.HTML)}
}

// CarriesCode reports whether a message made from t lets its reader
// provision: it shows the code, the Provision URL or the QR code.
func (t MailTemplate) CarriesCode() bool {
	for _, part := range []string{t.Subject, t.Text, t.HTML} {
		if strings.Contains(part, "{code}") || strings.Contains(part, "{url}") || strings.Contains(part, MailQRKeyword) {
			return true
		}
	}
	return false
}
