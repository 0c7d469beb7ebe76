package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"provisio/core"
)

// CodeMail is the core.Code of every error Send returns after it has started
// talking to the network. Settings and template problems use
// core.CodeInvalid instead, with Field set.
const CodeMail core.Code = "mail"

// Kinds of failure, tested with errors.Is on any error from this package.
// Every error Send returns wraps exactly one of them (or context.Canceled),
// so a caller can decide whether to queue a retry without parsing text; see
// Temporary.
var (
	// Found before any network traffic.

	// ErrInvalid: the settings, message or template are incomplete or
	// malformed. Permanent until someone edits them.
	ErrInvalid = errors.New("mailer: invalid settings or message")

	// Reaching the server.

	// ErrConnect: the server could not be reached, or dropped the
	// connection. Temporary.
	ErrConnect = errors.New("mailer: connection failed")
	// ErrTimeout: the server did not answer within Config.Timeout.
	// Temporary.
	ErrTimeout = errors.New("mailer: no answer in time")
	// ErrTLS: the certificate was not accepted, the server does not speak
	// TLS where it should, or refuses STARTTLS. Permanent: retrying will
	// not change a certificate.
	ErrTLS = errors.New("mailer: TLS failed")

	// Talking to the server. A 4xx reply makes any of these temporary.

	// ErrAuth: the login was refused, or could not be tried.
	ErrAuth = errors.New("mailer: login refused")
	// ErrSender: MAIL FROM was refused.
	ErrSender = errors.New("mailer: sender refused")
	// ErrRecipient: RCPT TO was refused.
	ErrRecipient = errors.New("mailer: recipient refused")
	// ErrRejected: the message itself was refused after DATA.
	ErrRejected = errors.New("mailer: message refused")
	// ErrServer: any other unexpected reply or failure.
	ErrServer = errors.New("mailer: unexpected reply")
)

// Describe returns the sentence to show a person for err: the Message of a
// *core.Error, or for any other error (a raw go-smtp or network error, say)
// the same wording Send would have used. It returns "" for nil.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*core.Error](err); ok {
		return e.Message
	}
	return classify(context.Background(), failure{phase: phaseUnknown}, err).Message
}

// Temporary reports whether sending again later might succeed: true for
// connection failures, timeouts, cancellation and any 4xx reply; false for
// bad settings, certificates, refused logins and 5xx replies.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	// The server's own verdict wins: 4xx means "try again later" even for
	// a refused login (454) or recipient (450 greylisting).
	if se, ok := errors.AsType[*smtp.SMTPError](err); ok {
		return se.Code/100 == 4
	}
	return errors.Is(err, ErrConnect) || errors.Is(err, ErrTimeout) || errors.Is(err, context.Canceled)
}

// kindError pairs a kind sentinel with its cause. Error shows the cause only,
// because core.Error already prefixes the human sentence and the log wants
// the raw detail, not our sentinel's text.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string {
	if e.err == nil {
		return e.kind.Error()
	}
	return e.err.Error()
}

func (e *kindError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

// mailError builds the *core.Error for a failure of the given kind.
func mailError(kind, cause error, format string, args ...any) *core.Error {
	return &core.Error{Code: CodeMail, Message: sentence(fmt.Sprintf(format, args...)), Err: &kindError{kind: kind, err: cause}}
}

// invalid is a settings or message error about one field.
func invalid(field, format string, args ...any) *core.Error {
	return &core.Error{Code: core.CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// withKind makes a *core.Error from core also match kind with errors.Is.
func withKind(err error, kind error) error {
	e, ok := errors.AsType[*core.Error](err)
	if !ok {
		return &kindError{kind: kind, err: err}
	}
	c := *e
	c.Err = &kindError{kind: kind, err: e.Err}
	return &c
}

// phase is the step of the SMTP conversation a failure happened in. The same
// 550 means "bad password" after AUTH and "no such mailbox" after RCPT.
type phase int

const (
	phaseUnknown  phase = iota
	phaseConnect        // TCP connect and, for implicit TLS, the handshake
	phaseStartTLS       // greeting, EHLO and STARTTLS
	phaseHello          // greeting and EHLO (after STARTTLS: the handshake)
	phaseAuth
	phaseMail
	phaseRcpt
	phaseData
)

// failure is what classify needs to know besides the error.
type failure struct {
	phase      phase
	addr       string // host:port
	from, rcpt string
	pinned     bool // a certificate is pinned (Config.TLSFingerprint)
	// tlsOffered: the session is unencrypted (Security none) and the
	// server offers STARTTLS but no login, so a "530" asks for TLS.
	tlsOffered bool
}

// classify turns err into a sentence and a kind. Order matters: a server
// reply is the most precise evidence, then our own deadline (which shows up
// as a closed connection), then TLS, then network errors.
func classify(ctx context.Context, f failure, err error) *core.Error {
	server := "the mail server"
	if f.addr != "" {
		server += " " + f.addr
	}
	if se, ok := errors.AsType[*smtp.SMTPError](err); ok {
		return classifyReply(f, server, se, err)
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return mailError(context.Canceled, err, "Sending the mail was cancelled")
	case ctx.Err() != nil, isTimeout(err):
		return mailError(ErrTimeout, err, "%s did not answer in time", upperFirst(server))
	}
	if ce, ok := errors.AsType[*core.MailCertError](err); ok {
		// Refused by the pin (checkPin), which already carries the
		// certificate.
		return mailError(ErrTLS, err, "%s", pinSentence(ce))
	}
	if reason, ok := certProblem(err); ok {
		cause := err
		if leaf := refusedLeaf(err); leaf != nil {
			// The certificate goes along as data, for the console to
			// show and offer to trust; the log gets its fingerprint.
			mc := describeCert(leaf, "")
			cause = &core.MailCertError{Cert: mc, Err: err}
			if mc.Trustable(time.Now()) {
				reason = sentence(reason) + " " + trustHint(mc)
			}
		}
		return mailError(ErrTLS, cause, "The mail server's TLS certificate was not accepted: %s", reason)
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return mailError(ErrTLS, err, "%s did not answer with TLS; check the port and the Security setting (TLS is usually port 465, STARTTLS port 587)", upperFirst(server))
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return mailError(ErrTLS, err, "The TLS handshake with %s failed: %v", server, err)
	}
	if f.phase == phaseStartTLS && !isNetwork(err) {
		// go-smtp reports a missing STARTTLS capability as a plain error.
		if f.pinned {
			// A pinned relay that stops offering STARTTLS may have a
			// connection in front of it that strips it: never advise
			// sending in clear text.
			return mailError(ErrTLS, err, "%s does not offer STARTTLS, although its certificate is trusted in the mail settings; "+
				"check the mail server, or set Security to tls if it takes TLS from the start (something may be removing STARTTLS on the way)", upperFirst(server))
		}
		// "none" is a choice for a relay on a trusted network only: said
		// bare, it is what someone stripping STARTTLS on the way wants.
		return mailError(ErrTLS, err, "%s does not offer STARTTLS: set Security to tls if it takes TLS from the start (usually port 465); none sends the mail, and any password, unencrypted, so choose it only for a relay on a network you trust", upperFirst(server))
	}
	if f.phase == phaseConnect {
		return mailError(ErrConnect, err, "Could not connect to %s: %s", server, connectReason(err))
	}
	if isDropped(err) {
		return mailError(ErrConnect, err, "%s closed the connection unexpectedly", upperFirst(server))
	}
	return mailError(ErrServer, err, "Could not send mail through %s: %v", server, err)
}

// classifyReply words an SMTP error reply according to the step that got it.
func classifyReply(f failure, server string, se *smtp.SMTPError, err error) *core.Error {
	reply := formatReply(se)
	if se.Code == 421 {
		return mailError(ErrServer, err, "%s is not available just now: %s", upperFirst(server), reply)
	}
	if se.Code == 530 && (f.tlsOffered || strings.Contains(strings.ToUpper(se.Message), "TLS") || strings.Contains(strings.ToLower(se.Message), "encrypt")) {
		// Postfix with smtpd_tls_security_level = encrypt: 530 5.7.0
		// "Must issue a STARTTLS command first", the same code as for a
		// missing login, whose advice would not help.
		return mailError(ErrTLS, err, "The mail server takes mail only over an encrypted connection; set Security to starttls")
	}
	if se.Code == 530 {
		// 530 5.7.0 "Authentication required" can come at MAIL or RCPT.
		return mailError(ErrAuth, err, "The mail server wants a user name and password before it accepts mail; enter them in the mail settings")
	}
	// "The message to bob@example.org", or "the message" when the
	// recipient is not known (Describe of a raw error).
	message := "the message"
	if f.rcpt != "" {
		message += " to " + f.rcpt
	}
	if se.Code == 552 && (f.phase == phaseMail || f.phase == phaseData) {
		// At MAIL, the answer to the SIZE= Send declares: about the
		// message, not the sender.
		return mailError(ErrRejected, err, "The mail server refused %s as too large: %s", message, reply)
	}
	// A 4xx is "not now" (greylisting, a full queue, a rate limit), and
	// the message is tried again: "refused" would send the admin to fix
	// an address that is fine.
	later := se.Code/100 == 4
	switch f.phase {
	case phaseStartTLS:
		return mailError(ErrTLS, err, "%s refused to start TLS: %s", upperFirst(server), reply)
	case phaseAuth:
		switch {
		case se.Code/100 == 4:
			return mailError(ErrAuth, err, "The mail server could not check the user name and password just now: %s", reply)
		case se.Code == 523 || se.Code == 538:
			return mailError(ErrAuth, err, "The mail server wants an encrypted connection before it accepts a password; set Security to starttls or tls")
		}
		return mailError(ErrAuth, err, "The mail server refused the user name or password")
	case phaseMail:
		if later {
			return mailError(ErrSender, err, "The mail server would not take mail from %s just now: %s", f.from, reply)
		}
		return mailError(ErrSender, err, "The mail server refused the sender address %s: %s", f.from, reply)
	case phaseRcpt:
		if later {
			return mailError(ErrRecipient, err, "The mail server would not take the mail for %s just now: %s", f.rcpt, reply)
		}
		return mailError(ErrRecipient, err, "The mail server refused the recipient %s: %s", f.rcpt, reply)
	case phaseData:
		if later {
			return mailError(ErrRejected, err, "The mail server would not take %s just now: %s", message, reply)
		}
		return mailError(ErrRejected, err, "The mail server refused %s: %s", message, reply)
	case phaseConnect, phaseHello:
		return mailError(ErrServer, err, "%s refused the connection: %s", upperFirst(server), reply)
	}
	return mailError(ErrServer, err, "%s answered: %s", upperFirst(server), reply)
}

// formatReply writes a reply the way servers send it ("550 5.1.1 User
// unknown"), which is what people search for and mail admins recognise.
func formatReply(se *smtp.SMTPError) string {
	msg := strings.Join(strings.Fields(se.Message), " ")
	ec := se.EnhancedCode
	if ec != smtp.EnhancedCodeNotSet && ec != smtp.NoEnhancedCode {
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, ec[0], ec[1], ec[2], msg)
	}
	return fmt.Sprintf("%d %s", se.Code, msg)
}

// certProblem explains why a certificate was refused, in plain words.
func certProblem(err error) (string, bool) {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		// A relay with its own (self-signed) certificate is common in a
		// small office; say what makes it work, rather than suggesting
		// Security none.
		return "it is not signed by an authority this computer trusts (a self-signed certificate, say); " +
			"add the certificate, or the authority that signed it, to this computer's trusted certificates, " +
			"or give the mail server a certificate from a public authority", true
	}
	if he, ok := errors.AsType[x509.HostnameError](err); ok {
		return fmt.Sprintf("it is for %s, not %s; enter in Server a name it is for", certNames(he.Certificate), he.Host), true
	}
	if ie, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		if ie.Reason == x509.Expired {
			return "it has expired or is not valid yet", true
		}
		return ie.Error(), true
	}
	if ve, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return ve.Err.Error(), true
	}
	return "", false
}

// certNameList is the names a certificate is for: its DNS names and
// addresses, or its common name when it has neither.
func certNameList(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = []string{c.Subject.CommonName}
	}
	return names
}

// certNames lists the names a certificate is for, the way a person reads
// them: "mail.example.org, 192.0.2.25".
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "another name"
	}
	names := certNameList(c)
	switch {
	case len(names) == 0:
		return "another name"
	case len(names) > 4:
		names = append(names[:4], "…")
	}
	return strings.Join(names, ", ")
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func isNetwork(err error) bool {
	_, ok := errors.AsType[net.Error](err)
	return ok || isDropped(err)
}

func isDropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// connectReason is the short cause in "Could not connect to ...: <reason>".
func connectReason(err error) string {
	if de, ok := errors.AsType[*net.DNSError](err); ok {
		if de.IsNotFound {
			return "there is no such host"
		}
		return "the host name could not be looked up"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		// Windows' texts are capitalised sentences; fit them mid-sentence.
		return strings.TrimSuffix(lowerFirst(errno.Error()), ".")
	}
	return err.Error()
}

// sentence ends s with exactly one full stop, however the server's reply
// text ended.
func sentence(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	return s + "."
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
