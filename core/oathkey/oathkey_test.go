package oathkey_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
)

func TestKeys_KeyURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name  string
		opt   core.OATHOptions
		want  map[string]string // query parameters
		label string
	}{
		{"TOTP defaults", core.OATHOptions{Kind: core.OATHTOTP, Algorithm: core.OATHSHA1, Digits: 6, Period: 30},
			map[string]string{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": "Example Office", "algorithm": "SHA1", "digits": "6", "period": "30"},
			"/Example Office:alice"},
		{"TOTP SHA256 8 digits", core.OATHOptions{Kind: core.OATHTOTP, Algorithm: core.OATHSHA256, Digits: 8, Period: 60},
			map[string]string{"algorithm": "SHA256", "digits": "8", "period": "60"}, "/Example Office:alice"},
		{"HOTP carries its counter", core.OATHOptions{Kind: core.OATHHOTP, Algorithm: core.OATHSHA1, Digits: 6, Counter: 7},
			map[string]string{"counter": "7", "issuer": "Example Office", "digits": "6"}, "/Example Office:alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri, err := oathkey.Keys{}.KeyURI("Example Office", "alice", tt.opt, secret)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(uri)
			if err != nil || u.Scheme != "otpauth" || u.Host != tt.opt.Kind || u.Path != tt.label {
				t.Fatalf("URI %q: %+v %v", uri, u, err)
			}
			if strings.Contains(uri, "+") {
				t.Errorf("URI %q encodes a space as +, which apps read literally", uri)
			}
			for k, v := range tt.want {
				if got := u.Query().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			p, err := oathkey.Parse(uri)
			if err != nil || p.Kind != tt.opt.Kind || p.Digits != tt.opt.Digits || p.Account != "alice" || p.Issuer != "Example Office" {
				t.Errorf("Parse = %+v, %v", p, err)
			}
		})
	}
}

// The adapter's codes agree with core's RFC arithmetic.
func TestParsed_CodesMatchCore(t *testing.T) {
	secret := []byte("12345678901234567890123456789012")
	uri, err := oathkey.Keys{}.KeyURI("x", "bob", core.OATHOptions{Kind: core.OATHTOTP, Algorithm: core.OATHSHA256, Digits: 8, Period: 30}, secret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := oathkey.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1111111109, 0)
	got, err := p.TOTP(at)
	if err != nil || got != "68084774" || got != core.TOTPCode(secret, at, core.OATHSHA256, 8, 30) {
		t.Errorf("TOTP = %q, %v", got, err)
	}
}

func TestParse_Rejects(t *testing.T) {
	for _, s := range []string{"https://example.org/?secret=ABC", "otpauth://ocra/x:y?secret=GEZD", "otpauth://totp/x:y", "::"} {
		if _, err := oathkey.Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
