package adminapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"provisio/core"
)

// A console outlives the service's restarts: the service may be stopped,
// killed and restarted by systemd, or out of reach for a while, and the
// window open on it must say so and pick up again by itself (docs/
// decisions.md, "Attached consoles under failure").

// Reconnection delays of Follow: the first retry comes soon (systemd
// restarts the service two seconds after a failure), later ones no more
// often than followMaxDelay, so a console left open on a server that is
// gone costs it one refused request every few seconds.
const (
	followMinDelay = 500 * time.Millisecond
	followMaxDelay = 5 * time.Second
)

// streamIdle is how long an open event stream may stay silent before it
// is taken for lost: the server sends a keep-alive every 15 s, so a
// network that drops packets without closing the connection (a cable
// pulled, a VPN gone) is noticed within this, not after TCP's minutes.
// (Atomic: a test shortens it while streams of other tests may run.)
var streamIdle atomic.Int64

func init() { streamIdle.Store(int64(40 * time.Second)) }

// idleLimit is streamIdle as a duration.
func idleLimit() time.Duration { return time.Duration(streamIdle.Load()) }

// Follow is Events that outlives the server: whenever the stream cannot
// open or ends, it sends an event of kind core.AdminKindConnection whose
// Reason says why in a sentence (once per different reason) and tries
// again; whenever a stream is open, the first one too, it sends one with
// no Reason, after which the caller rereads what it shows, since the
// events of an outage are lost. The first open says so as well because
// the stream opens in the background: a change made after the caller's
// first read and before the server listened for it was never announced,
// and a console opened just then would not have shown it until the next
// change. The channel closes only when ctx ends.
func (c *Client) Follow(ctx context.Context) <-chan Event {
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		send := func(e Event) bool {
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		said := ""
		delay := followMinDelay
		for {
			in, err := c.Events(ctx)
			if err == nil {
				// The server listens from before its answer's header:
				// whatever changes from now on comes through.
				if !send(Event{Kind: core.AdminKindConnection, At: time.Now()}) {
					return
				}
				opened := time.Now()
				for e := range in {
					if !send(e) {
						return
					}
				}
				// A stream that stayed open a while was a good
				// connection: the next outage starts with quick retries.
				if time.Since(opened) > followMaxDelay {
					delay = followMinDelay
				}
				said, err = "", errStreamEnded
			}
			if ctx.Err() != nil {
				return
			}
			if why := c.lostSentence(err); why != said {
				if !send(Event{Kind: core.AdminKindConnection, Reason: why, At: time.Now()}) {
					return
				}
				said = why
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			delay = min(delay*2, followMaxDelay)
		}
	}()
	return out
}

// errStreamEnded is a stream the server (or the network) closed.
var errStreamEnded = errors.New("the event stream ended")

// where names the server in a sentence: the service on this machine, or
// the server at HOST:PORT.
func (c *Client) where() string {
	if host, ok := strings.CutPrefix(c.base, "https://"); ok {
		return "The Provisio server at " + host
	}
	return "The Provisio service"
}

// lostSentence says why the connection is down and that the console
// keeps trying: the server's own refusal (a revoked console), the pinned
// certificate's mismatch, or that nothing answers.
func (c *Client) lostSentence(err error) string {
	var ce *core.Error
	switch {
	case errors.Is(err, ErrServerChanged):
		// The open window cannot pair; the console started again
		// offers it (ui.ShowConnectProblem).
		return capital(err.Error()) + ". To pair again, close this window and start the console again."
	case errors.As(err, &ce) && ce.Code != core.CodeUnavailable:
		return ce.Message
	}
	return c.where() + " is not answering (stopped, restarting or out of reach); this window reconnects by itself when it answers again, and what you typed stays where it is."
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// unavailable turns a request that got no answer into a sentence (a
// *core.Error of code CodeUnavailable wrapping the cause): the caller shows
// it as it does any refusal, instead of "something went wrong inside
// Provisio". A request that never left (the connection was refused) did
// nothing; a change whose answer was lost may have been done.
func (c *Client) unavailable(method string, err error) error {
	err = unwrapURL(err)
	if errors.Is(err, ErrServerChanged) {
		return &core.Error{Code: core.CodeUnavailable, Message: capital(err.Error()) + ".", Err: err}
	}
	msg := c.where() + " is not answering (stopped, restarting or out of reach); nothing was changed. Try again once it answers."
	switch {
	case method == http.MethodGet:
		// A read changes nothing either way.
		msg = c.where() + " is not answering (stopped, restarting or out of reach); try again once it answers."
	case !notSent(err):
		msg = c.where() + " stopped answering before it replied, so whether this was done is not known; look again once it answers (trying it again is safe)."
	}
	return &core.Error{Code: core.CodeUnavailable, Message: msg, Err: err}
}

// notSent reports whether err happened before the request could reach
// the server: dialling failed.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// idleReader closes the stream when nothing arrived for d (streamIdle).
type idleReader struct {
	r     io.ReadCloser
	timer *time.Timer
	d     time.Duration
	once  sync.Once
}

func newIdleReader(r io.ReadCloser, d time.Duration) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.timer = time.AfterFunc(d, func() { ir.Close() })
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.d)
	}
	return n, err
}

func (ir *idleReader) Close() error {
	ir.timer.Stop()
	var err error
	ir.once.Do(func() { err = ir.r.Close() })
	return err
}
