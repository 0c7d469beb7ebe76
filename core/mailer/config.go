package mailer

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"time"

	"provisio/core"
)

// Values of Config.Security.
const (
	SecurityNone     = "none"     // plain SMTP, usually port 25
	SecurityStartTLS = "starttls" // plain connect, then STARTTLS; usually port 587
	SecurityTLS      = "tls"      // TLS from the first byte ("SMTPS"); usually port 465
)

// DefaultTimeout bounds a whole Send when Config.Timeout is zero: long enough
// for a slow relay, short enough that the console's "Send test message" does
// not look hung.
const DefaultTimeout = 30 * time.Second

// Config says how to reach the mail server and who mail comes from.
type Config struct {
	Host string
	// Port defaults by Security: 25, 587 or 465.
	Port int
	// Security is "none", "starttls" or "tls"; empty means "starttls".
	Security string
	// Username and Password log in with AUTH PLAIN or LOGIN. No login is
	// tried when Username is empty.
	Username, Password string
	// From is the bare sender address; FromName its display name.
	From, FromName string
	// TLSConfig is optional; tests use it to pass RootCAs. ServerName
	// defaults to Host.
	TLSConfig *tls.Config
	// TLSFingerprint, when set, pins the server's certificate: the SHA-256
	// fingerprint (any common spelling, see core.NormalizeFingerprint) of
	// the one leaf certificate accepted. It replaces the check against
	// the trusted authorities and the name; the validity dates still
	// count. Empty means the usual checks.
	TLSFingerprint string
	// Timeout bounds the whole conversation, from dial to the end of DATA.
	// Zero means DefaultTimeout.
	Timeout time.Duration
}

// Addr returns host:port, with the port defaulted by Security.
func (c Config) Addr() string {
	port := c.Port
	if port == 0 {
		port = defaultPort(normalizeSecurity(c.Security))
	}
	return net.JoinHostPort(strings.TrimSpace(c.Host), strconv.Itoa(port))
}

func defaultPort(security string) int {
	switch security {
	case SecurityNone:
		return 25
	case SecurityTLS:
		return 465
	default:
		return 587
	}
}

func normalizeSecurity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return SecurityStartTLS
	}
	return s
}

// normalize fills defaults and checks c. Field names are the dotted
// settings keys the console uses, so it can point at the right input.
func (c Config) normalize() (Config, error) {
	c.Host = strings.TrimSpace(c.Host)
	c.Security = normalizeSecurity(c.Security)
	c.From = strings.TrimSpace(c.From)
	c.FromName = oneLine(c.FromName)
	if c.Host == "" {
		return c, invalid("smtp.host", "Enter the mail server's host name.")
	}
	switch c.Security {
	case SecurityNone, SecurityStartTLS, SecurityTLS:
	default:
		return c, invalid("smtp.security", "Security must be none, starttls or tls, not %q.", c.Security)
	}
	if c.Port == 0 {
		c.Port = defaultPort(c.Security)
	}
	if c.Port < 1 || c.Port > 65535 {
		return c, invalid("smtp.port", "Enter a port from 1 to 65535.")
	}
	if c.From == "" {
		return c, invalid("smtp.from", "Enter the address mail is sent from.")
	}
	if err := core.ValidateEmail("smtp.from", c.From); err != nil {
		return c, withKind(err, ErrInvalid)
	}
	if _, err := asciiDomain("smtp.from", c.From); err != nil {
		return c, err
	}
	if c.TLSFingerprint != "" {
		fp, err := core.NormalizeFingerprint(c.TLSFingerprint)
		if err != nil {
			return c, withKind(&core.Error{Code: core.CodeInvalid, Field: "smtp.tls_fingerprint", Message: core.ErrorMessage(err)}, ErrInvalid)
		}
		c.TLSFingerprint = fp
		if c.Security == SecurityNone {
			// Without TLS nothing checks the pin: mail, codes and the
			// password would go in clear text to whatever answers.
			return c, invalid("smtp.security", "A trusted mail server certificate (smtp.tls_fingerprint) is checked only over TLS; set Security to starttls or tls, or clear the trusted certificate.")
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// tlsConfig returns a copy of c.TLSConfig checking the certificate against
// Host, or against the pin when TLSFingerprint is set, so a caller's
// config is never modified.
func (c Config) tlsConfig() *tls.Config {
	var t *tls.Config
	if c.TLSConfig != nil {
		t = c.TLSConfig.Clone()
	} else {
		t = &tls.Config{}
	}
	if t.ServerName == "" {
		t.ServerName = c.Host
	}
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	if c.TLSFingerprint != "" {
		// The pin replaces the authorities and the name, nothing else:
		// the handshake still proves the server holds the pinned
		// certificate's key, and checkPin refuses any other certificate
		// and one out of its validity. Only a pinned setup gets here.
		pin := c.TLSFingerprint
		t.InsecureSkipVerify = true
		t.VerifyConnection = func(cs tls.ConnectionState) error {
			return checkPin(pin, cs.PeerCertificates, time.Now())
		}
	}
	return t
}

// oneLine drops control characters, so text typed into a settings field
// can never start a new header line.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

// ConfigFrom turns the stored mail settings into a Config with the default
// Timeout. TLSConfig is left nil for the caller to set.
func ConfigFrom(m core.MailSettings) Config {
	return Config{
		Host:     m.Host,
		Port:     m.Port,
		Security: m.Security,
		Username: m.Username,
		Password: m.Password,
		From:     m.From,
		FromName: m.FromName,
		Timeout:  DefaultTimeout,

		TLSFingerprint: m.TLSFingerprint,
	}
}
