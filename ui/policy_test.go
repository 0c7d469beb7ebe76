package ui

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2/test"

	"provisio/core"
)

const validityKey = "policy.selfreset.code_validity"

func TestSelfResetPolicy_ValidityRange(t *testing.T) {
	h := newHarness(t)
	f := h.c.selfReset
	validity := f.entries[validityKey]
	if validity.entry.Text != "600" {
		t.Fatalf("validity shows %q, want the saved 600", validity.entry.Text)
	}

	for _, bad := range []string{"9", "1000001", "ten", ""} {
		t.Run(bad, func(t *testing.T) {
			validity.entry.SetText("")
			test.Type(validity.entry, bad)
			test.Tap(f.apply)
			if got, want := validity.msg.Text, "Enter a whole number from 10 to 1,000,000."; !validity.msg.Visible() || got != want {
				t.Errorf("message %q (visible %v), want %q", got, validity.msg.Visible(), want)
			}
			if validity.entry.Text != bad {
				t.Errorf("entry now %q, want what was typed", validity.entry.Text)
			}
			if got := h.svc.Settings().SelfReset.CodeValidity; got != 600 {
				t.Errorf("saved validity changed to %d", got)
			}
		})
	}

	// Reset puts back the saved value and clears the message; applying
	// the saved values again is not a change.
	test.Tap(f.reset)
	test.Tap(f.apply)
	if f.result.Text != "Nothing to apply: the form shows the saved values." {
		t.Errorf("apply without changes: %q", f.result.Text)
	}
	validity.entry.SetText("9")
	test.Tap(f.apply)
	test.Tap(f.reset)
	if validity.entry.Text != "600" || validity.msg.Visible() {
		t.Errorf("after Reset: %q, message visible %v", validity.entry.Text, validity.msg.Visible())
	}

	validity.entry.SetText("")
	test.Type(validity.entry, "900")
	f.checks["policy.selfreset.log_device_info"].SetChecked(true)
	test.Tap(f.apply)
	set := h.svc.Settings().SelfReset
	if set.CodeValidity != 900 || !set.LogDeviceInfo {
		t.Errorf("saved %+v, want validity 900 and device logging on", set)
	}
	if f.result.Text != "Saved." || validity.msg.Visible() {
		t.Errorf("result %q, message visible %v", f.result.Text, validity.msg.Visible())
	}

	// Edits that are not applied are undone by Reset.
	validity.entry.SetText("1200")
	test.Tap(f.reset)
	if validity.entry.Text != "900" {
		t.Errorf("Reset shows %q, want the saved 900", validity.entry.Text)
	}
}

func TestMobilePolicy_ApplyAndReject(t *testing.T) {
	h := newHarness(t)
	f := h.c.mobile
	email := f.entries["policy.mobile.support_email"]

	test.Type(email.entry, "helpdesk at example")
	f.checks["policy.mobile.sync_index"].SetChecked(true)
	test.Tap(f.apply)
	want := `"helpdesk at example" is not an email address like name@example.org.`
	if email.msg.Text != want || !email.msg.Visible() {
		t.Errorf("message %q, want %q", email.msg.Text, want)
	}
	if mc := h.svc.Settings().MobileClient; mc.SupportEmail != "" || mc.SyncIndex {
		t.Errorf("settings changed despite the error: %+v", mc)
	}

	email.entry.SetText("helpdesk@example.org")
	test.Type(f.entries["policy.mobile.support_phone"].entry, "+44 20 7946 0000")
	f.checks["policy.mobile.provision_numeric"].SetChecked(true)
	test.Tap(f.apply)
	mc := h.svc.Settings().MobileClient
	if mc.SupportEmail != "helpdesk@example.org" || mc.SupportPhone != "+44 20 7946 0000" || !mc.SyncIndex || !mc.ProvisionNumeric || mc.AllowPINEntry {
		t.Errorf("saved %+v", mc)
	}

	// The save is in the audit log, and the console stays in step with a
	// change made elsewhere (here the CLI's SetSetting).
	h.waitFor("log entry for the save", func() bool {
		return len(h.c.log.shown) > 0 && strings.HasPrefix(h.c.log.shown[0].Message, "Policy Mobile Client saved: policy.mobile.provision_numeric No → Yes, ")
	})
	if err := h.svc.SetSetting("policy.mobile.allow_pin_entry", "yes"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("form follows the CLI", func() bool { return f.checks["policy.mobile.allow_pin_entry"].Checked })
}

func TestMobilePolicy_AllEightFields(t *testing.T) {
	h := newHarness(t)
	f := h.c.mobile
	var labels []string
	for _, k := range f.spec.checks {
		labels = append(labels, f.checks[k].Text)
	}
	for _, e := range f.spec.entries {
		labels = append(labels, core.SettingHelp(e.key))
	}
	want := "Allow user to enter PIN|Allow user to choose how to extract OTC|Allow user to browse strings|" +
		"Provision is numeric|Sync Index|Support Email Address|Support Phone Number|VPN URL Scheme"
	if got := strings.Join(labels, "|"); got != want {
		t.Errorf("fields\n%s\nwant\n%s", got, want)
	}
	phone := f.entries["policy.mobile.support_phone"]
	test.Type(phone.entry, "call us")
	test.Tap(f.apply)
	if phone.msg.Text != `"call us" is not a phone number like +44 20 7946 0000.` {
		t.Errorf("phone message %q", phone.msg.Text)
	}
	if !strings.Contains(f.spec.note, "next provision or security string download") {
		t.Errorf("note %q", f.spec.note)
	}
}

// TestMobilePolicy_SeedSubtitle: the screen opens with the seed's line
// under Policy > Mobile Client.
func TestMobilePolicy_SeedSubtitle(t *testing.T) {
	h := newHarness(t)
	const want = "Set the policies to be downloaded to mobile clients."
	for _, text := range visibleTexts(h.c.mobile.content) {
		if strings.HasPrefix(text, want) {
			return
		}
	}
	t.Errorf("no label starts with %q; labels:\n%s", want, strings.Join(visibleTexts(h.c.mobile.content), "\n"))
}

func TestSelfResetPolicy_ProvisionURLs(t *testing.T) {
	h := newHarness(t)
	f := h.c.selfReset
	keys := []string{"policy.selfreset.url_provisioning", "policy.selfreset.url_get_settings", "policy.selfreset.url_complete"}
	for _, k := range keys {
		e := f.entries[k]
		if e == nil || e.entry.Text != "" || e.entry.PlaceHolder != "" {
			t.Fatalf("%s missing or not empty by default", k)
		}
	}
	bad := f.entries[keys[1]]
	test.Type(bad.entry, "proxy.example.org/getsettings")
	test.Tap(f.apply)
	if want := `"proxy.example.org/getsettings" is not a web address starting with https://.`; bad.msg.Text != want {
		t.Errorf("message %q, want %q", bad.msg.Text, want)
	}
	bad.entry.SetText("https://proxy.example.org/ssdserver/getServerDetails?id=")
	test.Type(f.entries[keys[0]].entry, "https://proxy.example.org/userportal/provision")
	f.checks["policy.selfreset.send_code_as_security_string"].SetChecked(true)
	test.Tap(f.apply)
	sr := h.svc.Settings().SelfReset
	if sr.URLGetSettings != "https://proxy.example.org/ssdserver/getServerDetails?id=" ||
		sr.URLProvisioning != "https://proxy.example.org/userportal/provision" || sr.URLComplete != "" ||
		!sr.SendCodeAsSecurityString || f.result.Text != "Saved." {
		t.Errorf("saved %+v, result %q", sr, f.result.Text)
	}
	test.Tap(f.reset)
	if f.entries[keys[0]].entry.Text != "https://proxy.example.org/userportal/provision" {
		t.Error("Reset did not show the saved value")
	}
}

// TestPINPolicy_RaiseBothLengths: going from PINs of 4 to 6 digits to 8
// to 10 in one Apply is a valid change and is saved, with one audit line
// naming both keys. Each field used to be set on its own, so min 8 met
// the saved max 6 and the form refused it ("The shortest PIN cannot be
// longer than the longest."). A range that is wrong in the end is still
// refused, under the shortest PIN, with nothing saved.
func TestPINPolicy_RaiseBothLengths(t *testing.T) {
	h := newHarness(t)
	if err := h.svc.SetSetting("policy.pin.max_length", "6"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	f := h.c.pin
	min, max := f.entries["policy.pin.min_length"], f.entries["policy.pin.max_length"]
	if max.entry.Text != "6" {
		t.Fatalf("the form shows max %q, want the saved 6", max.entry.Text)
	}
	min.entry.SetText("8")
	max.entry.SetText("10")
	test.Tap(f.apply)
	if set := h.svc.Settings(); set.PINMin != 8 || set.PINMax != 10 || f.result.Text != "Saved." {
		t.Fatalf("8 to 10 not saved: saved %d-%d, footer %q, shortest PIN says %q", set.PINMin, set.PINMax, f.result.Text, min.msg.Text)
	}
	h.waitFor("one log line naming both keys", func() bool {
		return len(h.c.log.shown) > 0 && h.c.log.shown[0].Message ==
			"Policy PIN and Lockout saved: policy.pin.max_length 6 → 10, policy.pin.min_length 4 → 8."
	})

	min.entry.SetText("10")
	max.entry.SetText("9")
	test.Tap(f.apply)
	if set := h.svc.Settings(); set.PINMin != 8 || set.PINMax != 10 {
		t.Errorf("10 to 9 saved as %d-%d", set.PINMin, set.PINMax)
	}
	if !min.msg.Visible() || min.msg.Text != "The shortest PIN cannot be longer than the longest." || min.entry.Text != "10" || max.entry.Text != "9" {
		t.Errorf("shortest PIN says %q (visible %v); the form shows %q-%q", min.msg.Text, min.msg.Visible(), min.entry.Text, max.entry.Text)
	}
}

// TestSettingsForms_LabelsStartWithACapital: every field label of the
// policy and backup forms starts with a capital, as the Server, Mail
// Transport and user forms do. Policy → PIN & Lockout showed core's
// lower-case help ("shortest PIN", "first lock (seconds)"). The backup
// form's "age recipient" is the tool's own name, spelt as it is, and
// "or passphrase file" continues it.
func TestSettingsForms_LabelsStartWithACapital(t *testing.T) {
	h := newHarness(t)
	lower := map[string]bool{"age recipient": true, "or passphrase file": true}
	for _, f := range []*settingsForm{h.c.mobile, h.c.selfReset, h.c.pin, h.c.backups.form} {
		for _, e := range f.spec.entries {
			label := e.labelText()
			if r, _ := utf8.DecodeRuneInString(label); !unicode.IsUpper(r) && !lower[label] {
				t.Errorf("%s: %s is labelled %q", f.spec.title, e.key, label)
			}
		}
	}
}
