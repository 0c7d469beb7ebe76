package core

import (
	"sort"
	"testing"
)

func TestExtractOTC(t *testing.T) {
	s := [10]byte{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}
	tests := []struct {
		pin, want string
	}{
		{"9132", "8021"}, // the protocol's worked example
		{"0000", "9999"}, // 0 means position 10
		{"1234567890", "0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.pin, func(t *testing.T) {
			if got := ExtractOTC(s, tt.pin); got != tt.want {
				t.Fatalf("ExtractOTC(%q) = %q, want %q", tt.pin, got, tt.want)
			}
		})
	}
	if got := MobileCode(ExtractOTC(s, "9132"), 6); got != "802106" {
		t.Fatalf("MobileCode = %q, want 802106", got)
	}
}

func TestParseMobileOTC(t *testing.T) {
	tests := []struct {
		in    string
		otc   string
		index int
		ok    bool
	}{
		{"4376,12", "4376", 12, true},
		{"437612", "4376", 12, true},
		{" 802106 ", "8021", 6, true},
		{"1234567890,99", "1234567890", 99, true},
		{"437,12", "", 0, false},         // OTC shorter than the shortest PIN
		{"4376,1", "", 0, false},         // index needs two digits
		{"43a612", "", 0, false},         // not digits
		{"", "", 0, false},               // empty
		{"12345678901234", "", 0, false}, // longer than the longest PIN
		{"4376,,12", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			otc, index, ok := ParseMobileOTC(tt.in, 4, 10)
			if ok != tt.ok || otc != tt.otc || index != tt.index {
				t.Fatalf("ParseMobileOTC(%q) = %q, %d, %v; want %q, %d, %v", tt.in, otc, index, ok, tt.otc, tt.index, tt.ok)
			}
		})
	}
}

func FuzzParseMobileOTC(f *testing.F) {
	for _, s := range []string{"4376,12", "437612", "", ",", "1234567890,99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		otc, index, ok := ParseMobileOTC(s, 4, 10)
		if ok && (index < 0 || index > 99 || len(otc) < 4 || len(otc) > 10 || !isDigits(otc)) {
			t.Fatalf("ParseMobileOTC(%q) accepted %q index %d", s, otc, index)
		}
	})
}

func TestNewStringSet_Permutations(t *testing.T) {
	ss := NewStringSet()
	seen := map[string]bool{}
	for i, s := range ss.S {
		b := append([]byte(nil), s[:]...)
		sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
		if string(b) != "0123456789" {
			t.Fatalf("string %d = %q is not a permutation of 0-9", i, s[:])
		}
		seen[string(s[:])] = true
	}
	// 100 draws from 10! permutations repeat with negligible probability;
	// many repeats would mean a broken generator.
	if len(seen) < 95 {
		t.Fatalf("only %d distinct strings out of 100", len(seen))
	}
	if got := len(ss.Joined()); got != 100*11-1 {
		t.Fatalf("Joined length %d", got)
	}
}

func TestPINFromOTC(t *testing.T) {
	ss := NewStringSet()
	for _, pin := range []string{"9132", "0000", "1234567890", "5555"} {
		got, ok := PINFromOTC(ss.S[3], ExtractOTC(ss.S[3], pin))
		if !ok || got != pin {
			t.Fatalf("PINFromOTC round trip of %q = %q, %v", pin, got, ok)
		}
	}
}
