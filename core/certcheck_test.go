package core_test

import (
	"errors"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_CertificateSettingsAreCheckedWhenSaved: every save that
// changes server.tls_cert or server.tls_key (one key, several at once, a
// whole record) refuses a relative path and, once both files are named,
// files the injected check refuses, with its sentence under the key that
// changed; the check sees the final values, the address phones use among
// them. One file may be set while the other is empty, and files saved
// before never block an unrelated change.
func TestService_CertificateSettingsAreCheckedWhenSaved(t *testing.T) {
	type call struct{ cert, key, host string }
	var calls []call
	bad := map[string]bool{}
	svc := storetest.MustService(t, core.WithCertFilesCheck(func(cert, key, host string) error {
		calls = append(calls, call{cert, key, host})
		if bad[cert] || bad[key] {
			return errors.New("The key in " + key + " does not match the certificate in " + cert + ".")
		}
		return nil
	}))
	fieldOf := func(err error) string {
		var e *core.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not a *core.Error", err)
		}
		return e.Field
	}

	// Relative paths: refused with a sentence asking for a full path,
	// with no file check.
	for _, key := range []string{"server.tls_cert", "server.tls_key"} {
		err := svc.SetSetting(key, "office.pem")
		if err == nil || fieldOf(err) != key || !strings.Contains(err.Error(), "full path") {
			t.Errorf("%s relative: %v", key, err)
		}
	}

	// One file while the other is empty: saved, nothing to check yet.
	if err := svc.SetSetting("server.tls_cert", "/etc/provisio/a.crt"); err != nil {
		t.Fatalf("certificate before key: %v", err)
	}
	if len(calls) != 0 {
		t.Fatalf("checked with one file: %v", calls)
	}
	// Then the key that does not match: refused under server.tls_key.
	bad["/etc/provisio/wrong.key"] = true
	err := svc.SetSetting("server.tls_key", "/etc/provisio/wrong.key")
	if err == nil || fieldOf(err) != "server.tls_key" || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key: %v", err)
	}
	if strings.Contains(err.Error(), "To switch") {
		t.Errorf("the hint for switching pairs where no pair was set: %v", err)
	}
	if got := svc.Settings().TLSKey; got != "" {
		t.Fatalf("the refused key was saved: %q", got)
	}

	// Both keys and the address at once: one check, on the final values.
	calls = nil
	if err := svc.ChangeSettings(map[string]string{"server.tls_cert": "/etc/provisio/b.crt", "server.tls_key": "/etc/provisio/b.key",
		"server.advertise": "auth.office.example.org"}, "Certificate files"); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0] != (call{"/etc/provisio/b.crt", "/etc/provisio/b.key", "auth.office.example.org"}) {
		t.Fatalf("checks %v, want one of the final values", calls)
	}

	// Changing one file of a pair in use: the sentence says how to switch.
	bad["/etc/provisio/c.crt"] = true
	err = svc.SetSetting("server.tls_cert", "/etc/provisio/c.crt")
	if err == nil || fieldOf(err) != "server.tls_cert" || !strings.Contains(err.Error(), "clear server.tls_key first") {
		t.Fatalf("one file of a pair: %v", err)
	}

	// The same through a whole record (the admin API's PUT /v1/config).
	set := svc.Settings()
	set.TLSKey = "/etc/provisio/wrong.key"
	if err := svc.SetSettings(set, "Settings"); err == nil || fieldOf(err) != "server.tls_key" {
		t.Fatalf("whole record: %v", err)
	}

	// Files saved before are not checked again: the pair went bad on
	// disk, the server name still changes.
	bad["/etc/provisio/b.crt"] = true
	calls = nil
	if err := svc.SetSetting("server.name", "Office"); err != nil || len(calls) != 0 {
		t.Fatalf("unrelated change: %v, checks %v", err, calls)
	}
	// Clearing both goes back to the generated certificate.
	if err := svc.ChangeSettings(map[string]string{"server.tls_cert": "", "server.tls_key": ""}, "Certificate files"); err != nil {
		t.Fatal(err)
	}
}
