package core

import (
	"fmt"
	"slices"
	"strings"
)

// MailPlaceholders are the names a provision template may use in braces,
// as in {code}; the mail transport fills each (mailer.Render) and the
// settings refuse any other (checkTemplateChange).
var MailPlaceholders = []string{"username", "fullname", "email", "code", "url", "expires", "fingerprint"}

// mailPlaceholderList is MailPlaceholders as a sentence lists them.
func mailPlaceholderList() string {
	words := make([]string, len(MailPlaceholders))
	for i, n := range MailPlaceholders {
		words[i] = "{" + n + "}"
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// checkTemplateChange refuses a provision template part that was changed
// from old to set and has a placeholder the mail transport does not know
// or a brace missing, which the user would otherwise read in the mail
// ("{Code}", "{code") where the code should be. Only a changed part is
// checked: one stored before this check must not block saving another
// setting.
func checkTemplateChange(old, set MailTemplate) error {
	parts := []struct {
		key, name   string
		old, v      string
		placeholder bool // braces belong to placeholders only
	}{
		{"template.provision.subject", "The subject", old.Subject, set.Subject, true},
		{"template.provision.text", "The plain text", old.Text, set.Text, true},
		// CSS and scripts in HTML have braces of their own.
		{"template.provision.html", "The HTML", old.HTML, set.HTML, false},
	}
	for _, p := range parts {
		if p.v == p.old {
			continue
		}
		msg := templateMistake(p.v, p.placeholder)
		if msg == "" && p.key == "template.provision.subject" {
			msg = SubjectSecret(p.v)
		}
		if msg != "" {
			return FieldError(p.key, "%s %s", p.name, msg)
		}
	}
	return nil
}

// templateMistake is what is wrong with the placeholders of one template
// part, as the end of a sentence ("has {Code}; ..."), or "". With strict,
// every brace must belong to a placeholder; without, only braces around a
// word, or next to a placeholder's name, are taken for one.
func templateMistake(s string, strict bool) string {
	known := func(n string) bool { return slices.Contains(MailPlaceholders, n) }
	word := func(i int) int { // the end of the word starting at i
		for i < len(s) && isWordByte(s[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if strings.HasPrefix(s[i:], "{{") {
				if end := word(i + 2); end > i+2 && strings.HasPrefix(s[end:], "}}") && known(strings.ToLower(s[i+2:end])) {
					return fmt.Sprintf("has %s; placeholders take one pair of braces: write {%s}.", s[i:end+2], strings.ToLower(s[i+2:end]))
				}
			}
			end := word(i + 1)
			name := s[i+1 : end]
			if name != "" && end < len(s) && s[end] == '}' {
				switch {
				case known(name):
					i = end
					continue
				case known(strings.ToLower(name)):
					return fmt.Sprintf("has {%s}; placeholders are in lower case: write {%s}.", name, strings.ToLower(name))
				}
				return fmt.Sprintf("has {%s}, which is not a placeholder; use %s.", name, mailPlaceholderList())
			}
			if known(strings.ToLower(name)) {
				return fmt.Sprintf("has %q without its closing brace; write {%s}.", s[i:end], strings.ToLower(name))
			}
			if !strict {
				continue
			}
			close := strings.IndexAny(s[i+1:], "{}\n")
			if close < 0 || s[i+1+close] != '}' || close > 40 {
				return `has a "{" that is not closed; placeholders are written like {code}.`
			}
			return fmt.Sprintf("has %q, which is not a placeholder; use %s.", s[i:i+close+2], mailPlaceholderList())
		case '}':
			start := i
			for start > 0 && isWordByte(s[start-1]) {
				start--
			}
			if name := strings.ToLower(s[start:i]); known(name) && (start == 0 || s[start-1] != '{') {
				return fmt.Sprintf("has %q without its opening brace; write {%s}.", s[start:i+1], name)
			}
			if strict {
				return `has a "}" that was not opened; placeholders are written like {code}.`
			}
		}
	}
	return ""
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
}

// SubjectSecret is why a provision template's subject must not be used,
// as the end of a sentence ("has {code}, ..."), or "" when it may. A
// subject is read without opening the mail: in inbox lists, on a phone's
// lock screen, in the relay's message-tracking log. So it may not carry
// the code, the Provision URL (which holds the code) or the QR keyword
// (which becomes that URL outside the HTML). The settings refuse such a
// subject when it is saved, and the mail transport one stored before.
func SubjectSecret(subject string) string {
	const where = "which would show it in inbox lists, on lock screens and in mail servers' logs; keep it in the text and HTML."
	for _, p := range []struct{ word, what string }{
		{"{code}", "the provision code"},
		{"{url}", "the Provision URL with the code in it"},
		{MailQRKeyword, "the Provision URL with the code in it"},
	} {
		if strings.Contains(subject, p.word) {
			return fmt.Sprintf("has %s, %s, %s", p.word, p.what, where)
		}
	}
	return ""
}
