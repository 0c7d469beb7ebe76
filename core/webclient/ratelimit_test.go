package webclient

import (
	"net/http"
	"testing"
	"time"
)

// An IPv6 /64 counts as one source address, as in core/agentxml.
func TestAddressKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"10.0.0.7:51234", "10.0.0.7"},
		{"[::ffff:10.0.0.7]:443", "10.0.0.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
	}
	for _, tt := range tests {
		if got := addressKey(&http.Request{RemoteAddr: tt.remote}); got != tt.want {
			t.Errorf("addressKey(%q) = %s, want %s", tt.remote, got, tt.want)
		}
	}
}

// take says how long until the window ends once the limit is spent.
func TestLimiterTake(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })
	for i := 0; i < 2; i++ {
		if ok, _ := l.take("k", 2, time.Minute); !ok {
			t.Fatalf("event %d within the limit refused", i+1)
		}
	}
	now = now.Add(20 * time.Second)
	if ok, wait := l.take("k", 2, time.Minute); ok || wait != 40*time.Second {
		t.Fatalf("past the limit: %v, wait %v (want 40s)", ok, wait)
	}
	now = now.Add(40 * time.Second)
	if ok, _ := l.take("k", 2, time.Minute); !ok {
		t.Fatal("a new window is still limited")
	}
}
