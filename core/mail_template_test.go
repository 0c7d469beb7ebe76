package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestSettings_TemplatePlaceholders: a provision template with a
// placeholder the mailer does not know ({Code}, {name}) or a brace missing
// ({code) is refused with a sentence naming the part and the mistake,
// whichever way it is saved; otherwise the user would get a mail showing
// "{Code}" or "{code" where the code should be. CSS in the HTML, whose
// braces are not placeholders, is accepted.
func TestSettings_TemplatePlaceholders(t *testing.T) {
	const list = "{username}, {fullname}, {email}, {code}, {url}, {expires} or {fingerprint}"
	tests := []struct {
		key, value string
		want       string // "" accepted
	}{
		{"template.provision.subject", "Your code for {username}", ""},
		{"template.provision.text", "Code {code}, link {url}, until {expires}, for {fullname} <{email}>.\n", ""},
		{"template.provision.html", "<style>p { color: #222; } .c{font-weight:bold}</style><p class=c>{code}</p><img src=url4>", ""},
		{"template.provision.html", "<p style=\"margin:0\">{fullname}</p><script type=\"application/ld+json\">{\"@type\": \"x\"}</script>", ""},

		{"template.provision.subject", "Your code, {name}", "The subject has {name}, which is not a placeholder; use " + list + "."},
		{"template.provision.text", "Your code: {Code}\n", "The plain text has {Code}; placeholders are in lower case: write {code}."},
		{"template.provision.html", "<p>{fullName}</p>", "The HTML has {fullName}; placeholders are in lower case: write {fullname}."},
		{"template.provision.text", "Code {code, valid until {expires}.", `The plain text has "{code" without its closing brace; write {code}.`},
		{"template.provision.text", "Code code}.", `The plain text has "code}" without its opening brace; write {code}.`},
		{"template.provision.html", "<b>{code</b>", `The HTML has "{code" without its closing brace; write {code}.`},
		{"template.provision.html", "<b>url}</b>", `The HTML has "url}" without its opening brace; write {url}.`},
		{"template.provision.text", "Code {{code}}.", "The plain text has {{code}}; placeholders take one pair of braces: write {code}."},
		{"template.provision.subject", "Code { code }", `The subject has "{ code }", which is not a placeholder; use ` + list + "."},
		{"template.provision.text", "Your code is ready {\n", `The plain text has a "{" that is not closed; placeholders are written like {code}.`},
		{"template.provision.subject", "Your code} is ready", `The subject has "code}" without its opening brace; write {code}.`},
		{"template.provision.subject", "Your key} is ready", `The subject has a "}" that was not opened; placeholders are written like {code}.`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			svc := storetest.MustService(t)
			err := svc.SetSetting(tt.key, tt.value)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if core.ErrorCode(err) != core.CodeInvalid || core.ErrorMessage(err) != tt.want {
				t.Fatalf("SetSetting = %v (%q), want %q", err, core.ErrorMessage(err), tt.want)
			}
			if fe := core.FieldErrors(err); len(fe) != 1 || fe[0].Field != tt.key {
				t.Errorf("field errors %+v, want one for %s", fe, tt.key)
			}
			// A whole record (the admin API's PUT /v1/config) gets the
			// same check.
			set := svc.Settings()
			if err := set.Set(tt.key, tt.value); err == nil {
				if err := svc.SetSettings(set, "Settings"); core.ErrorMessage(err) != tt.want {
					t.Errorf("SetSettings = %v, want %q", err, tt.want)
				}
			} else if core.ErrorMessage(err) != tt.want {
				t.Errorf("Settings.Set = %v, want %q", err, tt.want)
			}
			if got := svc.Settings().ProvisionTemplate; got != (core.MailTemplate{}) {
				t.Errorf("saved %+v", got)
			}
		})
	}
}

// TestSettings_OldTemplateDoesNotBlockOtherSettings: a template stored
// before the check (or by an older version) is checked only when it is
// changed, so saving another setting still works; the mail it makes is
// the admin's to fix when they next edit it.
func TestSettings_OldTemplateDoesNotBlockOtherSettings(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	set := svc.Settings()
	set.ProvisionTemplate.Text = "Code {Code}\n"
	if err := st.Update(func(tx core.Tx) error { return tx.PutSettings(set) }); err != nil {
		t.Fatal(err)
	}
	svc = storetest.MustServiceOn(t, st)
	if err := svc.SetSetting("policy.pin.min_length", "5"); err != nil {
		t.Fatalf("another setting refused: %v", err)
	}
	if err := svc.SetSetting("template.provision.subject", "Hello {fullname}"); err != nil {
		t.Fatalf("another template part refused: %v", err)
	}
	if err := svc.SetSetting("template.provision.text", "Code {Codes}\n"); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("a changed bad part: %v, want refused", err)
	}
}

// TestSettings_SubjectCarriesNoSecret: the subject is what a mail shows
// without being opened (inbox lists, a phone's lock-screen notification,
// the relay's message-tracking log), so a provision template whose subject
// would carry the code, the Provision URL (which holds the code) or the
// QR keyword (replaced by that URL outside the HTML) is refused, whichever
// way it is saved. Placeholders without a secret stay welcome.
func TestSettings_SubjectCarriesNoSecret(t *testing.T) {
	const where = "which would show it in inbox lists, on lock screens and in mail servers' logs; keep it in the text and HTML."
	tests := []struct {
		value, want string // want "" accepted
	}{
		{"Your code for {username}, until {expires}", ""},
		{"{fullname}: set up your authenticator", ""},
		{"Your code is {code}", "The subject has {code}, the provision code, " + where},
		{"Set up here: {url}", "The subject has {url}, the Provision URL with the code in it, " + where},
		{"Scan url4", "The subject has url4, the Provision URL with the code in it, " + where},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			svc := storetest.MustService(t)
			err := svc.SetSetting("template.provision.subject", tt.value)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if core.ErrorCode(err) != core.CodeInvalid || core.ErrorMessage(err) != tt.want {
				t.Fatalf("SetSetting = %v (%q), want %q", err, core.ErrorMessage(err), tt.want)
			}
			if fe := core.FieldErrors(err); len(fe) != 1 || fe[0].Field != "template.provision.subject" {
				t.Errorf("field errors %+v, want one for the subject", fe)
			}
			set := svc.Settings()
			set.ProvisionTemplate.Subject = tt.value
			if err := svc.SetSettings(set, "Settings"); core.ErrorMessage(err) != tt.want {
				t.Errorf("SetSettings = %v, want %q", err, tt.want)
			}
			if got := svc.Settings().ProvisionTemplate.Subject; got != "" {
				t.Errorf("saved subject %q", got)
			}
		})
	}
}
