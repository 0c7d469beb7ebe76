package webclient

import (
	"strings"
	"sync"
	"time"
)

// Rate limits of the endpoints anyone on the LAN can call without a
// secret. They are counted in memory only: a refused request must not
// cost a write.
const (
	// A person asks for a code once, maybe twice after a typo; a script
	// trying usernames hits the per-address limit.
	requestsPerAddress = 10
	requestsPerUser    = 3
	requestWindow      = 15 * time.Minute
	// The authenticator calls the API a few times per use.
	apiPerAddress = 60
	apiWindow     = time.Minute
	// "Send diagnostic log" is a person's tap (#14); the service also
	// limits each user's uploads an hour.
	logsPerAddress = 5
	logWindow      = 15 * time.Minute
	// Setting up a phone is a tap on a button.
	setupsPerAddress = 10
	setupWindow      = 15 * time.Minute
	// Memory bound: beyond this many keys the oldest windows are dropped.
	maxLimiterKeys = 10_000
)

// limiter counts events per key in fixed windows.
type limiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, m: map[string]window{}}
}

// allow counts one event for key and reports whether it is within max per
// per.
func (l *limiter) allow(key string, max int, per time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxLimiterKeys {
		for k, w := range l.m {
			if now.Sub(w.start) >= requestWindow {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxLimiterKeys {
			// Still full of fresh keys: someone is cycling names. Starting
			// over lets them through once more, which the per-address
			// limit still bounds, rather than growing without end.
			clear(l.m)
		}
	}
	w := l.m[key]
	if w.start.IsZero() || now.Sub(w.start) >= per {
		w = window{start: now}
	}
	if w.n >= max {
		l.m[key] = w
		return false
	}
	w.n++
	l.m[key] = w
	return true
}

func userKey(name string) string { return "user\x00" + strings.ToLower(name) }
