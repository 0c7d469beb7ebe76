package core

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MailCertificate describes the mail server's TLS certificate when Provisio
// refused it: what an admin compares before trusting it (the fingerprint,
// the names it is for, how long it is valid). It travels as data, from the
// mail adapter to the console and over the admin API to an attached or
// remote console, so no one has to read a fingerprint out of a sentence.
type MailCertificate struct {
	// Fingerprint is the SHA-256 of the leaf certificate, upper-case hex
	// pairs joined by colons, as Provisio shows its own certificate's.
	Fingerprint string `json:"fingerprint"`
	// Names are the DNS names and addresses it is for (its common name
	// when it has none).
	Names     []string  `json:"names,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Pinned is the fingerprint smtp.tls_fingerprint held when this
	// certificate was refused: "" when none was set (the computer's
	// trusted authorities decided), else this is not the pinned
	// certificate, or the pinned one is out of its validity.
	Pinned string `json:"pinned,omitempty"`
}

// Trustable reports whether pinning c would let mail through: it is valid
// at now and not already the pinned certificate. An expired certificate
// is refused pinned or not, so trusting it would change nothing.
func (c MailCertificate) Trustable(now time.Time) bool {
	if c.Fingerprint == "" || SameFingerprint(c.Fingerprint, c.Pinned) {
		return false
	}
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// MailCertError is the cause of a mail error about the relay's certificate:
// it carries the certificate refused, which RefusedMailCertificate finds in
// any error chain. Err is the underlying TLS error.
type MailCertError struct {
	Cert MailCertificate
	Err  error
}

// Error is the underlying TLS error's text, or says which certificate was
// refused when there is none.
func (e *MailCertError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "mail server certificate " + e.Cert.Fingerprint + " refused"
}

// Unwrap returns the underlying TLS error.
func (e *MailCertError) Unwrap() error { return e.Err }

// RefusedMailCertificate returns the certificate a mail error (of
// MailTools.SendTest, a delivery, or the admin API's test message) says
// was refused, if it says so.
func RefusedMailCertificate(err error) (MailCertificate, bool) {
	if ce, ok := errors.AsType[*MailCertError](err); ok {
		return ce.Cert, true
	}
	return MailCertificate{}, false
}

// CertFingerprint is the SHA-256 of a DER certificate as Provisio shows
// fingerprints: upper-case hex pairs joined by colons ("AB:CD:…").
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	b.Grow(len(sum)*3 - 1)
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// NormalizeFingerprint reads a SHA-256 fingerprint as an admin may paste
// it (colons, spaces or dashes between the pairs, or none; either case)
// and returns it in the form Provisio shows. The sentence of its error
// says what a fingerprint looks like.
func NormalizeFingerprint(v string) (string, error) {
	digits := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(v)))
	raw, err := hex.DecodeString(digits)
	switch {
	case err == nil && len(raw) == sha256.Size:
		var b strings.Builder
		for i, x := range raw {
			if i > 0 {
				b.WriteByte(':')
			}
			fmt.Fprintf(&b, "%02X", x)
		}
		return b.String(), nil
	case err == nil && len(raw) == 20:
		// What older tools (and some NAS pages) still show.
		return "", &Error{Code: CodeInvalid, Message: "That is a SHA-1 fingerprint; Provisio pins the SHA-256 one, 32 pairs of hex digits, which the Mail Transport screen shows after a failed test message."}
	}
	return "", &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q is not a SHA-256 certificate fingerprint: that is 32 pairs of hex digits separated by colons, such as AB:CD:…, as the Mail Transport screen shows it.", v)}
}

// SameFingerprint compares two fingerprints ignoring separators and case,
// so one typed or pasted in another form still matches. Empty matches
// nothing.
func SameFingerprint(a, b string) bool {
	na, errA := NormalizeFingerprint(a)
	nb, errB := NormalizeFingerprint(b)
	return errA == nil && errB == nil && na == nb
}
