package mailer_test

import (
	"errors"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

func TestRender(t *testing.T) {
	png := []byte("\x89PNG fake")
	expires := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	base := mailer.Vars{
		Username: "bob", FullName: "Bob Example", Email: to, Code: "ABCD2345",
		URL: "https://h:8443/userportal/provision?siteid=s&username=bob&code=ABCD2345", Expires: expires, QRPNG: png,
	}
	with := func(f func(*mailer.Vars)) mailer.Vars { v := base; f(&v); return v }

	tests := []struct {
		name                    string
		tmpl                    mailer.Template
		vars                    mailer.Vars
		subject, text, htmlBody string
		inline                  bool
	}{
		{
			name:     "every placeholder",
			tmpl:     mailer.Template{Subject: "Code for {username}", Text: "{fullname} {email} {code} {url} {expires}", HTML: "<p>{fullname} {code}</p>"},
			vars:     base,
			subject:  "Code for bob",
			text:     "Bob Example bob@example.org ABCD2345 " + base.URL + " Wed 2 Jan 2030 03:04 UTC",
			htmlBody: "<p>Bob Example ABCD2345</p>",
		},
		{
			name:     "url4 in HTML attaches the QR",
			tmpl:     mailer.Template{Subject: "s", Text: "scan url4", HTML: "<img src=url4 alt=QR>"},
			vars:     base,
			subject:  "s",
			text:     "scan " + base.URL,
			htmlBody: "<img src=cid:{cid} alt=QR>", // {cid}: the inline part's Content-ID
			inline:   true,
		},
		{
			name:     "url4 with QR Code URL policy",
			tmpl:     mailer.Template{Subject: "s", Text: "url4", HTML: `<img src="url4">`},
			vars:     with(func(v *mailer.Vars) { v.QRCodeURL = "https://h:8443/userportal/getQRCode?a=1&text=" }),
			subject:  "s",
			text:     "https://h:8443/userportal/getQRCode?a=1&text=" + url.QueryEscape(base.URL),
			htmlBody: `<img src="` + html.EscapeString("https://h:8443/userportal/getQRCode?a=1&text="+url.QueryEscape(base.URL)) + `">`,
		},
		{
			name:    "text only needs no QR",
			tmpl:    mailer.Template{Subject: "s", Text: "url4"},
			vars:    with(func(v *mailer.Vars) { v.QRPNG = nil }),
			subject: "s",
			text:    base.URL,
		},
		{
			name:     "full name falls back to username",
			tmpl:     mailer.Template{Subject: "Hi {fullname}", Text: "Hello {fullname}", HTML: "Hello {fullname}"},
			vars:     with(func(v *mailer.Vars) { v.FullName = "  " }),
			subject:  "Hi bob",
			text:     "Hello bob",
			htmlBody: "Hello bob",
		},
		{
			name:     "values are not expanded again",
			tmpl:     mailer.Template{Subject: "{fullname}", Text: "{fullname}|{code}", HTML: "{fullname}|{code}"},
			vars:     with(func(v *mailer.Vars) { v.FullName = "{code} url4" }),
			subject:  "{code} url4",
			text:     "{code} url4|ABCD2345",
			htmlBody: "{code} url4|ABCD2345",
		},
		{
			name:     "HTML escaping, text as typed",
			tmpl:     mailer.Template{Subject: "{fullname}", Text: "{fullname}", HTML: "<p>{fullname}</p><a href=\"{url}\">"},
			vars:     with(func(v *mailer.Vars) { v.FullName = `<b>Bob & "Co"</b>` }),
			subject:  `<b>Bob & "Co"</b>`,
			text:     `<b>Bob & "Co"</b>`,
			htmlBody: `<p>&lt;b&gt;Bob &amp; &#34;Co&#34;&lt;/b&gt;</p><a href="` + strings.ReplaceAll(base.URL, "&", "&amp;") + `">`,
		},
		{
			name:    "no expiry",
			tmpl:    mailer.Template{Subject: "s", Text: "expires {expires}"},
			vars:    with(func(v *mailer.Vars) { v.Expires = time.Time{} }),
			subject: "s",
			text:    "expires soon",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mailer.Render(tt.tmpl, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if m.To != tt.vars.Email || m.ToName != tt.vars.FullName {
				t.Errorf("To = %q %q", m.ToName, m.To)
			}
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if m.Text != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			if got := len(m.Inline) == 1; got != tt.inline {
				t.Fatalf("inline QR attached = %v, want %v (%d parts)", got, tt.inline, len(m.Inline))
			}
			want := tt.htmlBody
			if tt.inline {
				in := m.Inline[0]
				if !strings.HasPrefix(in.ContentID, "qr.") || !strings.HasSuffix(in.ContentID, "@provisio") || in.ContentType != "image/png" || string(in.Data) != string(png) {
					t.Errorf("inline part = %+v", in)
				}
				want = strings.ReplaceAll(want, "{cid}", in.ContentID)
			}
			if m.HTML != want {
				t.Errorf("HTML = %q, want %q", m.HTML, want)
			}
		})
	}
}

func TestRender_Errors(t *testing.T) {
	tests := []struct {
		name string
		tmpl mailer.Template
		vars mailer.Vars
		want string
	}{
		{"no subject", mailer.Template{Text: "x"}, mailer.Vars{}, "The mail template needs a subject."},
		{"no body", mailer.Template{Subject: "s", HTML: " "}, mailer.Vars{}, "The mail template needs a text or an HTML body."},
		{"url4 without a QR image", mailer.Template{Subject: "s", HTML: "<img src=url4>"}, mailer.Vars{URL: "https://h/"},
			"The mail template shows the QR code (url4), but no QR code image was made."},
		// Stored before the settings refused it: the mail fails rather
		// than show the code on a lock screen.
		{"code in the subject", mailer.Template{Subject: "Code {code}", Text: "x"}, mailer.Vars{Code: "K7MQ2XPA"},
			"The mail template's subject has {code}, the provision code, which would show it in inbox lists, on lock screens and in mail servers' logs; keep it in the text and HTML."},
		{"URL in the subject", mailer.Template{Subject: "Go to {url}", Text: "x"}, mailer.Vars{URL: "https://h/"},
			"The mail template's subject has {url}, the Provision URL with the code in it, which would show it in inbox lists, on lock screens and in mail servers' logs; keep it in the text and HTML."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mailer.Render(tt.tmpl, tt.vars)
			e, ok := errors.AsType[*core.Error](err)
			if !ok || e.Code != core.CodeInvalid || e.Field != "template" || !errors.Is(err, mailer.ErrInvalid) {
				t.Fatalf("err = %#v, want an invalid template error", err)
			}
			if e.Message != tt.want {
				t.Errorf("Message = %q, want %q", e.Message, tt.want)
			}
		})
	}
}

func TestDefaultProvisionTemplate(t *testing.T) {
	tm := mailer.DefaultProvisionTemplate()
	if tm.Subject != "Your mobile authenticator provision code" {
		t.Errorf("Subject = %q", tm.Subject)
	}
	for _, want := range []string{`<img src="url4" alt="QR code"`, "{code}", `href="{url}"`, "{expires}", "{username}"} {
		if !strings.Contains(tm.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, want := range []string{"{code}", "{url}", "{expires}", "{username}"} {
		if !strings.Contains(tm.Text, want) {
			t.Errorf("Text lacks %q", want)
		}
	}
}

// FuzzRender_HTMLEscapes checks that no full name, however hostile, can
// add markup to the HTML part, and that it reads back exactly.
func FuzzRender_HTMLEscapes(f *testing.F) {
	for _, s := range []string{`<b>Bob & "Co"</b>`, "Jürgen Groß", "{code}", "url4", "' onerror='x", "</p><script>", "&amp;"} {
		f.Add(s)
	}
	tmpl := mailer.Template{Subject: "s", HTML: "<p title=\"{fullname}\">{fullname}</p>"}
	f.Fuzz(func(t *testing.T, name string) {
		m, err := mailer.Render(tmpl, mailer.Vars{Username: "bob", FullName: name})
		if err != nil {
			t.Fatal(err)
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(m.HTML, `<p title="`), "</p>")
		attr, content, ok := strings.Cut(inner, `">`)
		if !ok || strings.ContainsAny(attr, `<>"`) || strings.ContainsAny(content, `<>"`) {
			t.Fatalf("markup escaped the value: %q", m.HTML)
		}
		want := name
		if strings.TrimSpace(name) == "" {
			want = "bob"
		}
		if html.UnescapeString(content) != want {
			t.Errorf("content reads back %q, want %q", html.UnescapeString(content), want)
		}
	})
}

func TestTemplateFrom(t *testing.T) {
	def := mailer.DefaultProvisionTemplate()
	tests := []struct {
		name string
		in   core.MailTemplate
		want mailer.Template
	}{
		{"empty means the default", core.MailTemplate{}, def},
		{"blank means the default", core.MailTemplate{Subject: "  ", Text: "\n", HTML: " \t"}, def},
		{"own subject", core.MailTemplate{Subject: "Code for {username}"}, mailer.Template{Subject: "Code for {username}", Text: def.Text, HTML: def.HTML}},
		{"everything own", core.MailTemplate{Subject: "s", Text: " t ", HTML: "h"}, mailer.Template{Subject: "s", Text: " t ", HTML: "h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mailer.TemplateFrom(tt.in); got != tt.want {
				t.Errorf("TemplateFrom = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRender_KnowsCoresPlaceholders: the settings accept exactly the
// placeholders core lists (core.MailPlaceholders), so Render must fill
// every one of them, and the built-in template must pass the settings'
// check, or Restore default would be refused.
func TestRender_KnowsCoresPlaceholders(t *testing.T) {
	var tmpl mailer.Template
	for _, n := range core.MailPlaceholders {
		tmpl.Text += "{" + n + "} "
		if n != "code" && n != "url" { // never in a subject: core.SubjectSecret
			tmpl.Subject += "{" + n + "} "
		}
	}
	tmpl.HTML = "<p>" + tmpl.Text + "</p>"
	m, err := mailer.Render(tmpl, mailer.Vars{Username: "bob", Email: to, Code: "ABCD2345", URL: "https://h/p", Expires: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{m.Subject, m.Text, m.HTML} {
		if strings.ContainsAny(part, "{}") {
			t.Errorf("Render left a placeholder: %q", part)
		}
	}

	def := mailer.DefaultProvisionTemplate()
	svc := storetest.MustService(t)
	for key, v := range map[string]string{"template.provision.subject": def.Subject, "template.provision.text": def.Text, "template.provision.html": def.HTML} {
		if err := svc.SetSetting(key, v); err != nil {
			t.Errorf("the built-in %s is refused: %v", key, err)
		}
	}
}
