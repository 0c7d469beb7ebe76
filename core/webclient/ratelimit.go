package webclient

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
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
	// Pages, files and icons (DefaultStatic): each opening of the
	// authenticator loads about eight (the page, its script, style sheet,
	// storage script, manifest, service worker and icons; the service
	// worker asks the network first, and every answer is no-store). Many
	// phones behind one NAT address open it at once when an office logs
	// on in the morning: 1,200 a minute is 150 openings a minute from one
	// address, while a script in a loop gets 20 files a second on average.
	staticPerAddress = 1200
	staticWindow     = time.Minute
	// Memory bound: beyond this many keys the oldest windows are dropped.
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
	ok, _ := l.take(key, max, per)
	return ok
}

// take is allow that also says, when the event is over the limit, how
// long until the key's window ends.
func (l *limiter) take(key string, max int, per time.Duration) (bool, time.Duration) {
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
		return false, w.start.Add(per).Sub(now)
	}
	w.n++
	l.m[key] = w
	return true, 0
}

func userKey(name string) string { return "user\x00" + strings.ToLower(name) }

// addressKey is the source a limit applies to: the TCP peer's IPv4
// address, or the /64 of an IPv6 one (a host usually holds a whole /64),
// as core/agentxml counts it.
func addressKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limitStatic serves next within the pages-and-files limit of the
// request's source address and answers 429 with Retry-After past it. The
// refusal is only counted in memory.
func (h *Handler) limitStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := h.limits.take("static\x00"+addressKey(r), h.static.Max, h.static.Per)
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
