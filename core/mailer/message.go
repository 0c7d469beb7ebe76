package mailer

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"golang.org/x/net/idna"

	"provisio/core"
)

// Message is one mail to one person.
type Message struct {
	To, ToName string // bare address and optional display name
	Subject    string
	Text       string // text/plain body
	HTML       string // optional text/html body
	// Inline parts are shown inside the HTML (an <img src="cid:ID">), so
	// they need HTML.
	Inline []Inline
	// ID, when set, is the left part of the Message-ID (before the @ and
	// the sender's domain); empty means a random one. A message sent again
	// after a crash or a dropped connection (the outbox cannot know that
	// the server had taken it) carries the same ID, so it is the same
	// message to mail systems that drop one they already hold (Worker).
	ID string
}

// Inline is a part of the HTML body, such as the QR code image, referred to
// from the HTML as cid:ContentID.
type Inline struct {
	ContentID   string // without angle brackets, e.g. "qr.5f1c…@provisio"
	ContentType string // e.g. "image/png"
	Filename    string // shown by clients that list inline parts
	Data        []byte
}

// validate checks what the SMTP envelope and MIME writer rely on.
func (m Message) validate() error {
	if strings.TrimSpace(m.To) == "" {
		return invalid("email", "Enter the address to send the mail to.")
	}
	if err := core.ValidateEmail("email", strings.TrimSpace(m.To)); err != nil {
		return withKind(err, ErrInvalid)
	}
	if len(m.Inline) > 0 && m.HTML == "" {
		return invalid("template", "Inline images need an HTML body to show them in.")
	}
	for _, in := range m.Inline {
		if strings.Trim(in.ContentID, "<> ") == "" || in.ContentType == "" {
			return invalid("template", "Every inline image needs a Content-ID and a content type.")
		}
	}
	return nil
}

// build writes m as an RFC 5322 message with CRLF line endings:
//
//	text only:  text/plain
//	HTML:       multipart/alternative
//	              text/plain
//	              text/html, or when there are inline parts
//	              multipart/related
//	                text/html
//	                inline parts (Content-ID, Content-Disposition: inline)
//
// Alternative comes outermost so that clients showing plain text never see
// the images as attachments; related keeps the images with the HTML that
// refers to them.
func build(cfg Config, m Message, now time.Time) ([]byte, error) {
	var h mail.Header
	h.Set("From", formatAddress(cfg.FromName, cfg.From))
	h.Set("To", formatAddress(oneLine(m.ToName), strings.TrimSpace(m.To)))
	h.Set("Subject", encodeText(oneLine(m.Subject)))
	h.SetDate(now)
	// The sender's domain rather than this PC's name: desktop host names
	// are rarely fully qualified, and spam filters notice.
	if m.ID != "" {
		h.SetMessageID(m.ID + "@" + domainOf(cfg.From))
	} else if err := h.GenerateMessageIDWithHostname(domainOf(cfg.From)); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	h.Set("MIME-Version", "1.0")
	// Every mail Provisio sends is a program's (RFC 3834): out-of-office
	// replies and vacation autoresponders leave it unanswered, rather
	// than fill the From mailbox with one reply per provision code.
	h.Set("Auto-Submitted", "auto-generated")

	var buf bytes.Buffer
	top := func(part message.Header) (*message.Writer, error) {
		hh := h.Copy()
		for f := part.Fields(); f.Next(); {
			hh.Set(f.Key(), f.Value())
		}
		return message.CreateWriter(&buf, hh.Header)
	}
	if err := writeBody(top, m); err != nil {
		return nil, fmt.Errorf("build message: %w", err)
	}
	return buf.Bytes(), nil
}

// createFunc makes the next entity: the top-level message or a child part.
type createFunc func(message.Header) (*message.Writer, error)

func writeBody(create createFunc, m Message) error {
	if m.HTML == "" {
		return writeLeaf(create, textHeader("text/plain"), []byte(m.Text))
	}
	if m.Text == "" {
		return writeHTML(create, m)
	}
	var h message.Header
	h.SetContentType("multipart/alternative", nil)
	alt, err := create(h)
	if err != nil {
		return err
	}
	if err := writeLeaf(alt.CreatePart, textHeader("text/plain"), []byte(m.Text)); err != nil {
		return err
	}
	if err := writeHTML(alt.CreatePart, m); err != nil {
		return err
	}
	return alt.Close()
}

func writeHTML(create createFunc, m Message) error {
	if len(m.Inline) == 0 {
		return writeLeaf(create, textHeader("text/html"), []byte(m.HTML))
	}
	var h message.Header
	// type= names the root part's type, as RFC 2387 asks.
	h.SetContentType("multipart/related", map[string]string{"type": "text/html"})
	rel, err := create(h)
	if err != nil {
		return err
	}
	if err := writeLeaf(rel.CreatePart, textHeader("text/html"), []byte(m.HTML)); err != nil {
		return err
	}
	for _, in := range m.Inline {
		if err := writeLeaf(rel.CreatePart, inlineHeader(in), in.Data); err != nil {
			return err
		}
	}
	return rel.Close()
}

func writeLeaf(create createFunc, h message.Header, body []byte) error {
	w, err := create(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
		return err
	}
	return w.Close()
}

// textHeader is UTF-8 text in quoted-printable: readable in a raw dump and
// safe over 7-bit relays, with lines kept under SMTP's limit.
func textHeader(mediaType string) message.Header {
	var h message.Header
	h.SetContentType(mediaType, map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return h
}

func inlineHeader(in Inline) message.Header {
	var h message.Header
	params := map[string]string{}
	if in.Filename != "" {
		// name= as well as filename=: some clients only read the older one.
		params["name"] = in.Filename
	}
	h.SetContentType(in.ContentType, params)
	h.Set("Content-ID", "<"+strings.Trim(in.ContentID, "<> ")+">")
	disp := map[string]string{}
	if in.Filename != "" {
		disp["filename"] = in.Filename
	}
	h.SetContentDisposition("inline", disp)
	h.Set("Content-Transfer-Encoding", "base64")
	return h
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "provisio.invalid"
}

// asciiDomain is addr with its domain name in the ASCII form (IDNA
// A-labels, "xn--"), which SMTP without SMTPUTF8 and every header take:
// Provisio accepts a user's address as typed (core.ValidateEmail follows
// RFC 6532), but a server may refuse, or a relay mangle, the Unicode form.
// The part before the @ cannot be converted; Send asks for SMTPUTF8 when
// it has letters beyond ASCII.
func asciiDomain(field, addr string) (string, error) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || isASCII(addr[i+1:]) {
		return addr, nil
	}
	d, err := idna.Lookup.ToASCII(addr[i+1:])
	if err != nil {
		return "", invalid(field, "The address %s cannot be used in mail: its domain is not a valid international domain name.", addr)
	}
	return addr[:i+1] + d, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// maxWord is the longest RFC 2047 encoded word build writes. go-message
// folds header lines between words at 76 octets, and puts the rest of a
// field on one line (up to 998) when a word does not fit after the field's
// name, which the library's own 75-octet words do not: "Subject: " and one
// word must fit.
const maxWord = 62

// formatAddress is a From or To field: the name as a quoted string when
// it is ASCII, as encoded words otherwise, then the address.
func formatAddress(name, addr string) string {
	a := &mail.Address{Name: name, Address: addr}
	if isASCII(name) {
		return a.String()
	}
	a.Name = ""
	return encodeWords(name) + " " + a.String()
}

// encodeText is an unstructured field such as Subject: as it is when
// ASCII, else encoded words.
func encodeText(s string) string {
	if isASCII(s) {
		return s
	}
	return encodeWords(s)
}

// encodeWords writes s as RFC 2047 "Q" encoded words of at most maxWord
// octets, separated by spaces (which readers drop between encoded words),
// never splitting a character. Only letters, digits and !*+-/ stay as
// they are, which makes the words safe in a display name too (RFC 2047
// section 5).
func encodeWords(s string) string {
	const open, end = "=?utf-8?q?", "?="
	var out, word strings.Builder
	flush := func() {
		if word.Len() == 0 {
			return
		}
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(open + word.String() + end)
		word.Reset()
	}
	for _, r := range s {
		var enc strings.Builder
		switch {
		case r == ' ':
			enc.WriteByte('_')
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!*+-/", r)):
			enc.WriteRune(r)
		default:
			var b [utf8.UTFMax]byte
			for _, c := range b[:utf8.EncodeRune(b[:], r)] {
				fmt.Fprintf(&enc, "=%02X", c)
			}
		}
		if len(open)+word.Len()+enc.Len()+len(end) > maxWord {
			flush()
		}
		word.WriteString(enc.String())
	}
	flush()
	return out.String()
}
