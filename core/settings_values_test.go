package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestSettings_SetValuesChecksTheFinalValues: several keys set at once
// are checked together, once, on the values they end with. Set one key
// at a time, raising the PIN lengths from 4–6 to 8–10 put min 8 next to
// max 6 and was refused although the change is valid.
func TestSettings_SetValuesChecksTheFinalValues(t *testing.T) {
	start := core.DefaultSettings()
	start.PINMin, start.PINMax = 4, 6
	start.Backup.Recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	tests := []struct {
		name   string
		values map[string]string
		// wantFields are the keys refused, each with wantMsg's sentence
		// where given; none: the change is saved.
		wantFields []string
		wantMsg    string
		check      func(core.Settings) bool
	}{
		{name: "raise both PIN lengths past the old longest",
			values: map[string]string{"policy.pin.min_length": "8", "policy.pin.max_length": "10"},
			check:  func(s core.Settings) bool { return s.PINMin == 8 && s.PINMax == 10 }},
		{name: "lower both PIN lengths below the old shortest",
			values: map[string]string{"policy.pin.min_length": "4", "policy.pin.max_length": "4"},
			check:  func(s core.Settings) bool { return s.PINMin == 4 && s.PINMax == 4 }},
		{name: "shortest longer than longest in the end",
			values:     map[string]string{"policy.pin.min_length": "9", "policy.pin.max_length": "8"},
			wantFields: []string{"policy.pin.min_length"}, wantMsg: "The shortest PIN cannot be longer than the longest."},
		{name: "switch from a recipient to a passphrase file",
			values: map[string]string{"backup.passphrase_file": "/etc/provisio/backup.pass", "backup.recipient": ""},
			check:  func(s core.Settings) bool { return s.Backup.Recipient == "" && s.Backup.PassphraseFile != "" }},
		{name: "a recipient and a passphrase file",
			values:     map[string]string{"backup.passphrase_file": "/etc/provisio/backup.pass"},
			wantFields: []string{"backup.passphrase_file"}},
		{name: "every key that does not parse is named",
			values:     map[string]string{"policy.pin.min_length": "eight", "policy.lockout.max_failures": "0", "policy.pin.max_length": "10"},
			wantFields: []string{"policy.lockout.max_failures", "policy.pin.min_length"}},
		{name: "unknown key",
			values:     map[string]string{"policy.pin.length": "8"},
			wantFields: []string{"policy.pin.length"}, wantMsg: `There is no setting "policy.pin.length"; 'provisio settings list' shows them all.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start
			err := s.SetValues(tt.values)
			if len(tt.wantFields) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tt.check(s) {
					t.Fatalf("not applied: %+v", s)
				}
				return
			}
			if s != start {
				t.Errorf("a refused change changed the settings")
			}
			var got []string
			for _, e := range core.FieldErrors(err) {
				got = append(got, e.Field)
				if tt.wantMsg != "" && e.Message != tt.wantMsg {
					t.Errorf("%s: %q, want %q", e.Field, e.Message, tt.wantMsg)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFields, ",") {
				t.Errorf("fields at fault %q, want %q (error %v)", got, tt.wantFields, err)
			}
		})
	}
}

// TestService_ChangeSettingsLogsTheKeys: a save of several keys is one
// change with one audit line that names the save and each key changed,
// with old and new values, but never a secret's.
func TestService_ChangeSettingsLogsTheKeys(t *testing.T) {
	svc := storetest.MustService(t)
	if err := svc.ChangeSettings(map[string]string{"policy.pin.max_length": "6"}, "Policy PIN & Lockout"); err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangeSettings(map[string]string{"policy.pin.min_length": "8", "policy.pin.max_length": "10"}, "Policy PIN & Lockout"); err != nil {
		t.Fatalf("raising both PIN lengths: %v", err)
	}
	if set := svc.Settings(); set.PINMin != 8 || set.PINMax != 10 {
		t.Fatalf("saved %d-%d", set.PINMin, set.PINMax)
	}
	const password = "hunter2-secret"
	if err := svc.ChangeSettings(map[string]string{"smtp.host": "smtp.example.org", "smtp.password": password}, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangeSettings(map[string]string{"policy.pin.min_length": "10", "policy.pin.max_length": "9"}, "Policy PIN & Lockout"); err == nil {
		t.Fatal("a shortest PIN above the longest was saved")
	}
	entries, err := svc.LogTail(3)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Message)
		if strings.Contains(e.Message, password) {
			t.Errorf("the log shows the SMTP password: %q", e.Message)
		}
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"Policy PIN & Lockout saved: policy.pin.max_length 10 → 6.",
		"Policy PIN & Lockout saved: policy.pin.max_length 6 → 10, policy.pin.min_length 4 → 8.",
		`Mail transport saved: smtp.host "" → smtp.example.org, smtp.password changed.`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q:\n%s", want, all)
		}
	}
}

// TestSettings_TLSFingerprint: smtp.tls_fingerprint takes a SHA-256
// fingerprint however it is pasted and keeps it as Provisio shows it; an
// empty value clears it; anything else is refused with a sentence saying
// what a fingerprint looks like.
// TestSettings_PinNeedsTLS: a trusted relay certificate with Security
// none is refused when saved, in either order, and clearing the pin lets
// Security none through again.
func TestSettings_PinNeedsTLS(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	const sentence = "A trusted mail server certificate (smtp.tls_fingerprint) is checked only over TLS; set Security to starttls or tls, or clear the trusted certificate."
	svc := storetest.MustService(t)
	steps := []struct{ key, value, wantErr string }{
		{"smtp.security", "starttls", ""},
		{"smtp.tls_fingerprint", fp, ""},
		{"smtp.security", "none", sentence},
		{"smtp.security", "tls", ""},
		{"smtp.tls_fingerprint", "", ""},
		{"smtp.security", "none", ""},
		{"smtp.tls_fingerprint", fp, sentence},
	}
	for i, st := range steps {
		err := svc.SetSetting(st.key, st.value)
		if got := core.ErrorMessage(err); (err == nil) != (st.wantErr == "") || err != nil && got != st.wantErr {
			t.Fatalf("step %d: %s=%q: error %v, want %q", i, st.key, st.value, err, st.wantErr)
		}
	}
	if m := svc.Settings().Mail; m.Security != "none" || m.TLSFingerprint != "" {
		t.Fatalf("settings after the refusals: %+v", m)
	}
}

// TestService_SetSettingsKeepsOnePinForm: a whole settings record (as
// PUT /v1/config sends it) with the pin in another spelling, line breaks
// around it, is stored in the one form, and its audit line has no line
// break in it.
func TestService_SetSettingsKeepsOnePinForm(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	svc := storetest.MustService(t)
	set := svc.Settings()
	set.Mail.TLSFingerprint = "\r\n" + strings.ToLower(strings.ReplaceAll(fp, ":", "")) + "\r\n"
	if err := svc.SetSettings(set, "Mail settings"); err != nil {
		t.Fatal(err)
	}
	if got := svc.Settings().Mail.TLSFingerprint; got != fp {
		t.Fatalf("stored pin %q, want %q", got, fp)
	}
	tail, err := svc.LogTail(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tail) != 1 || strings.ContainsAny(tail[0].Message, "\r\n") || !strings.Contains(tail[0].Message, fp) {
		t.Fatalf("audit line %+v", tail)
	}
}

func TestSettings_TLSFingerprint(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	tests := []struct {
		name, value string
		want        string // stored value
		wantErr     string // a part of the sentence; "" accepted
	}{
		{name: "as shown", value: fp, want: fp},
		{name: "lower case without colons", value: strings.ToLower(strings.ReplaceAll(fp, ":", "")), want: fp},
		{name: "spaces, around too", value: "  " + strings.ReplaceAll(fp, ":", " ") + " ", want: fp},
		{name: "empty clears", value: "", want: ""},
		{name: "too short", value: "21:CF:83", wantErr: `"21:CF:83" is not a SHA-256 certificate fingerprint: that is 32 pairs of hex digits separated by colons`},
		{name: "not hex", value: strings.Replace(fp, "21", "ZZ", 1), wantErr: "is not a SHA-256 certificate fingerprint"},
		{name: "SHA-1", value: "A9:4A:8F:E5:CC:B1:9B:A6:1C:4C:08:73:D3:91:E9:87:98:2F:BB:D3", wantErr: "That is a SHA-1 fingerprint; Provisio pins the SHA-256 one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := core.DefaultSettings()
			if tt.want == "" && tt.wantErr == "" {
				s.Mail.TLSFingerprint = fp // something to clear
			}
			err := s.Set("smtp.tls_fingerprint", tt.value)
			if tt.wantErr != "" {
				ce, ok := err.(*core.Error)
				if !ok || ce.Field != "smtp.tls_fingerprint" || !strings.Contains(ce.Message, tt.wantErr) {
					t.Fatalf("err %v, want %q on smtp.tls_fingerprint", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get("smtp.tls_fingerprint"); got != tt.want || s.Mail.TLSFingerprint != tt.want {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}

// TestService_PinnedFingerprintLogged: trusting a relay's certificate and
// forgetting it each write an audit line with the whole fingerprint,
// which is longer than the values other lines show.
func TestService_PinnedFingerprintLogged(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	svc := storetest.MustService(t)
	if err := svc.ChangeSettings(map[string]string{"smtp.tls_fingerprint": strings.ToLower(fp)}, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	if got := svc.Settings().Mail.TLSFingerprint; got != fp {
		t.Fatalf("saved %q", got)
	}
	if err := svc.ChangeSettings(map[string]string{"smtp.tls_fingerprint": ""}, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	entries, err := svc.LogTail(2)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		lines = append(lines, e.Message)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		`Mail transport saved: smtp.tls_fingerprint "" → ` + fp + ".",
		"Mail transport saved: smtp.tls_fingerprint " + fp + ` → "".`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q:\n%s", want, all)
		}
	}
}
