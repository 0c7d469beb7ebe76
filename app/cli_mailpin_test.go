package main

import (
	"strings"
	"testing"
)

// TestCLI_SettingsTLSFingerprint: smtp.tls_fingerprint from the command
// line. A fingerprint in any usual spelling is stored as Provisio shows
// it, anything else is refused with a sentence saying what one looks
// like, an empty value clears it, and each change is in the audit log.
func TestCLI_SettingsTLSFingerprint(t *testing.T) {
	const fp = "21:CF:83:71:B2:03:E3:67:96:49:8B:FB:C6:F5:A3:CB:00:F7:14:7F:0C:C1:DB:2A:20:39:08:A8:FC:55:DF:B6"
	dir := privateTempDir(t)
	tests := []struct {
		name     string
		value    string
		wantCode int
		wantOut  string // stdout, trimmed
		wantErr  string // a part of stderr
	}{
		{"pasted without colons", strings.ToLower(strings.ReplaceAll(fp, ":", "")), 0, "smtp.tls_fingerprint = " + fp, ""},
		{"too short", "21:CF:83", exitError, "",
			`"21:CF:83" is not a SHA-256 certificate fingerprint: that is 32 pairs of hex digits separated by colons, such as AB:CD:…, as the Mail Transport screen shows it.`},
		{"SHA-1", "A9:4A:8F:E5:CC:B1:9B:A6:1C:4C:08:73:D3:91:E9:87:98:2F:BB:D3", exitError, "",
			"That is a SHA-1 fingerprint; Provisio pins the SHA-256 one"},
		{"cleared", "", 0, "smtp.tls_fingerprint =", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, "settings", "set", "smtp.tls_fingerprint", tt.value)
			if code != tt.wantCode || strings.TrimSpace(out) != tt.wantOut || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
	code, out, _ := runCLI(t, dir, "log", "show", "--tail", "5")
	if code != 0 {
		t.Fatalf("log: exit %d", code)
	}
	for _, want := range []string{`smtp.tls_fingerprint "" → ` + fp, "smtp.tls_fingerprint " + fp + ` → ""`} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, out)
		}
	}
}
