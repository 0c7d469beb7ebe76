package webclient

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"provisio/core"
)

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

// A flood of made-up names fills the limiter; it then forgets only
// windows that have passed, so a real name's spent window stays spent,
// and a new name is refused until a window passes.
func TestLimiter_FullKeepsOpenWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	l := newLimiter(func() time.Time { return now })
	alice, bob := userKey("alice"), userKey("bob")
	for i := range requestsPerUser {
		if !l.allow(alice, requestsPerUser, requestWindow) {
			t.Fatalf("alice's request %d refused", i+1)
		}
	}
	// Half the flood has windows of a code request, half of an API call.
	for i := 1; len(l.m) < maxLimiterKeys; i++ {
		per := requestWindow
		if i%2 == 0 {
			per = apiWindow
		}
		if !l.allow(userKey(fmt.Sprint("fake", i)), requestsPerUser, per) {
			t.Fatalf("made-up name %d refused with room left", i)
		}
	}
	if l.allow(alice, requestsPerUser, requestWindow) {
		t.Fatal("the flood reopened alice's spent window")
	}
	if l.allow(bob, requestsPerUser, requestWindow) {
		t.Fatal("a new name got a window while every window is open")
	}
	if len(l.m) > maxLimiterKeys {
		t.Fatalf("%d keys tracked, at most %d", len(l.m), maxLimiterKeys)
	}
	// A minute on, the API windows have passed and make room; alice's
	// window of 15 minutes has not.
	now = t0.Add(apiWindow)
	if !l.allow(bob, requestsPerUser, requestWindow) {
		t.Fatal("passed windows made no room")
	}
	if l.allow(alice, requestsPerUser, requestWindow) {
		t.Fatal("alice's spent window reopened when passed windows were forgotten")
	}
	if n := len(l.m); n > maxLimiterKeys/2+2 {
		t.Fatalf("%d keys after the sweep, want about half of %d", n, maxLimiterKeys)
	}
	now = t0.Add(requestWindow)
	if !l.allow(alice, requestsPerUser, requestWindow) {
		t.Fatal("alice's new window refused")
	}
}

// With the map full, passed windows are swept at most once a second, so a
// crowd of new keys cannot make every request walk the map.
func TestLimiter_SweepsAtMostOnceASecond(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	l := newLimiter(func() time.Time { return now })
	for i := 0; len(l.m) < maxLimiterKeys; i++ {
		l.allow(fmt.Sprint("k", i), 1, time.Minute)
	}
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{59*time.Second + 500*time.Millisecond, false}, // sweeps; every window is open
		{time.Minute, false},                           // all passed, but swept half a second ago
		{time.Minute + 500*time.Millisecond, true},     // sweeps again
	}
	for i, s := range steps {
		now = t0.Add(s.at)
		if got := l.allow(fmt.Sprint("new", i), 1, time.Minute); got != s.want {
			t.Fatalf("new key at %v: allowed %v, want %v", s.at, got, s.want)
		}
	}
	if len(l.m) != 1 {
		t.Fatalf("%d keys after the sweep, want 1", len(l.m))
	}
}

// The per-address limits count an IPv6 /64 as one address, as every limit
// does, so a host rotating through its addresses gets one allowance.
func TestAddrKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"10.0.0.7", "10.0.0.8", false},
		{"10.0.0.7", "::ffff:10.0.0.7", true},
	}
	for _, tt := range tests {
		if got := addrKey("req", tt.a) == addrKey("req", tt.b); got != tt.same {
			t.Errorf("%s and %s: same key %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
	if addrKey("req", "10.0.0.7") == addrKey("api", "10.0.0.7") {
		t.Error("two kinds of limit share a key")
	}
}

// The per-name key folds case as usernames do and is never longer than
// the longest username allows, whatever a stranger types.
func TestUserKey(t *testing.T) {
	max := len("user\x00") + core.MaxUsernameLen
	long := strings.Repeat("a", core.MaxUsernameLen)
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"case folds", "Alice", "alice", true},
		{"different names", "alice", "bob", false},
		{"longest username kept whole", long, long[:core.MaxUsernameLen-1] + "b", false},
		{"one byte over is cut", long + "x", long + "y", true},
		{"4 KiB is cut", long + strings.Repeat("x", 4000), long, true},
		// A valid name whose lower case is longer in bytes (U+023A is 2
		// bytes, its lower case 3) is cut too.
		{"lower case grows", strings.Repeat("\u023a", 32), strings.Repeat("\u2c65", 32), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := userKey(tt.a), userKey(tt.b)
			if got := ka == kb; got != tt.same {
				t.Errorf("same key %v, want %v", got, tt.same)
			}
			if len(ka) > max || len(kb) > max {
				t.Errorf("keys of %d and %d bytes, want at most %d", len(ka), len(kb), max)
			}
		})
	}
}
