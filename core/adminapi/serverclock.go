package adminapi

import (
	"net/http"
	"sync/atomic"
	"time"
)

// The client's estimate of the server's clock. Expiries (provision codes,
// mails, pairing codes, certificates) are the server's, so a console on
// another machine, or on this one with its clock set apart, reads them
// against the server's clock: every answer carries it (HeaderTime), and
// the client keeps how far it is from its own (docs/decisions.md,
// "Countdowns on another machine's clock").

// clockTolerance is how far a reading may differ from the offset kept
// before it replaces it (serverClock).
const clockTolerance = 5 * time.Second

// serverClock is how far the server's clock is ahead of this machine's,
// kept from the server's answers, which arrive on many goroutines.
//
// An answer's reading is off by at most half its round trip: the server
// stamps it once, between receiving the request and answering, and the
// client takes the stamp for the middle of the round trip. The first
// reading is taken as it is. A later one replaces the offset only when it
// differs from it by more than clockTolerance and more than its own round
// trip, which shows the offset further off than the new reading can be:
// the server's clock was set (or this machine's), or the first reading
// came over a slow answer.
//
// Otherwise the offset stays, so the console's Now runs steadily with
// this machine's clock instead of moving a little, forward or back, with
// every answer: a countdown never goes up, and readings of Now a moment
// apart agree about the order of things. A few seconds are below the
// notice of what Now decides (codes and mails expire after minutes,
// certificates after days, and times are shown to the minute); the
// Reprovision countdowns, the one thing shown to the second, count on
// the console's own clock from when the code arrived (ui's countdownNow),
// so a correction of the offset does not move them. A slow answer (a backup, an import, a slow link) moves
// the offset only by more than its own possible error, so it cannot
// spoil a good one. Chosen over keeping the reading with the shortest
// round trip of a window, or the latest quick one: either is more
// precise than needed and steps Now back a little now and then.
type serverClock struct {
	p atomic.Pointer[time.Duration]
}

// observe takes the reading of an answer h sent at sent and received at
// got (both this machine's clock, with their monotonic readings). An
// answer without HeaderTime, from a server older than it, changes
// nothing.
func (c *serverClock) observe(h http.Header, sent, got time.Time) {
	server, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime))
	if err != nil {
		return
	}
	rtt := got.Sub(sent)
	// server carries no monotonic reading, so this is wall time against
	// wall time, as the two clocks are compared.
	off := server.Sub(sent.Add(rtt / 2))
	for {
		cur := c.p.Load()
		if cur != nil && (off-*cur).Abs() <= max(clockTolerance, rtt) {
			return
		}
		if c.p.CompareAndSwap(cur, &off) {
			return
		}
	}
}

// offset is how far the server's clock is ahead of this machine's; 0
// until an answer said.
func (c *serverClock) offset() time.Duration {
	if p := c.p.Load(); p != nil {
		return *p
	}
	return 0
}

// clockTransport reads the server's clock off every answer that passes
// through it: the short requests, event streams and backups alike.
type clockTransport struct {
	next  *http.Transport
	clock *serverClock
}

// RoundTrip implements http.RoundTripper. It returns once the answer's
// headers are read, so the round trip is up to when the server's stamp
// arrived; a connection made for the request counts too, which only makes
// the reading look worse than it is.
func (t clockTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.clock.observe(resp.Header, sent, time.Now())
	}
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (t clockTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

// newClient is a Client over tr at base, reading the server's clock off
// its answers.
func newClient(tr *http.Transport, base string) *Client {
	clock := &serverClock{}
	rt := clockTransport{next: tr, clock: clock}
	// The API never redirects on purpose; a redirect is net/http's mux
	// cleaning a path, and following it would send the request, a DELETE
	// too, to another record. It is an answer of its own (readAnswer).
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{http: &http.Client{Transport: rt, Timeout: requestTimeout, CheckRedirect: noFollow},
		stream: &http.Client{Transport: rt, CheckRedirect: noFollow}, base: base, clock: clock}
}

// ClockOffset is how far the server's clock is ahead of this machine's
// (negative: behind), as its answers tell (serverClock: to within a few
// seconds); 0 until an answer carried the server's clock, and unchanged
// by answers without it (a server older than HeaderTime).
func (c *Client) ClockOffset() time.Duration { return c.clock.offset() }
