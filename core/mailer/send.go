package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"provisio/core"
)

// Send delivers m through the server in cfg. It returns nil once the server
// has accepted the message (250 after DATA). Any error is a *core.Error
// whose Message is a sentence for a person (see Describe) and which wraps
// one of the Err* kinds (see Temporary) and the underlying cause.
//
// The whole conversation is bounded by cfg.Timeout and by ctx.
func Send(ctx context.Context, cfg Config, m Message) error {
	cfg, err := cfg.normalize()
	if err != nil {
		return err
	}
	if err := m.validate(); err != nil {
		return err
	}
	m.To = strings.TrimSpace(m.To)
	// Sentences show the addresses as typed; the envelope and the headers
	// carry their domains in ASCII (asciiDomain).
	f := failure{addr: cfg.Addr(), from: cfg.From, rcpt: m.To, pinned: cfg.TLSFingerprint != ""}
	if cfg.From, err = asciiDomain("smtp.from", cfg.From); err != nil {
		return err
	}
	if m.To, err = asciiDomain("email", m.To); err != nil {
		return err
	}
	// Build before dialling, so a message we cannot encode never leaves a
	// half-finished session on the server.
	data, err := build(cfg, m, time.Now())
	if err != nil {
		return &core.Error{Code: core.CodeInternal, Message: "Provisio could not put the mail together; the log has the details.", Err: err}
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	s := &sender{ctx: ctx, cfg: cfg, f: f, to: m.To, inline: len(m.Inline) > 0}
	return s.send(data)
}

// sender is one SMTP conversation.
type sender struct {
	ctx context.Context
	cfg Config // From is the envelope's
	f   failure
	to  string // the envelope's recipient
	// inline: the message carries inline images (the QR code), which
	// are most of its size.
	inline bool
}

func (s *sender) fail(p phase, err error) error {
	f := s.f
	f.phase = p
	return classify(s.ctx, f, err)
}

func (s *sender) send(data []byte) error {
	conn, err := s.dial()
	if err != nil {
		return s.fail(phaseConnect, err)
	}
	// go-smtp's client takes no context and resets its own per-command
	// deadlines, so the only way to honour ctx at any moment is to close
	// the connection under it. classify then blames ctx, not the I/O error.
	stop := context.AfterFunc(s.ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	if s.cfg.Security == SecurityStartTLS {
		c, err = smtp.NewClientStartTLS(conn, s.cfg.tlsConfig())
		if err != nil {
			return s.fail(phaseStartTLS, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = s.cfg.Timeout
	c.SubmissionTimeout = s.cfg.Timeout

	// After STARTTLS this EHLO is the first thing sent over TLS, so a
	// refused certificate shows up here.
	if err := c.Hello(localName()); err != nil {
		return s.fail(phaseHello, err)
	}
	if s.cfg.Security == SecurityNone {
		tlsOK, _ := c.Extension("STARTTLS")
		authOK, _ := c.Extension("AUTH")
		s.f.tlsOffered = tlsOK && !authOK
	}
	if s.cfg.Username != "" {
		if err := s.auth(c); err != nil {
			return err
		}
	}
	if limit, ok := c.MaxMessageSize(); ok && limit > 0 && len(data) > limit {
		// It would be refused after every byte was sent, and again on
		// each retry: the message cannot shrink.
		return s.tooLarge(len(data), limit)
	}
	opts, err := s.mailOptions(c)
	if err != nil {
		return err
	}
	// SIZE= (RFC 1870, sent only to a server offering SIZE) lets a server
	// that did not say its limit refuse before the data.
	opts.Size = int64(len(data))
	if err := c.Mail(s.cfg.From, opts); err != nil {
		return s.fail(phaseMail, err)
	}
	if err := c.Rcpt(s.to, nil); err != nil {
		return s.fail(phaseRcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(phaseData, err)
	}
	if _, err := w.Write(data); err != nil {
		return s.fail(phaseData, err)
	}
	if err := w.Close(); err != nil {
		return s.fail(phaseData, err)
	}
	// The server has taken responsibility for the message; a failed QUIT
	// must not make the caller send it twice.
	_ = c.Quit()
	return nil
}

// mailOptions asks for SMTPUTF8 when an address has letters beyond ASCII
// before the @ (its domain is ASCII by now), which SMTP carries only with
// that extension. Without it the message fails for good: the server would
// have to refuse the address, or mangle it.
func (s *sender) mailOptions(c *smtp.Client) (*smtp.MailOptions, error) {
	if isASCII(s.cfg.From) && isASCII(s.to) {
		return &smtp.MailOptions{}, nil
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		return &smtp.MailOptions{UTF8: true}, nil
	}
	const why = "it does not accept letters beyond plain ASCII before the @ (it does not offer SMTPUTF8)"
	cause := errors.New("server does not offer SMTPUTF8")
	if !isASCII(s.cfg.From) {
		return nil, mailError(ErrSender, cause, "The mail server cannot take the sender address %s: %s", s.f.from, why)
	}
	return nil, mailError(ErrRecipient, cause, "The mail server cannot take the address %s: %s", s.f.rcpt, why)
}

// tooLarge is the failure of a message of size bytes to a server that
// takes limit at most, with what can be done about it.
func (s *sender) tooLarge(size, limit int) error {
	fix := "raise the limit on the mail server"
	if s.inline {
		fix += `, or set Policy → Self-Reset "QR Code URL" so that the mail links to the QR code image instead of carrying it`
	}
	return mailError(ErrRejected, fmt.Errorf("message of %d bytes, server SIZE %d", size, limit),
		"The mail is %s, more than the %s the mail server %s takes (its SIZE limit); %s", kilobytes(size, true), kilobytes(limit, false), s.f.addr, fix)
}

// kilobytes is n bytes for a person, in kB of 1000 bytes, rounded up or
// down: a mail is said to be no smaller than it is, a limit no larger.
func kilobytes(n int, up bool) string {
	if n < 1000 {
		return core.Plural(n, "byte", "bytes")
	}
	k := n / 1000
	if up && n%1000 != 0 {
		k++
	}
	return strconv.Itoa(k) + " kB"
}

// dial connects, with the TLS handshake for implicit TLS, under ctx. The
// library's Dial helpers take no context, so we dial and hand it the
// connection.
func (s *sender) dial() (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.Security == SecurityTLS {
		td := &tls.Dialer{NetDialer: d, Config: s.cfg.tlsConfig()}
		return td.DialContext(s.ctx, "tcp", s.f.addr)
	}
	return d.DialContext(s.ctx, "tcp", s.f.addr)
}

// auth logs in with PLAIN, or LOGIN for servers (older Exchange) that offer
// only that. Both send the password as is, which is why a server normally
// offers them only over TLS.
func (s *sender) auth(c *smtp.Client) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		msg := "The mail server does not offer a login here; check the Security setting, or clear the user name if the server needs none"
		if tlsOK, _ := c.Extension("STARTTLS"); tlsOK && s.cfg.Security == SecurityNone {
			msg = "The mail server offers a login only over an encrypted connection; set Security to starttls"
		}
		return mailError(ErrAuth, errors.New("server does not advertise AUTH"), "%s", msg)
	}
	var a sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		a = sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)
	case c.SupportsAuth(sasl.Login):
		a = sasl.NewLoginClient(s.cfg.Username, s.cfg.Password)
	default:
		return mailError(ErrAuth, fmt.Errorf("AUTH %s", mechs),
			"The mail server offers no login Provisio knows (PLAIN or LOGIN); it offers %s", mechs)
	}
	if err := c.Auth(a); err != nil {
		return s.fail(phaseAuth, err)
	}
	return nil
}

// localName is the name given in EHLO. RFC 5321 wants the client's own
// name; a bare desktop name is what mail clients send in practice, and
// "localhost" is the fallback when it would not fit on the command line.
func localName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 255 {
		return "localhost"
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return "localhost"
		}
	}
	return h
}

// SendTest is the console's "Send test message": it sends TestMessage to
// to through the settings m right away, bypassing the outbox, so the
// answer (nil, or an error Describe puts in plain words) belongs to the
// settings on screen. tlsConf is optional, as Config.TLSConfig.
func SendTest(ctx context.Context, m core.MailSettings, tlsConf *tls.Config, to string) error {
	cfg := ConfigFrom(m)
	cfg.TLSConfig = tlsConf
	return Send(ctx, cfg, TestMessage(cfg, to))
}

// Tools is core.MailTools over this package, for the console: the
// composition root hands it to ui, which does not import the mailer.
type Tools struct{}

var _ core.MailTools = Tools{}

// DefaultProvisionTemplate implements core.MailTools.
func (Tools) DefaultProvisionTemplate() core.MailTemplate {
	return core.MailTemplate(DefaultProvisionTemplate())
}

// SendTest implements core.MailTools.
func (Tools) SendTest(ctx context.Context, m core.MailSettings, tlsConf *tls.Config, to string) error {
	return SendTest(ctx, m, tlsConf, to)
}

// Describe implements core.MailTools.
func (Tools) Describe(err error) string { return Describe(err) }
