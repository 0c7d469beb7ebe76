package webclient

import (
	"testing"
	"time"
)

func TestDeviceOS(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36", "web, Chrome 131 on Android 14"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "web, Safari 17 on iOS 17"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "web, Chrome 131 on iOS 18"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "web, Firefox 133 on Android 14"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "web, Samsung Internet 26 on Android 14"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "web, Edge 131 on Windows"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "web, Chrome 156 on Linux"},
		{"", "web, unknown browser"},
		{"curl/8.5.0", "web, unknown browser"},
	}
	for _, tt := range tests {
		if got := DeviceOS(tt.ua); got != tt.want {
			t.Errorf("DeviceOS(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestLimiter_Allow(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })
	for i := range 3 {
		if !l.allow("k", 3, time.Minute) {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if l.allow("k", 3, time.Minute) {
		t.Fatal("fourth event in the window allowed")
	}
	if !l.allow("other", 3, time.Minute) {
		t.Fatal("another key shares the count")
	}
	now = now.Add(time.Minute)
	if !l.allow("k", 3, time.Minute) {
		t.Fatal("a new window still refused")
	}
}
