package core_test

import (
	"testing"

	"provisio/core"
)

// One rule for every per-source limit and count: an IPv4 address, or an
// IPv6 /64 (a host usually holds a whole /64).
func TestSourceKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"10.0.0.7:51234", "10.0.0.7"},
		{"[::ffff:10.0.0.7]:443", "10.0.0.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::"},
		{"[fe80::1%eth0]:443", "fe80::"},
		{"garbage", "invalid IP"},
		{"10.0.0.7", "invalid IP"}, // a peer address has a port
	}
	for _, tt := range tests {
		if got := core.SourceKey(tt.remote).String(); got != tt.want {
			t.Errorf("SourceKey(%q) = %s, want %s", tt.remote, got, tt.want)
		}
	}
}

func TestSourceName(t *testing.T) {
	tests := []struct{ source, want string }{
		{"10.0.0.7", "10.0.0.7"},
		{"::ffff:10.0.0.7", "10.0.0.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"},
		{"2001:db8::", "2001:db8::/64"}, // a SourceKey as a connection cap reports it
		{"admin socket uid 1000", "admin socket uid 1000"},
	}
	for _, tt := range tests {
		if got := core.SourceName(tt.source); got != tt.want {
			t.Errorf("SourceName(%q) = %q, want %q", tt.source, got, tt.want)
		}
	}
}
