package mailer

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"provisio/core"
)

// Template is an editable mail: Subject, Text and HTML may use the
// placeholders
//
//	{username} {fullname} {email} {code} {url} {expires} {fingerprint}
//
// and the Swivel keyword url4 for the QR code image, as in
// <img src="url4">. {fullname} falls back to the username when the user
// has no full name, so "Hello {fullname}," always reads well.
type Template struct {
	Subject, Text, HTML string
}

// Vars are the values Render puts into a Template.
type Vars struct {
	Username, FullName, Email string
	Code                      string
	URL                       string // the Provision URL, core.ProvisionURL
	Expires                   time.Time
	// Fingerprint is the SHA-256 fingerprint of the certificate the
	// Provision URL's server presents. The mail is the one channel the
	// phone's browser does not reach through that server, so it is where
	// a person can check the certificate a warning shows.
	Fingerprint string
	// QRPNG is the QR code of URL, attached inline when the HTML shows
	// url4 and QRCodeURL is empty.
	QRPNG []byte
	// QRCodeURL is the Self-Reset policy's "QR Code URL", such as
	// https://host:8443/userportal/getQRCode?text= . When set, url4 links
	// to QRCodeURL followed by the escaped URL and nothing is attached.
	QRCodeURL string
}

// QRKeyword is the word in a template that stands for the QR code image.
// It has no braces because Swivel templates, which people paste in, use it
// bare.
const QRKeyword = core.MailQRKeyword

// qrContentID is a new Content-ID for the inline QR code image, such as
// qr.5f1c…@provisio. RFC 2392 asks for globally unique Content-IDs, and
// iOS Mail caches inline images by Content-ID across messages: with one
// fixed ID, a reprovisioned user could be shown the first mail's QR code,
// whose code is dead, in the second.
func qrContentID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails
	return "qr." + hex.EncodeToString(b[:]) + "@provisio"
}

// ExpiresLayout formats {expires}: unambiguous in every English locale,
// with the zone so nobody is an hour out.
const ExpiresLayout = "Mon 2 Jan 2006 15:04 MST"

//go:embed templates/provision_subject.txt
var provisionSubject string

//go:embed templates/provision.txt
var provisionText string

//go:embed templates/provision.html
var provisionHTML string

// DefaultProvisionTemplate returns the built-in provision mail: subject
// "Your mobile authenticator provision code", a text part, and an HTML part
// with the QR code, the code, the link and the expiry time.
func DefaultProvisionTemplate() Template {
	return Template{
		Subject: strings.TrimSpace(provisionSubject),
		Text:    provisionText,
		HTML:    provisionHTML,
	}
}

// TemplateFrom is the stored provision template with every empty (or
// blank) field taken from DefaultProvisionTemplate, which is what an empty
// field means in the settings.
func TemplateFrom(t core.MailTemplate) Template {
	return Template(t.WithDefaults(core.MailTemplate(DefaultProvisionTemplate())))
}

// Render fills t with v and returns the message to v.Email. Values are
// HTML-escaped in the HTML part and left as they are in the text part and
// subject. Substitution is a single pass, so a value that itself contains
// "{code}" or "url4" is never expanded.
//
// In the HTML, url4 becomes a cid: link to v.QRPNG attached inline (a new
// Content-ID each time),
// or the QRCodeURL link when that is set. In the text part, where no image
// can show, url4 becomes that link or else the Provision URL itself.
func Render(t Template, v Vars) (Message, error) {
	if strings.TrimSpace(t.Subject) == "" {
		return Message{}, invalid("template", "The mail template needs a subject.")
	}
	if why := core.SubjectSecret(t.Subject); why != "" {
		// Stored before the settings refused it (or by an older
		// version): no mail rather than a code on a lock screen.
		return Message{}, invalid("template", "The mail template's subject %s", why)
	}
	if strings.TrimSpace(t.Text) == "" && strings.TrimSpace(t.HTML) == "" {
		return Message{}, invalid("template", "The mail template needs a text or an HTML body.")
	}

	qrLink := ""
	if v.QRCodeURL != "" {
		qrLink = v.QRCodeURL + url.QueryEscape(v.URL)
	}
	fullName := v.FullName
	if strings.TrimSpace(fullName) == "" {
		fullName = v.Username
	}
	expires := "soon"
	if !v.Expires.IsZero() {
		expires = v.Expires.Format(ExpiresLayout)
	}
	fingerprint := v.Fingerprint
	if fingerprint == "" {
		fingerprint = "(not known: ask your IT support team)"
	}
	values := []string{
		"{username}", v.Username,
		"{fullname}", fullName,
		"{email}", v.Email,
		"{code}", v.Code,
		"{url}", v.URL,
		"{expires}", expires,
		"{fingerprint}", fingerprint,
	}

	textQR := v.URL
	if qrLink != "" {
		textQR = qrLink
	}
	plain := strings.NewReplacer(append(values, QRKeyword, textQR)...)

	m := Message{
		To:      v.Email,
		ToName:  v.FullName,
		Subject: plain.Replace(t.Subject),
		Text:    plain.Replace(t.Text),
	}
	if strings.TrimSpace(t.HTML) == "" {
		return m, nil
	}

	escaped := make([]string, 0, len(values)+2)
	for i := 0; i < len(values); i += 2 {
		escaped = append(escaped, values[i], html.EscapeString(values[i+1]))
	}
	var cid, htmlQR string
	if qrLink != "" {
		htmlQR = html.EscapeString(qrLink)
	} else {
		cid = qrContentID()
		htmlQR = "cid:" + cid
	}
	escaped = append(escaped, QRKeyword, htmlQR)
	m.HTML = strings.NewReplacer(escaped...).Replace(t.HTML)

	if qrLink == "" && strings.Contains(t.HTML, QRKeyword) {
		if len(v.QRPNG) == 0 {
			return Message{}, invalid("template", "The mail template shows the QR code (%s), but no QR code image was made.", QRKeyword)
		}
		m.Inline = []Inline{{ContentID: cid, ContentType: "image/png", Filename: "qr.png", Data: v.QRPNG}}
	}
	return m, nil
}

// TestMessage is the console's "Send test message": a short mail, in text
// and HTML, that names the server and security it went through so the
// person reading it knows which settings worked.
func TestMessage(cfg Config, to string) Message {
	sec := normalizeSecurity(cfg.Security)
	via := fmt.Sprintf("%s (security: %s)", cfg.Addr(), sec)
	text := "This is a test message from Provisio.\n\n" +
		"It was sent through " + via + ". If you can read it, Provisio can send\n" +
		"provision codes by mail with these settings.\n"
	htmlBody := "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Provisio test message</title></head>\n" +
		"<body style=\"font-family:Arial, Helvetica, sans-serif; font-size:15px; color:#222222;\">\n" +
		"<p>This is a test message from <b>Provisio</b>.</p>\n" +
		"<p>It was sent through " + html.EscapeString(via) + ". If you can read it, Provisio can send provision codes by mail with these settings.</p>\n" +
		"</body></html>\n"
	return Message{To: to, Subject: "Provisio test message", Text: text, HTML: htmlBody}
}
