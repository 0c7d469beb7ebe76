package webclient

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"provisio/core"
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
	// Pages, files and icons (DefaultStatic): each opening of the
	// authenticator loads about eight (the page, its script, style sheet,
	// storage script, manifest, service worker and icons; the service
	// worker asks the network first, and every answer is no-store). Many
	// phones behind one NAT address open it at once when an office logs
	// on in the morning: 1,200 a minute is 150 openings a minute from one
	// address, while a script in a loop gets 20 files a second on average.
	staticPerAddress = 1200
	staticWindow     = time.Minute
	// Memory bound: at most this many keys (addresses and names) are
	// tracked; windows that have passed are forgotten to make room.
	maxLimiterKeys = 10_000
)

// Limit is max events per source address in each window of Per.
type Limit struct {
	Max int
	Per time.Duration
}

// DefaultStatic is the limit of the pages, static files and icons one
// source address may load (staticPerAddress).
func DefaultStatic() Limit { return Limit{Max: staticPerAddress, Per: staticWindow} }

// limiter counts events per key in fixed windows.
type limiter struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]window
	swept time.Time // the last sweep of passed windows
}

type window struct {
	start time.Time
	per   time.Duration // the window's length, for the sweep
	n     int
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, m: map[string]window{}}
}

// allow counts one event for key and reports whether it is within max per
// per.
//
// With maxLimiterKeys tracked, a new key makes room by forgetting the
// windows that have passed (at most one sweep a second, so a crowd of new
// keys cannot make every request walk the map); forgetting those changes
// nothing. If every window is still open, the new key is refused until
// one passes: forgetting open windows would give them their events back,
// so a flood of made-up names would reopen every real name's window.
func (l *limiter) allow(key string, max int, per time.Duration) bool {
	ok, _ := l.take(key, max, per)
	return ok
}

// take is allow that also says, when the event is over the limit, how
// long until the key's window ends.
func (l *limiter) take(key string, max int, per time.Duration) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w, ok := l.m[key]
	if !ok && len(l.m) >= maxLimiterKeys {
		if now.Sub(l.swept) >= time.Second {
			l.swept = now
			for k, w := range l.m {
				if now.Sub(w.start) >= w.per {
					delete(l.m, k)
				}
			}
		}
		if len(l.m) >= maxLimiterKeys {
			return false, time.Second
		}
	}
	if !ok || now.Sub(w.start) >= per {
		w = window{start: now, per: per}
	}
	if w.n >= max {
		l.m[key] = w
		return false, w.start.Add(per).Sub(now)
	}
	w.n++
	l.m[key] = w
	return true, 0
}

// userKey is the key of the per-name limit of code requests. The name is
// a stranger's text of up to maxForm bytes, read before any check, so it
// is cut to core.MaxUsernameLen: no account has a longer name, and
// maxLimiterKeys names of 4 KiB each would hold some 40 MB. A cut name
// shares its count with the names that start the same, which is nothing
// new: anyone can spend a name's requests by typing it. The concatenation
// copies, so the key does not keep the long name's bytes alive.
func userKey(name string) string {
	k := strings.ToLower(name)
	if len(k) > core.MaxUsernameLen {
		k = k[:core.MaxUsernameLen]
	}
	return "user\x00" + k
}

// addrKey is the key of a per-address limit of kind: the source counts
// by its IPv6 /64, as everywhere (core.SourceName), so a host rotating
// through its addresses gets one allowance, not one per address.
func addrKey(kind, ip string) string { return kind + "\x00" + core.SourceName(ip) }

// limitStatic serves next within the pages-and-files limit of the
// request's source address and answers 429 with Retry-After past it. The
// refusal is only counted in memory.
func (h *Handler) limitStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := h.limits.take(addrKey("static", sourceIP(r)), h.static.Max, h.static.Per)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		h.svc.Refuse(sourceIP(r), "web client pages and files over the rate limit")
		secs := strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1))
		w.Header().Set("Retry-After", secs)
		http.Error(w, "Too many requests from this address; try again in "+secs+" s.", http.StatusTooManyRequests)
	})
}
