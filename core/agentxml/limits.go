package agentxml

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"provisio/core"
)

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
// A zero PerSecond means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Limits bound what one source address may ask of the endpoints that
// need no secret, and how many connections it may hold. Every limit is
// per source address (an IPv6 /64 counts as one: core.SourceKey), since
// that is what an attacker cannot choose freely over TCP.
type Limits struct {
	// Provision is provision attempts on /proxy/AgentXML.
	Provision Rate
	// TokenIndex, QRCode, Page and Details are the GET endpoints
	// TokenIndex, getQRCode, the Provision URL page and getServerDetails.
	TokenIndex, QRCode, Page, Details Rate
	// ClientLog is diagnostic log uploads (clientlog, #14), on any
	// AgentXML path.
	ClientLog Rate
	// Ping is the ping action on any AgentXML path, which needs no agent
	// secret.
	Ping Rate
	// NotFound is requests for a path the server does not serve (404, or
	// 405 for a method it does not serve there, the AgentXML and AdminXML
	// paths included), /proxy/AdminXML included, a path the mux would
	// redirect (not clean, or /userportal without its slash), and the
	// HTTPS-only routes asked for over plain HTTP.
	NotFound Rate
	// Refused is charged for each refused request (malformed XML, a wrong
	// agent secret or address, an action /proxy does not offer); once it
	// is spent, the source gets 429 before its request is even read.
	Refused Rate
	// MaxConns and MaxConnsPerAddr cap concurrent connections per
	// listener, in total and per source address. A connection over a cap
	// is accepted and closed at once, so the kernel's queue keeps moving
	// for everyone else. 0 means no cap.
	MaxConns, MaxConnsPerAddr int
}

// DefaultLimits are generous for an office (a phone provisions once and
// syncs its index when the app opens) and tight for a script.
//
// Ping is what agents, load balancers and monitoring send to see that the
// server is up, often every second or two and from several agents behind
// one address: 100 at once then 20 a second is far above any health
// check, so it never refuses one, while a loop from one address is held
// to 20 answers a second. A path the server does not serve is never asked
// for by an agent or a phone, only by a mistyped URL or a scanner: 20 at
// once, then 1 a second.
func DefaultLimits() Limits {
	return Limits{
		Provision:       Rate{PerSecond: 1.0 / 6, Burst: 10}, // 10 a minute
		TokenIndex:      Rate{PerSecond: 1, Burst: 20},
		QRCode:          Rate{PerSecond: 0.5, Burst: 10},
		Page:            Rate{PerSecond: 1, Burst: 20},
		Details:         Rate{PerSecond: 1, Burst: 20},
		ClientLog:       Rate{PerSecond: 1.0 / 60, Burst: 3}, // 3 at once, then 1 a minute
		Ping:            Rate{PerSecond: 20, Burst: 100},
		NotFound:        Rate{PerSecond: 1, Burst: 20},
		Refused:         Rate{PerSecond: 2, Burst: 60},
		MaxConns:        1024,
		MaxConnsPerAddr: 64,
	}
}

// maxTracked bounds the sources one limiter remembers. Past it, idle
// sources are forgotten; if all are busy, new sources share one bucket.
const maxTracked = 10000

// limiter is one token bucket per source address.
type limiter struct {
	rate  rate.Limit
	burst int

	mu       sync.Mutex
	sources  map[netip.Addr]*source
	overflow *rate.Limiter
	swept    time.Time
}

type source struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(r Rate) *limiter {
	lim := rate.Limit(r.PerSecond)
	if r.PerSecond <= 0 {
		lim = rate.Inf
	}
	return &limiter{rate: lim, burst: max(r.Burst, 1), sources: map[netip.Addr]*source{},
		overflow: rate.NewLimiter(lim, max(r.Burst, 1))}
}

// get returns the bucket of key, creating it.
func (l *limiter) get(key netip.Addr, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if src, ok := l.sources[key]; ok {
		src.seen = now
		return src.lim
	}
	if len(l.sources) >= maxTracked && now.Sub(l.swept) >= time.Second {
		// A bucket untouched for long enough to refill is full again, so
		// forgetting it changes nothing. At most one sweep a second, so
		// a crowd of new sources cannot make every request walk the map.
		l.swept = now
		full := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
		if l.rate == rate.Inf {
			full = 0
		}
		for k, src := range l.sources {
			if now.Sub(src.seen) > full {
				delete(l.sources, k)
			}
		}
	}
	if len(l.sources) >= maxTracked {
		return l.overflow
	}
	lim := rate.NewLimiter(l.rate, l.burst)
	l.sources[key] = &source{lim: lim, seen: now}
	return lim
}

// allow takes a token for the source of remoteAddr. When none is left it
// takes nothing and says how long until one is.
func (l *limiter) allow(remoteAddr string) (bool, time.Duration) {
	now := time.Now()
	lim := l.get(core.SourceKey(remoteAddr), now)
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// spent reports whether the source has no token left, without taking
// one, and how long until it has.
func (l *limiter) spent(remoteAddr string) (bool, time.Duration) {
	now := time.Now()
	lim := l.get(core.SourceKey(remoteAddr), now)
	if t := lim.TokensAt(now); t < 1 {
		if l.rate == 0 {
			return true, time.Minute
		}
		return true, time.Duration((1 - t) / float64(l.rate) * float64(time.Second))
	}
	return false, 0
}

// charge takes a token whether or not one is left (a refusal has
// happened already; it only makes the next one wait).
func (l *limiter) charge(remoteAddr string) {
	now := time.Now()
	l.get(core.SourceKey(remoteAddr), now).AllowN(now, 1)
}

// limiters are the server's buckets, one per limited endpoint.
type limiters struct {
	provision, tokenIndex, qrCode, page, details, clientLog, ping, notFound, refused *limiter
}

func newLimiters(l Limits) limiters {
	return limiters{
		provision:  newLimiter(l.Provision),
		tokenIndex: newLimiter(l.TokenIndex),
		qrCode:     newLimiter(l.QRCode),
		page:       newLimiter(l.Page),
		details:    newLimiter(l.Details),
		clientLog:  newLimiter(l.ClientLog),
		ping:       newLimiter(l.Ping),
		notFound:   newLimiter(l.NotFound),
		refused:    newLimiter(l.Refused),
	}
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1), as
// text, or as a page under title unless title is "" (refusal).
// It writes nothing durable: the refusal is only counted in memory.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, title string) {
	s.svc.Refuse(clientIP(r), "rate limited")
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	s.refusal(w, http.StatusTooManyRequests, title, "Too many requests from this address; try again in "+strconv.Itoa(max(secs, 1))+" s.")
}

// limited applies lim to r and answers 429 when it is spent.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, lim *limiter) bool {
	return s.limitedPage(w, r, lim, "")
}

// limitedPage is limited for the pages a person opens on a phone: the 429
// is a page under title (refusal).
func (s *Server) limitedPage(w http.ResponseWriter, r *http.Request, lim *limiter, title string) bool {
	if ok, wait := lim.allow(r.RemoteAddr); !ok {
		s.tooMany(w, r, wait, title)
		return true
	}
	return false
}

// lowDisk answers 503 while the disk is nearly full: unauthenticated work
// waits so that logins keep working.
func (s *Server) lowDisk(w http.ResponseWriter) bool { return s.lowDiskPage(w, "") }

// lowDiskPage is lowDisk for the pages a person opens on a phone: the 503
// is a page under title (refusal).
func (s *Server) lowDiskPage(w http.ResponseWriter, title string) bool {
	if !s.svc.LowDisk() {
		return false
	}
	w.Header().Set("Retry-After", "300")
	s.refusal(w, http.StatusServiceUnavailable, title, "The server is short of disk space and takes no new requests of this kind; logins still work. Try again later.")
	return true
}

// refusal answers msg with status: as text where machines read the
// answer (title ""), and as refusedPage under title on the pages people
// open on a phone (the Provision URL page, the authenticator set-up),
// which lays text/plain out 980 px wide in type too small to read.
func (s *Server) refusal(w http.ResponseWriter, status int, title, msg string) {
	if title == "" {
		writeText(w, status, msg)
		return
	}
	s.refusedPage(w, status, title, msg)
}

// clientIP is the request's TCP peer address without its port. Only the
// peer counts: forwarding headers are whatever the client wants them to be.
func clientIP(r *http.Request) string { return core.SourceIP(r.RemoteAddr) }
