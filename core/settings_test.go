package core

import "testing"

func TestSettings_Set(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string
	}{
		{"policy.selfreset.code_validity", "9", "Enter a whole number from 10 to 1,000,000."},
		{"policy.selfreset.code_validity", "1000001", "Enter a whole number from 10 to 1,000,000."},
		{"policy.selfreset.code_validity", "ten", "Enter a whole number from 10 to 1,000,000."},
		{"policy.selfreset.code_validity", "10", ""},
		{"policy.selfreset.code_validity", "1000000", ""},
		{"policy.mobile.allow_pin_entry", "Yes", ""},
		{"policy.mobile.allow_pin_entry", "maybe", `Enter Yes or No, not "maybe".`},
		{"policy.mobile.support_email", "help@example.org", ""},
		{"policy.mobile.support_email", "help", `"help" is not an email address like name@example.org.`},
		{"policy.mobile.support_phone", "+44 20 7946 0000", ""},
		{"policy.mobile.support_phone", "call me", `"call me" is not a phone number like +44 20 7946 0000.`},
		{"server.listen", "0.0.0.0:8443", ""},
		{"server.listen", "8443", `"8443" is not a listen address like 0.0.0.0:8443.`},
		{"server.siteid", "head office", "A Site ID uses letters, digits, '-', '_' and '.' only."},
		{"no.such.key", "1", `There is no setting "no.such.key"; 'provisio settings list' shows them all.`},
		{"policy.pin.min_length", "11", "Enter a whole number from 4 to 10."},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			s := DefaultSettings()
			before := s
			err := s.Set(tt.key, tt.value)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Set: %v", err)
				}
				if got, _ := s.Get(tt.key); got == "" && tt.value != "" {
					t.Fatalf("Get after Set is empty")
				}
				return
			}
			if err == nil || ErrorMessage(err) != tt.wantErr {
				t.Fatalf("Set error = %v, want %q", err, tt.wantErr)
			}
			if s != before {
				t.Fatalf("a refused Set changed the settings")
			}
		})
	}
}

func TestDefaultSettings(t *testing.T) {
	s := DefaultSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	want := map[string]string{
		"policy.mobile.allow_pin_entry":         "No",
		"policy.mobile.allow_choose_extraction": "No",
		"policy.mobile.allow_browse_strings":    "No",
		"policy.mobile.provision_numeric":       "No",
		"policy.mobile.sync_index":              "No",
		"policy.mobile.support_email":           "",
		"policy.mobile.support_phone":           "",
		"policy.mobile.vpn_url_scheme":          "",
		"policy.selfreset.allow_self_provision": "No",
		"policy.selfreset.log_device_info":      "No",
		"policy.selfreset.code_validity":        "600",
		"policy.lockout.max_failures":           "5",
		"server.listen":                         "0.0.0.0:8443",
	}
	for k, v := range want {
		if got, err := s.Get(k); err != nil || got != v {
			t.Errorf("%s = %q (%v), want %q", k, got, err, v)
		}
	}
}

func TestAgent_Allows(t *testing.T) {
	tests := []struct {
		host, addr, secret string
		want               bool
	}{
		{"127.0.0.1", "127.0.0.1", "s3cret-123", true},
		{"127.0.0.0/8", "127.0.0.9", "s3cret-123", true},
		{"127.0.0.1", "127.0.0.2", "s3cret-123", false},
		{"127.0.0.1", "127.0.0.1", "wrong", false},
		{"::1", "::1", "s3cret-123", true},
		{"127.0.0.1", "::ffff:127.0.0.1", "s3cret-123", true},
	}
	for _, tt := range tests {
		a := Agent{Name: "vpn", Host: tt.host, Secret: "s3cret-123"}
		if got := a.Allows(mustAddr(t, tt.addr), tt.secret); got != tt.want {
			t.Errorf("%s allows %s/%s = %v, want %v", tt.host, tt.addr, tt.secret, got, tt.want)
		}
	}
}
