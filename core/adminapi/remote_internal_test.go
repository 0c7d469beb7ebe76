package adminapi

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestPairLimiter_CountsAnIPv6SlashSixtyFourAsOne: pairing attempts are
// limited per source as every other limit counts one (core.SourceName):
// an IPv4 address, or an IPv6 /64, which a host holds whole and can
// rotate through; rotating must not give it a new allowance.
func TestPairLimiter_CountsAnIPv6SlashSixtyFourAsOne(t *testing.T) {
	l := newPairLimiter(rate.Every(time.Hour), 2)
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if !l.allow(ip) {
			t.Fatalf("attempt %d within the burst refused", i+1)
		}
	}
	if l.allow("2001:db8:1:2:ffff::3") {
		t.Error("another address of the same /64 got a new allowance")
	}
	if !l.allow("2001:db8:1:3::1") {
		t.Error("another /64 was limited")
	}
	if !l.allow("192.0.2.1") || !l.allow("192.0.2.1") || l.allow("192.0.2.1") {
		t.Error("an IPv4 address is not limited on its own")
	}
}
