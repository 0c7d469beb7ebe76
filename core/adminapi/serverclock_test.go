package adminapi_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/store/storetest"
)

// near fails the test unless got is within a second of want.
func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -time.Second || d > time.Second {
		t.Errorf("%s is %v, %v off %v", what, got, d, want)
	}
}

// shortSocketDir is a temp directory with a path short enough for Unix
// sockets.
func shortSocketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestConsole_NowIsTheServersClock: a console attached over the socket or
// connected over mutual TLS to a service whose clock is 11 minutes off
// its own reads the service's clock as its Now after one call (Dial's
// probe; DialRemote's GET /v1/me), since the service's clock sets every
// expiry its screens read. Every answer carries the service's clock,
// a refusal too.
func TestConsole_NowIsTheServersClock(t *testing.T) {
	for _, tt := range []struct {
		name string
		// dial starts a service whose clock is the real one plus skew and
		// connects a console to it; now is the service's clock.
		dial func(t *testing.T, skew time.Duration) (c *adminapi.Client, now func() time.Time)
	}{
		{"admin socket", func(t *testing.T, skew time.Duration) (*adminapi.Client, func() time.Time) {
			clock := storetest.NewClock(time.Now().Add(skew))
			svc := storetest.MustService(t, core.WithClock(clock))
			sock := filepath.Join(shortSocketDir(t), adminapi.SocketName)
			srv, err := adminapi.Listen(sock, svc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })

			// The header itself, on an answer that refuses.
			resp, err := unixClient(sock).Get("http://provisio/v1/no-such-route")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.Header.Get(adminapi.HeaderTime), clock.Now().UTC().Format(time.RFC3339Nano); resp.StatusCode != http.StatusNotFound || got != want {
				t.Errorf("a 404 answer: %s, %s %q, want the service's clock %q", resp.Status, adminapi.HeaderTime, got, want)
			}

			c, err := adminapi.Dial(sock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			return c, clock.Now
		}},
		{"remote console", func(t *testing.T, skew time.Duration) (*adminapi.Client, func() time.Time) {
			e := newRemote(t, adminapi.RemoteOptions{})
			e.clk.add(skew)
			c, err := adminapi.DialRemote(e.pair(t, "desk-admin", core.RoleAdmin))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			return c, e.clk.Now
		}},
	} {
		for _, skew := range []time.Duration{11 * time.Minute, -11 * time.Minute} {
			way := map[bool]string{true: " ahead", false: " behind"}[skew > 0]
			t.Run(tt.name+", service "+skew.Abs().String()+way, func(t *testing.T) {
				c, serverNow := tt.dial(t, skew)
				k := adminapi.NewConsole(c)
				near(t, "the console's Now after one call", k.Now(), serverNow())
				if off := c.ClockOffset(); off < skew-time.Second || off > skew+time.Second {
					t.Errorf("clock offset %v, want about %v", off, skew)
				}
				// And it stays so over the calls the screens make.
				if h := k.Health(); !h.OK() {
					t.Fatalf("health %+v", h)
				}
				if _, err := k.Users(); err != nil {
					t.Fatal(err)
				}
				near(t, "the console's Now after more calls", k.Now(), serverNow())
			})
		}
	}
}

// TestConsole_AnswerWithoutServerClock: an answer without the service's
// clock, as from a server older than the header, leaves the console's
// Now as it was: its own clock before any answer carried the service's,
// the service's as last read after. The header is dropped by a proxy in
// front of a real server.
func TestConsole_AnswerWithoutServerClock(t *testing.T) {
	clock := storetest.NewClock(time.Now().Add(11 * time.Minute))
	svc := storetest.MustService(t, core.WithClock(clock))
	dir := shortSocketDir(t)
	sock := filepath.Join(dir, adminapi.SocketName)
	srv, err := adminapi.Listen(sock, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	var strip atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: "provisio"})
	proxy.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	proxy.ModifyResponse = func(r *http.Response) error {
		if strip.Load() {
			r.Header.Del(adminapi.HeaderTime)
		}
		return nil
	}
	old := filepath.Join(dir, "old.sock")
	ln, err := net.Listen("unix", old)
	if err != nil {
		t.Fatal(err)
	}
	ps := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go ps.Serve(ln)
	t.Cleanup(func() { ps.Close() })

	// An older server: the console's own clock, as before.
	strip.Store(true)
	c, err := adminapi.Dial(old)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	k := adminapi.NewConsole(c)
	if off := c.ClockOffset(); off != 0 {
		t.Errorf("clock offset %v from answers without the service's clock, want 0", off)
	}
	near(t, "Now before any answer carried the service's clock", k.Now(), time.Now())

	// One answer with it.
	strip.Store(false)
	if h := k.Health(); !h.OK() {
		t.Fatalf("health %+v", h)
	}
	near(t, "Now after an answer with the service's clock", k.Now(), clock.Now())
	off := c.ClockOffset()

	// The service's clock moves, but the answers stop saying so: answers,
	// a refusal among them, change nothing.
	strip.Store(true)
	was := clock.Now()
	clock.Advance(5 * time.Minute)
	if h := k.Health(); !h.OK() {
		t.Fatalf("health %+v", h)
	}
	if _, err := k.User("nobody"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("an unknown user: %v", err)
	}
	if got := c.ClockOffset(); got != off {
		t.Errorf("clock offset %v after answers without the service's clock, was %v", got, off)
	}
	near(t, "Now after answers without the service's clock", k.Now(), was)
}
