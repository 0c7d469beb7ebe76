package agentxml_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// The open surface's rate limits: every answer that needs no secret is limited.

// Every endpoint that needs no secret is limited per source address: the
// requests within the burst are answered as usual, the request past it
// gets 429 with Retry-After and costs nothing durable, while another
// address is still served. Each row has its own pair of loopback
// addresses, since some rows share a bucket (ping on every path, the
// paths nothing serves).
func TestSurface_RateLimits(t *testing.T) {
	tight := agentxml.Rate{PerSecond: 0.01, Burst: 3}
	limits := agentxmltest.NoLimits()
	limits.Provision, limits.TokenIndex, limits.QRCode, limits.Page, limits.Details, limits.Refused = tight, tight, tight, tight, tight, tight
	limits.Ping, limits.NotFound = tight, tight
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits), agentxmltest.WithQRPNG(fakePNG(nil))})
	storetest.MustAddUser(t, s.svc, "alice", "1234")
	provisionURL := s.svc.ProvisionURL("alice", "ABCD2345")
	provision := agentxmltest.SASRequest("Action", "provision", "Username", "alice", "ProvisionCode", "WRONG234")
	agentPing := agentxmltest.SASRequest("Version", "3.6", "Action", "ping")
	mobilePing := agentxmltest.SASRequest("Action", "ping")
	const pass = "<Result>PASS</Result>"
	tests := []struct {
		name, method, path, body string
		// want is the status of the requests within the burst (0: any
		// but 429) and wantBody a part of their body.
		want     int
		wantBody string
	}{
		{"TokenIndex", "GET", "/proxy/TokenIndex?username=alice", "", 0, ""},
		{"getQRCode", "GET", "/userportal/getQRCode?text=" + url.QueryEscape(provisionURL), "", 0, ""},
		{"provision page", "GET", "/userportal/provision?username=alice&code=ABCD2345", "", 0, ""},
		{"provision page, HEAD", "HEAD", "/userportal/provision?username=alice&code=ABCD2345", "", http.StatusOK, ""},
		{"provision page without a code", "GET", "/userportal/provision?username=alice", "", http.StatusBadRequest, `<p id="message">This provision link is incomplete`},
		// A phone's back and forward after the authenticator app's QR
		// page: a page saying it is shown once, not a 404.
		{"authenticator QR page by GET", "GET", "/userportal/oath", "", http.StatusMethodNotAllowed, "are not shown again"},
		{"getServerDetails", "GET", "/ssdserver/getServerDetails?id=office-1", "", 0, ""},
		{"provision on /proxy", "POST", "/proxy/AgentXML", provision, 0, ""},
		{"refused agent requests", "POST", "/pinsafe/AgentXML", "not xml", 0, ""},
		{"ping on /pinsafe", "POST", "/pinsafe/AgentXML", agentPing, http.StatusOK, pass},
		{"ping on /sentry", "POST", "/sentry/AgentXML", agentPing, http.StatusOK, pass},
		{"ping on /proxy", "POST", "/proxy/AgentXML", mobilePing, http.StatusOK, pass},
		{"ping in any case", "POST", "/pinsafe/AgentXML", agentxmltest.SASRequest("Version", "3.6", "Action", "PING"), http.StatusOK, pass},
		// U+0130 lowers to an ASCII i, but does not case-fold to one.
		{"ping with a dotted capital I", "POST", "/proxy/AgentXML", agentxmltest.SASRequest("Action", "PİNG"), http.StatusOK, pass},
		{"provision with a dotted capital I", "POST", "/proxy/AgentXML", agentxmltest.SASRequest("Action", "provİsİon", "Username", "alice", "ProvisionCode", "WRONG234"), http.StatusOK, "PROVISION_FAILURE"},
		{"/proxy/AdminXML", "POST", "/proxy/AdminXML", "<AdminRequest/>", http.StatusNotFound, "404 page not found"},
		{"unknown path", "GET", "/no/such/page", "", http.StatusNotFound, "404 page not found"},
		{"wrong method", "POST", "/ssdserver/getServerDetails?id=office-1", "", http.StatusMethodNotAllowed, ""},
		// The AgentXML and AdminXML paths check the method themselves.
		{"OPTIONS on AgentXML", "OPTIONS", "/pinsafe/AgentXML", "", http.StatusMethodNotAllowed, "AgentXML requests are sent with POST."},
		{"DELETE on /proxy", "DELETE", "/proxy/AgentXML", "", http.StatusMethodNotAllowed, ""},
		{"PUT on AdminXML", "PUT", "/sentry/AdminXML", agentPing, http.StatusMethodNotAllowed, "AdminXML requests are sent with POST."},
		// Paths the mux redirects to their clean form before any route.
		{"empty segment", "POST", "/pinsafe//AgentXML", agentPing, http.StatusTemporaryRedirect, ""},
		{"dot segment", "GET", "/proxy/./TokenIndex?username=alice", "", http.StatusTemporaryRedirect, ""},
		{"dot-dot segment", "GET", "/userportal/../ssdserver/getServerDetails?id=office-1", "", http.StatusTemporaryRedirect, ""},
	}
	do := func(hc *http.Client, method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.srv.URL()+path, strings.NewReader(body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	for n, tt := range tests {
		first := clientFrom(t, s.fp, fmt.Sprintf("127.0.0.%d", 10+n))
		second := clientFrom(t, s.fp, fmt.Sprintf("127.0.0.%d", 100+n))
		// A redirect is the answer under test, not followed.
		first.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		second.CheckRedirect = first.CheckRedirect
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 3; i++ {
				r := do(first, tt.method, tt.path, tt.body)
				body, _ := io.ReadAll(r.Body)
				if r.StatusCode == http.StatusTooManyRequests {
					t.Fatalf("request %d within the burst limited", i+1)
				}
				if (tt.want != 0 && r.StatusCode != tt.want) || !strings.Contains(string(body), tt.wantBody) {
					t.Fatalf("request %d within the burst: HTTP %d %.200s, want %d with %q", i+1, r.StatusCode, body, tt.want, tt.wantBody)
				}
			}
			size, logs := fileSize(t, s.st.Path()), countLog(t, s.svc)
			r := do(first, tt.method, tt.path, tt.body)
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("past the burst: HTTP %d %s", r.StatusCode, body)
			}
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 200 {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
			// The Provision URL page and the authenticator app's answer
			// a phone's browser with a page (refusedPage); every other
			// route with text.
			if strings.HasPrefix(tt.path, "/userportal/provision") || tt.path == "/userportal/oath" {
				if r.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
					tt.method != "HEAD" && !strings.Contains(string(body), `<p id="message">Too many requests from this address; try again in `) {
					t.Errorf("page %q %q", r.Header.Get("Content-Type"), body)
				}
			} else if !strings.HasPrefix(string(body), "Too many requests from this address; try again in ") {
				t.Errorf("body %q", body)
			}
			if fileSize(t, s.st.Path()) != size || countLog(t, s.svc) != logs {
				t.Error("a limited request wrote to the data file")
			}
			if r := do(second, tt.method, tt.path, tt.body); r.StatusCode == http.StatusTooManyRequests {
				t.Error("another source address was limited too")
			}
		})
	}
	wantRefused(t, s.svc, "rate limited")
}

// TestSurface_RequestsTheMuxAnswers: net/http answers some requests before
// any route sees them (OPTIONS *, CONNECT, a request target that is not a
// path); they need no secret either, so each source address gets a few and
// then 429, with nothing written. Sent as raw request lines, since
// http.Client cannot send all of them.
func TestSurface_RequestsTheMuxAnswers(t *testing.T) {
	limits := agentxmltest.NoLimits()
	limits.NotFound = agentxml.Rate{PerSecond: 0.01, Burst: 3}
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits)})
	addr := s.srv.Addr().String()
	send := func(from, line string) (int, string) {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // nothing secret is sent
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%s\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", line)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for n, line := range []string{"OPTIONS * HTTP/1.1", "CONNECT 127.0.0.1:1 HTTP/1.1", "GET * HTTP/1.1"} {
		t.Run(line, func(t *testing.T) {
			from := fmt.Sprintf("127.0.0.%d", 40+n)
			for i := 0; i < 3; i++ {
				if st, body := send(from, line); st == http.StatusTooManyRequests || st == http.StatusOK {
					t.Fatalf("request %d within the burst = %d %q", i+1, st, body)
				}
			}
			size, logs := fileSize(t, s.st.Path()), countLog(t, s.svc)
			if st, body := send(from, line); st != http.StatusTooManyRequests || !strings.HasPrefix(body, "Too many requests from this address") {
				t.Fatalf("past the burst = %d %q", st, body)
			}
			if fileSize(t, s.st.Path()) != size || countLog(t, s.svc) != logs {
				t.Error("a limited request wrote to the data file")
			}
		})
	}
}

// The default ping limit never refuses health checks: a hundred agents or
// load balancers behind one address asking at once, then one asking every
// 100 ms, all get PASS.
func TestSurface_PingDefaultLimitServesHealthChecks(t *testing.T) {
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithLimits(agentxml.DefaultLimits())})
	hc := clientFrom(t, e.fp, "127.0.0.3")
	ping := func(what string) {
		t.Helper()
		code, _, body := rawPost(t, hc, e.srv.URL()+"/pinsafe/AgentXML", agentxmltest.SASRequest("Version", "3.6", "Action", "ping"))
		if code != http.StatusOK || !bytes.Contains(body, []byte("<Result>PASS</Result>")) {
			t.Fatalf("%s: HTTP %d %s", what, code, body)
		}
	}
	for i := 0; i < 100; i++ {
		ping(fmt.Sprintf("ping %d of 100 at once", i+1))
	}
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		ping(fmt.Sprintf("health check %d every 100 ms", i+1))
	}
}
