package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The seeds (/work/shared/seeds) name the fields, defaults, ranges and
// wordings the product follows; docs/decisions.md "Seeds conformance
// audit" lists what was checked. These tests pin the ones core holds.

// TestSettings_SeedDefaults: Policy → Mobile Client (Mobile Client
// Policies, 1.0 and 2.0) and Policy → Self-Reset (Mobile Provision Code)
// ship with the seeds' defaults.
func TestSettings_SeedDefaults(t *testing.T) {
	set := core.DefaultSettings()
	tests := []struct{ key, want string }{
		{"policy.mobile.allow_pin_entry", "No"},
		{"policy.mobile.allow_choose_extraction", "No"},
		{"policy.mobile.allow_browse_strings", "No"},
		{"policy.mobile.provision_numeric", "No"},
		{"policy.mobile.sync_index", "No"},
		{"policy.mobile.support_email", ""},
		{"policy.mobile.support_phone", ""},
		{"policy.mobile.vpn_url_scheme", ""},
		{"policy.selfreset.allow_self_provision", "No"},
		{"policy.selfreset.log_device_info", "No"},
		{"policy.selfreset.code_validity", "600"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := set.Get(tt.key)
			if err != nil || got != tt.want {
				t.Fatalf("default %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	// A record saved before a field existed gets the seed's default too.
	var old core.Settings
	if err := old.UnmarshalJSON([]byte(`{"self_reset":{"allow_self_provision":true}}`)); err != nil {
		t.Fatal(err)
	}
	if old.SelfReset.CodeValidity != 600 {
		t.Fatalf("code validity of an old record: %d, want 600", old.SelfReset.CodeValidity)
	}
}

// TestSettingHelp_SeedLabels: the settings are labelled with the seeds'
// field names (the console's check boxes and labels, `settings list`).
func TestSettingHelp_SeedLabels(t *testing.T) {
	tests := []struct{ key, want string }{
		{"policy.mobile.allow_pin_entry", "Allow user to enter PIN"},
		{"policy.mobile.allow_choose_extraction", "Allow user to choose how to extract OTC"},
		{"policy.mobile.allow_browse_strings", "Allow user to browse strings"},
		{"policy.mobile.provision_numeric", "Provision is numeric"},
		{"policy.mobile.sync_index", "Sync Index"},
		{"policy.mobile.support_email", "Support Email Address"},
		{"policy.mobile.support_phone", "Support Phone Number"},
		{"policy.mobile.vpn_url_scheme", "VPN URL Scheme"},
		{"policy.selfreset.allow_self_provision", "Allow user self-provision of mobile client"},
		{"policy.selfreset.log_device_info", "Log device information when provisioning"},
		{"policy.selfreset.code_validity", "Provision Code Validity period (seconds)"},
		{"policy.selfreset.qr_code_url", "QR Code URL"},
	}
	for _, tt := range tests {
		if got := core.SettingHelp(tt.key); got != tt.want {
			t.Errorf("%s: label %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestSettings_SeedRangesAndExamples: "Provision Code Validity period
// (seconds): Default 600, Options 10-1000000" is enforced at both ends,
// and the values of the seeds' example screens are accepted as typed.
func TestSettings_SeedRangesAndExamples(t *testing.T) {
	const rangeMsg = "Enter a whole number from 10 to 1,000,000."
	tests := []struct {
		key, value string
		wantErr    string // "" accepted
	}{
		{"policy.selfreset.code_validity", "10", ""},
		{"policy.selfreset.code_validity", "1000000", ""},
		{"policy.selfreset.code_validity", "9", rangeMsg},
		{"policy.selfreset.code_validity", "1000001", rangeMsg},
		{"policy.selfreset.code_validity", "0", rangeMsg},
		{"policy.mobile.support_email", "support@example.org", ""},
		{"policy.mobile.support_phone", "020 7946 0000", ""},
		{"policy.mobile.vpn_url_scheme", "citrixreceiver://auth?co", ""},
		{"policy.selfreset.qr_code_url", "https://Public_IP:8443/userportal/getQRCode?text=", ""},
		{"policy.mobile.allow_pin_entry", "Yes", ""},
		{"policy.mobile.provision_numeric", "YES", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			set := core.DefaultSettings()
			err := set.Set(tt.key, tt.value)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && core.ErrorMessage(err) != tt.wantErr:
				t.Fatalf("error %q, want %q", core.ErrorMessage(err), tt.wantErr)
			}
		})
	}
}

// TestProfileKeyLabel_SeedLabels: the profile form and `profile show`
// name the options as the seed's Provisioning profile page does
// ("Customer Service Email", "Customer Service Phone", "Logging"); the
// Mobile Client options keep the Mobile Client Policies names.
func TestProfileKeyLabel_SeedLabels(t *testing.T) {
	tests := []struct{ key, want string }{
		{"support_email", "Customer Service Email"},
		{"support_phone", "Customer Service Phone"},
		{"logging", "Logging"},
		{"pin_cache_timeout", "PIN cache timeout (seconds)"},
		{"pin_max_retries", "PIN max retries"},
		{"pin_lock_time", "PIN lock time (seconds)"},
		{"mutual_auth", "Mutual authentication"},
		{"allow_pin_entry", "Allow user to enter PIN"},
		{"provision_numeric", "Provision is numeric"},
		{"vpn_url_scheme", "VPN URL Scheme"},
	}
	for _, tt := range tests {
		if got := core.ProfileKeyLabel(tt.key); got != tt.want {
			t.Errorf("%s: label %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestService_DefaultProfileSeedValues: a new install's Default profile
// carries the Mobile Client defaults (all No, texts empty).
func TestService_DefaultProfileSeedValues(t *testing.T) {
	svc := storetest.MustService(t)
	p, err := svc.Profile(core.DefaultProfileName)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"allow_pin_entry", "allow_choose_extraction", "allow_browse_strings", "provision_numeric", "sync_index"} {
		if v, _ := p.Get(k); v != "No" {
			t.Errorf("%s = %q, want No", k, v)
		}
	}
	for _, k := range []string{"support_email", "support_phone", "vpn_url_scheme"} {
		if v, _ := p.Get(k); v != "" {
			t.Errorf("%s = %q, want empty", k, v)
		}
	}
}

// TestService_LoginUnknownUserSeedWording: an agent's login for a user
// who is not in the user database is logged with the seed's sentence
// (protocol.md section 7), inside the usual "Login failed" line; the
// answer stays the bare FAIL of every credential problem.
func TestService_LoginUnknownUserSeedWording(t *testing.T) {
	svc := storetest.MustService(t)
	err := svc.Login(agentAny, "qwerty", "123412")
	if core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("unknown user: %v, want the bare wrong-code failure", err)
	}
	want := `Login failed for user: qwerty, error: No suitable authentication method for the user "qwerty" was found. ` +
		"The user may be missing from the user repository or a synchronisation has not yet occurred."
	if !logContains(t, svc, want) {
		t.Fatalf("log lacks %q", want)
	}
}
