package agentxml_test

import (
	"testing"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// Provisioning profiles (#14) over real HTTPS with the reference client:
// a user in a group with a profile gets that profile's values in
// Policies, a user's own profile wins over the group's, and a changed
// profile reaches the phone at its next download.
func TestServer_ProfilePolicies(t *testing.T) {
	e := newEnv(t)
	for _, p := range []struct{ name, email string }{{"Sales", "sales@example.org"}, {"VIP", "vip@example.org"}} {
		if err := e.svc.AddProfile(core.Profile{Name: p.name, ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: p.email})}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range [][3]string{
		{"Sales", "pin_mode", "mandatory"}, {"Sales", "pin_cache_timeout", "600"}, {"Sales", "read_only_settings", "yes"},
		{"VIP", "pin_max_retries", "9"}, {"VIP", "logging", "yes"},
	} {
		if err := e.svc.SetProfileValue(kv[0], kv[1], kv[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.AssignProfileToGroup("Sales", "sales"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []core.User{
		{Name: "alice", Group: "sales", PIN: "1234", MobileAllowed: true, Email: "alice@example.org"},
		{Name: "bob", Group: "sales", PIN: "1234", MobileAllowed: true, Email: "bob@example.org", Profile: "VIP"},
	} {
		if _, err := e.svc.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		user string
		want map[string]string
	}{
		{"alice", map[string]string{"supportEmail": "sales@example.org", "pinMode": "MANDATORY", "pinCacheTimeout": "600",
			"readOnlySettings": "ON", "pinMaxRetries": "5", "logging": "OFF"}},
		{"bob", map[string]string{"supportEmail": "vip@example.org", "pinMode": "OPTIONAL", "pinCacheTimeout": "300",
			"readOnlySettings": "OFF", "pinMaxRetries": "9", "logging": "ON"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			m := e.phone(t, tt.user)
			if err := m.Provision("Android 15"); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				got := map[string]string{}
				for _, p := range m.Policies() {
					got[p.ID] = p.Value
				}
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("%s: policy %s = %q, want %q", when, k, got[k], v)
					}
				}
			}
			check("provision")
			if err := m.DownloadStrings(); err != nil {
				t.Fatal(err)
			}
			check("download")
		})
	}

	// A change to the group's profile reaches alice's phone at her next
	// download; it affects one user (bob has his own).
	if n, err := e.svc.ProfileImpact("Sales"); err != nil || n != 1 {
		t.Fatalf("Sales affects %d users, %v", n, err)
	}
	m := e.reprovision(t, "alice")
	if err := e.svc.SetProfileValue("Sales", "support_phone", "+44 20 7946 0000"); err != nil {
		t.Fatal(err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range m.Policies() {
		found = found || (p.ID == "supportPhone" && p.Value == "+44 20 7946 0000")
	}
	if !found {
		t.Errorf("changed profile not delivered: %v", m.Policies())
	}
}

// With certificate pinning on, Policies carry the served certificate's
// SHA-256 fingerprint; with it off, no pin.
func TestServer_ProfileCertPin(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	pin := func(m *agentxmltest.MobileClient) (string, bool) {
		for _, p := range m.Policies() {
			if p.ID == "certPin" {
				return p.Value, true
			}
		}
		return "", false
	}
	m := e.reprovision(t, "alice")
	if v, ok := pin(m); ok {
		t.Fatalf("certPin %q sent with pinning off", v)
	}
	if err := e.svc.SetProfileValue("Default", "cert_pinning", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	if v, _ := pin(m); v != e.fp || len(v) != 95 {
		t.Fatalf("certPin = %q, want the server's fingerprint %q", v, e.fp)
	}
}
