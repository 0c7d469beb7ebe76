package core

import (
	"strconv"
	"strings"
	"testing"
)

func TestNewCode(t *testing.T) {
	tests := []struct {
		name     string
		numeric  bool
		length   int
		alphabet string
	}{
		{"numeric", true, numericCodeLen, "0123456789"},
		{"alphanumeric", false, alnumCodeLen, alnumAlphabet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 200; i++ {
				c := NewCode(tt.numeric)
				if len(c) != tt.length {
					t.Fatalf("code %q has length %d, want %d", c, len(c), tt.length)
				}
				for _, r := range c {
					if !strings.ContainsRune(tt.alphabet, r) {
						t.Fatalf("code %q has %q outside the alphabet", c, r)
					}
				}
				seen[c] = true
			}
			if len(seen) < 199 {
				t.Fatalf("only %d distinct codes in 200", len(seen))
			}
		})
	}
}

func TestProvisionCode_Matches(t *testing.T) {
	pc := ProvisionCode{Hash: HashCode("Alice", "ABCD2345")}
	tests := []struct {
		user, code string
		want       bool
	}{
		{"alice", "ABCD2345", true},
		{"ALICE", "abcd-2345", true}, // case and dashes are forgiven
		{"alice", "ABCD2346", false},
		{"bob", "ABCD2345", false}, // bound to the user
		{"alice", "", false},
	}
	for _, tt := range tests {
		if got := pc.Matches(tt.user, tt.code); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.user, tt.code, got, tt.want)
		}
	}
}

func TestProvisionURL_RoundTrip(t *testing.T) {
	tests := []struct{ host, port, site, user, code string }{
		{"192.168.1.20", "8443", "office", "alice", "ABCD2345"},
		{"fe80::1", "443", "x", "o'brien+x@corp", "0123456789"},
		{"vpn.example.org", "8443", "", "Bob", "K7M"},
	}
	for _, tt := range tests {
		u := ProvisionURL(tt.host, tt.port, tt.site, tt.user, tt.code)
		host, port, site, user, code, err := ParseProvisionURL(u)
		if err != nil || host != tt.host || port != tt.port || site != tt.site || user != tt.user || code != tt.code {
			t.Errorf("round trip of %s = %q %q %q %q %q %v", u, host, port, site, user, code, err)
		}
	}
	for _, bad := range []string{
		"ftp://x/userportal/provision?username=a&code=b",  // not a web link
		"https://x/userportal/provision?username=a",       // no code
		"https:///userportal/provision?username=a&code=b", // no host
		"not a url at all",
	} {
		if _, _, _, _, _, err := ParseProvisionURL(bad); err == nil {
			t.Errorf("%q parsed as a Provision URL", bad)
		}
	}
}

func TestProvisionURLWithBase(t *testing.T) {
	tests := []struct{ base, wantPrefix, wantHost, wantPort string }{
		{"https://vpn.example.org/provision", "https://vpn.example.org/provision?", "vpn.example.org", "443"},
		{"https://vpn.example.org:9443/p?x=1", "https://vpn.example.org:9443/p?x=1&", "vpn.example.org", "9443"},
	}
	for _, tt := range tests {
		u := ProvisionURLWithBase(tt.base, "office", "alice", "ABCD2345")
		if !strings.HasPrefix(u, tt.wantPrefix) {
			t.Fatalf("%s does not start with %s", u, tt.wantPrefix)
		}
		host, port, site, user, code, err := ParseProvisionURL(u)
		if err != nil || host != tt.wantHost || port != tt.wantPort || site != "office" || user != "alice" || code != "ABCD2345" {
			t.Fatalf("parse %s: %q %q %q %q %q %v", u, host, port, site, user, code, err)
		}
	}
}

// FuzzParseProvisionURL feeds arbitrary text to the Provision URL parser:
// phones, QR codes and the getQRCode endpoint hand it outside input. It
// must never panic; what it accepts has a host, a valid port, a username
// and a code, and survives a round trip through ProvisionURL.
func FuzzParseProvisionURL(f *testing.F) {
	// Seeds from TestProvisionURL_RoundTrip and TestProvisionURLWithBase.
	f.Add(ProvisionURL("192.168.1.20", "8443", "office", "alice", "ABCD2345"))
	f.Add(ProvisionURL("fe80::1", "443", "x", "o'brien+x@corp", "0123456789"))
	f.Add(ProvisionURL("vpn.example.org", "8443", "", "Bob", "K7M"))
	f.Add(ProvisionURLWithBase("https://vpn.example.org:9443/p?x=1", "office", "alice", "ABCD2345"))
	f.Add("ftp://x/userportal/provision?username=a&code=b")
	f.Add("https://x/userportal/provision?username=a")
	f.Add("https:///userportal/provision?username=a&code=b")
	f.Add("not a url at all")
	f.Fuzz(func(t *testing.T, s string) {
		host, port, site, user, code, err := ParseProvisionURL(s)
		if err != nil {
			if ErrorMessage(err) == "" {
				t.Fatal("refusal without a message")
			}
			return
		}
		if host == "" || user == "" || code == "" {
			t.Fatalf("%q accepted with host %q, username %q, code %q", s, host, user, code)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("%q accepted with port %q", s, port)
		}
		again := ProvisionURL(host, port, site, user, code)
		h2, p2, s2, u2, c2, err := ParseProvisionURL(again)
		if err != nil || h2 != host || p2 != port || s2 != site || u2 != user || c2 != code {
			t.Fatalf("round trip of %q via %q: %q %q %q %q %q %v", s, again, h2, p2, s2, u2, c2, err)
		}
	})
}
