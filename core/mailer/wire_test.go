package mailer_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// TestSend_WireFormat checks the provision mail as the relay receives it,
// byte by byte, with the things that break it in transit: a long
// non-ASCII name, a long Provision URL, long template lines. Every line
// ends in CRLF and stays under SMTP's 998 bytes (78 in the bodies, which
// are quoted-printable or base64), every byte is 7-bit, the bodies are
// encoded, and the QR image is a cid: part, never a data: URI that
// Outlook and Gmail drop.
func TestSend_WireFormat(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	v := provisionVars(t)
	v.FullName = "Zoë Ångström-Müller " + strings.Repeat("Ü", 60)
	v.URL = core.ProvisionURL("provisio."+strings.Repeat("long-sub-domain.", 8)+"example.lan", "8443", "acme-"+strings.Repeat("x", 40), "zoe", "K7MQ2XPA")
	png, err := qrPNG(v.URL)
	if err != nil {
		t.Fatal(err)
	}
	v.QRPNG = png
	tmpl := mailer.DefaultProvisionTemplate()
	tmpl.Text += "\n" + strings.Repeat("Eine sehr lange Zeile ohne Umbruch für den Textteil. ", 40) + "\n"
	tmpl.HTML = strings.Replace(tmpl.HTML, "</body>", "<p>"+strings.Repeat("Lange Zeile im HTML-Teil – ", 60)+"</p></body>", 1)
	m, err := mailer.Render(tmpl, v)
	if err != nil {
		t.Fatal(err)
	}
	raw := sendOne(t, s, configFor(s, mailer.SecurityNone), m).Data

	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no blank line after the header")
	}
	for i, b := range raw {
		if b >= 0x80 {
			t.Fatalf("byte %d is not 7-bit: %q", i, raw[max(0, i-20):min(len(raw), i+20)])
		}
		if b == '\n' && (i == 0 || raw[i-1] != '\r') || b == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR or LF at byte %d: %q", i, raw[max(0, i-20):min(len(raw), i+20)])
		}
	}
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line of %d bytes", len(line))
		}
	}
	for _, line := range strings.Split(string(body), "\r\n") {
		if len(line) > 78 {
			t.Errorf("body line of %d bytes: %.60q…", len(line), line)
		}
	}
	if bytes.Contains(bytes.ToLower(raw), []byte("data:")) {
		t.Error("the message has a data: URI")
	}

	p := parse(t, raw)
	for _, mt := range []string{"text/plain", "text/html"} {
		part := p.one(t, mt)
		if cte := part.header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("%s is %q, want quoted-printable", mt, cte)
		}
	}
	img := p.one(t, "image/png")
	if cte := img.header.Get("Content-Transfer-Encoding"); cte != "base64" {
		t.Errorf("the PNG is %q, want base64", cte)
	}
	if tl, err := p.header.AddressList("To"); err != nil || len(tl) != 1 || tl[0].Name != v.FullName {
		t.Errorf("To = %v (%v), want the name %q", tl, err, v.FullName)
	}
	// Decoded, the long URL is whole in both bodies and in the QR code.
	if text := string(p.one(t, "text/plain").body); !strings.Contains(text, v.URL) {
		t.Errorf("the text part lacks the URL %q", v.URL)
	}
	if got := decodeQR(t, p.one(t, "image/png").body); got != v.URL {
		t.Errorf("QR code reads %q, want %q", got, v.URL)
	}
}

// TestWorker_OATHMailCarriesNoSecret: an authenticator set-up mail, as the
// relay receives it, carries the single-use Provision URL (in the text and
// the QR code) and no OATH secret, which only the set-up page reveals.
func TestWorker_OATHMailCarriesNoSecret(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	svc := storetest.MustService(t, core.WithOATHKeys(oathkey.Keys{}))
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	if err := svc.SetSetting("oath.enabled", "true"); err != nil {
		t.Fatal(err)
	}
	ic, err := svc.MailOATHProvisionCode("bob", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&mailer.Worker{Service: svc, QRPNG: qrPNG}).Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
	}
	msgs, err := s.Wait(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msgs[0].Data)
	if got := decodeQR(t, p.one(t, "image/png").body); got != ic.URL || !strings.Contains(got, core.OATHURLParam) {
		t.Errorf("QR code reads %q, want the set-up URL %q", got, ic.URL)
	}
	// The QR holds a web page's address, which an authenticator app
	// cannot read: the mail must not send the user to scan it there.
	if html := string(p.one(t, "text/html").body); !strings.Contains(html, "camera") || strings.Contains(html, "Open the app") {
		t.Errorf("the HTML part does not say to scan the QR code with the phone's camera:\n%s", html)
	}
	m := codeLine.FindStringSubmatch(string(p.one(t, "text/plain").body))
	if m == nil || m[1] != ic.Code {
		t.Fatalf("text part code = %v, want %q", m, ic.Code)
	}
	issued, err := svc.RedeemOATHProvision("127.0.0.1", "bob", m[1])
	if err != nil {
		t.Fatalf("the mailed code does not set up the authenticator: %v", err)
	}
	key, err := oathkey.Parse(issued.URI)
	if err != nil {
		t.Fatal(err)
	}
	decoded := string(p.one(t, "text/plain").body) + string(p.one(t, "text/html").body)
	for _, secret := range []string{key.Secret, issued.SecretText, strings.ReplaceAll(issued.SecretText, " ", ""), "otpauth", "secret="} {
		if strings.Contains(decoded, secret) || bytes.Contains(msgs[0].Data, []byte(secret)) {
			t.Errorf("the mail contains %q", secret)
		}
	}
}

// TestService_NoHeaderInjectionFromAUser: a user's address or full name
// with a line break never reaches a mail header: both are refused before
// they are stored (a trailing one is trimmed), whichever way the user is
// added or changed, since all go through the same check. Send's own
// defence (oneLine, RFC 2047) is TestSend_HeaderEncoding.
func TestService_NoHeaderInjectionFromAUser(t *testing.T) {
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "bob", Email: "bob@example.org\r\n", MobileAllowed: true, PIN: "1234"}); err != nil {
		t.Fatal(err)
	}
	if u, err := svc.User("bob"); err != nil || u.Email != "bob@example.org" {
		t.Errorf("bob = %+v, %v; want the address trimmed", u, err)
	}
	for _, u := range []core.User{
		{Name: "m1", Email: "bob@example.org\r\nBcc: eve@example.org"},
		{Name: "m2", Email: "bob@example.org\nBcc: eve@example.org"},
		{Name: "m3", Email: "bob@example.org", StringsEmail: "bob@example.org\r\nCc: eve@example.org"},
		{Name: "m4", Email: "bob@example.org", FullName: "Bob\r\nBcc: eve@example.org"},
		{Name: "m5", Email: "bob@example.org", FullName: "Bob\nSubject: free money"},
	} {
		u.MobileAllowed, u.PIN = true, "1234"
		if _, err := svc.AddUser(u); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("AddUser(%q, %q, %q) = %v, want refused", u.Email, u.StringsEmail, u.FullName, err)
		}
		_, err := svc.UpdateUser("bob", func(v *core.User) error {
			v.Email, v.StringsEmail, v.FullName = u.Email, u.StringsEmail, u.FullName
			return nil
		})
		if core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("UpdateUser to (%q, %q, %q) = %v, want refused", u.Email, u.StringsEmail, u.FullName, err)
		}
	}
}

// TestSend_HeaderLinesFold: a long name or subject in any script is
// folded into header lines of at most 78 octets (RFC 5322's limit for
// lines; 998 is the hard one), as RFC 2047 encoded words where it is not
// ASCII, and reads back exactly as given. Each encoded word must fit on a
// line after the field's name: go-message folds only between words and
// otherwise puts the rest on one line of up to 998 octets.
func TestSend_HeaderLinesFold(t *testing.T) {
	tests := []struct{ name, subject, fromName, toName string }{
		{"german", strings.Repeat("Ihr Bereitstellungscode – Grüße aus Köln. ", 4), "Prüfstelle für Authentifizierung, Abteilung Ärztehäuser Süd", "Zoë Ångström-Müller von Löwenstein-Wertheim-Rosenberg"},
		{"japanese", "モバイル認証アプリのプロビジョニングコードのお知らせ（山田太郎様）", "プロビジオ認証サーバー 管理者", strings.Repeat("山田太郎", 12)},
		{"emoji", strings.Repeat("Your code 🔐 is ready 🙂 ", 5), "Provisio 🔐 Helpdesk", "Bob 🙂 " + strings.Repeat("Ü", 30)},
		{"ascii with quotes", strings.Repeat("Your provision code, as asked ", 6), `Provisio "Helpdesk", IT`, `Smith, John (IT) "the Boss" ` + strings.Repeat("Longname ", 8)},
	}
	s := newServer(t, smtpcapture.Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configFor(s, mailer.SecurityNone)
			cfg.FromName = tt.fromName
			m := mailer.Message{To: to, ToName: tt.toName, Subject: tt.subject, Text: "Hello"}
			if err := mailer.Send(context.Background(), cfg, m); err != nil {
				t.Fatal(err)
			}
			msgs, err := s.Wait(i+1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			raw := msgs[i].Data
			head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			for _, line := range strings.Split(string(head), "\r\n") {
				if len(line) > 78 {
					t.Errorf("header line of %d octets: %q", len(line), line)
				}
				for _, r := range line {
					if r > 0x7e {
						t.Fatalf("header line has non-ASCII: %q", line)
					}
				}
			}
			p := parse(t, raw)
			if subj, err := p.header.Subject(); err != nil || subj != strings.TrimSpace(tt.subject) {
				t.Errorf("Subject = %q (%v), want %q", subj, err, strings.TrimSpace(tt.subject))
			}
			if fl, err := p.header.AddressList("From"); err != nil || len(fl) != 1 || fl[0].Name != tt.fromName || fl[0].Address != from {
				t.Errorf("From = %v (%v), want %q <%s>", fl, err, tt.fromName, from)
			}
			if tl, err := p.header.AddressList("To"); err != nil || len(tl) != 1 || tl[0].Name != strings.TrimSpace(tt.toName) || tl[0].Address != to {
				t.Errorf("To = %v (%v), want %q <%s>", tl, err, strings.TrimSpace(tt.toName), to)
			}
		})
	}
}

// TestWorker_QRImageUniquePerMessage: each provision mail's QR image has
// its own Content-ID, which its HTML refers to. RFC 2392 asks for
// globally unique Content-IDs, and iOS Mail takes it at its word: it
// caches inline images by Content-ID across messages, so with one fixed
// ID a reprovisioned user could be shown the first mail's QR code, whose
// code is dead, in the second mail.
func TestWorker_QRImageUniquePerMessage(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	svc := storetest.MustService(t)
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	var urls []string
	for range 2 {
		ic, err := svc.MailProvisionCode("bob")
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, ic.URL)
		if err := w.Flush(t.Context()); err != nil {
			t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
		}
	}
	msgs, err := s.Wait(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, m := range msgs {
		p := parse(t, m.Data)
		img := p.one(t, "image/png")
		id := strings.Trim(img.header.Get("Content-Id"), "<>")
		if !strings.Contains(id, "@") || strings.ContainsAny(id, " <>\"") {
			t.Errorf("mail %d: Content-ID %q is not an id-left@id-right", i, id)
		}
		src := imgSrc.FindStringSubmatch(string(p.one(t, "text/html").body))
		if src == nil || src[1] != "cid:"+id {
			t.Errorf("mail %d: img src %v, want cid:%s", i, src, id)
		}
		if got := decodeQR(t, img.body); got != urls[i] {
			t.Errorf("mail %d: QR reads %q, want %q", i, got, urls[i])
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("both mails' QR images have the Content-ID %q", ids[0])
	}
}
