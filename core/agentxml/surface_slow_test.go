package agentxml_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
)

// TestSurface_ForwardingHeadersDoNotMoveLimits: a limit counts the TCP
// peer, never what the request says about itself, so a client that names
// another address in each request (X-Forwarded-For, X-Real-IP,
// Forwarded, True-Client-IP, CF-Connecting-IP) still meets its limit
// after the burst, on the limits of the GET endpoints, of refused
// requests and of paths nobody serves.
func TestSurface_ForwardingHeadersDoNotMoveLimits(t *testing.T) {
	limits := agentxmltest.NoLimits()
	tight := agentxml.Rate{PerSecond: 0.001, Burst: 5}
	limits.TokenIndex, limits.Refused, limits.NotFound = tight, tight, tight
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithLimits(limits)})
	for _, row := range []struct {
		name, method, path, body string
	}{
		{"TokenIndex", "GET", "/proxy/TokenIndex?username=alice", ""},
		{"wrong agent secret", "POST", "/pinsafe/AgentXML", agentxmltest.SASRequest("Version", "3.6", "Action", "login", "AgentSecret", "wrong", "Username", "alice", "OTC", "123456")},
		{"unknown path", "GET", "/nothing", ""},
	} {
		t.Run(row.name, func(t *testing.T) {
			hc := clientFrom(t, e.fp, "127.0.3.1")
			last := 0
			for i := 0; i < 8; i++ {
				req, _ := http.NewRequest(row.method, e.srv.URL()+row.path, strings.NewReader(row.body))
				ip := "10.1.2." + strconv.Itoa(i+1)
				for _, h := range []string{"X-Forwarded-For", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP"} {
					req.Header.Set(h, ip)
				}
				req.Header.Set("Forwarded", "for="+ip)
				r, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				last = r.StatusCode
			}
			if last != http.StatusTooManyRequests {
				t.Errorf("the 8th request naming another address each time = %d, want 429 after a burst of 5", last)
			}
		})
	}
}

// TestSurface_SlowClientsAreCut: a client that sends its request one
// byte at a time (slowloris), or its body slower than the request may
// take, holds its connection no longer than the header timeout (5 s),
// or the request timeout (10 s) for a body, and no request reaches a
// handler.
func TestSurface_SlowClientsAreCut(t *testing.T) {
	e := newEnv(t)
	addr := e.srv.Addr().String()
	for _, row := range []struct {
		name   string
		header string // sent at once; then one byte of trickle every 200 ms
		trickl string
		within time.Duration
	}{
		{"headers one byte at a time", "", "GET /proxy/TokenIndex?username=alice HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("a", 200), 7 * time.Second},
		{"a body slower than the request may take", "POST /proxy/AgentXML HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n", strings.Repeat("x", 1000), 12 * time.Second},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // no secret is sent
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := io.WriteString(c, row.header); err != nil {
				t.Fatal(err)
			}
			closed := make(chan time.Duration, 1)
			go func() {
				// The server's close (or its answer, then close) ends
				// the read.
				_, _ = io.Copy(io.Discard, c)
				closed <- time.Since(start)
			}()
			check := func(d time.Duration) {
				if d > row.within {
					t.Errorf("the connection was held %v, want at most %v", d, row.within)
				}
			}
			for i := 0; i < len(row.trickl); i++ {
				select {
				case d := <-closed:
					check(d)
					return
				case <-time.After(200 * time.Millisecond):
				}
				if time.Since(start) > row.within+time.Second {
					t.Fatalf("the server still reads the trickle after %v", time.Since(start))
				}
				if _, err := io.WriteString(c, row.trickl[i:i+1]); err != nil {
					// Closed by the server: the reader says when.
					select {
					case d := <-closed:
						check(d)
					case <-time.After(time.Second):
						t.Errorf("a write failed after %v (%v), but the connection is not closed", time.Since(start), err)
					}
					return
				}
			}
			t.Fatalf("the whole trickle was read in %v", time.Since(start))
		})
	}
}
