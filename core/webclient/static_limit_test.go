package webclient_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// clientFrom is an HTTPS client pinned to fp whose connections come from
// localIP, a loopback address, so the server sees that source address.
func clientFrom(t *testing.T, fp, localIP string) *http.Client {
	t.Helper()
	hc, err := agentxmltest.PinnedClient(fp)
	if err != nil {
		t.Fatal(err)
	}
	tr := hc.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestHandler_StaticRateLimit: the portal page, the authenticator's files,
// the icons and the paths the web client does not serve need no secret,
// so each source address may load a limited number of them: within the
// limit they are served as usual, past it the answer is 429 with
// Retry-After and a sentence, counted in memory only (no store write, no
// log line), and another address is still served. Each row has its own
// pair of loopback addresses, since all rows share one limit.
func TestHandler_StaticRateLimit(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithLimits(agentxmltest.NoLimits()), func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Static: &webclient.Limit{Max: 3, Per: time.Hour}})
	})
	tests := []struct {
		name, method, path string
		want               int
		wantBody           string
	}{
		{"portal page", "GET", "/userportal/", http.StatusOK, "<html"},
		// The authenticator's reachability check (app.js checkReach).
		{"portal page, HEAD", "HEAD", "/userportal/", http.StatusOK, ""},
		{"authenticator page", "GET", "/userportal/app/", http.StatusOK, "<html"},
		{"script", "GET", "/userportal/app/app.js", http.StatusOK, "function"},
		{"style sheet", "GET", "/userportal/app/app.css", http.StatusOK, "{"},
		{"service worker", "GET", "/userportal/app/sw.js", http.StatusOK, "fetch"},
		{"manifest", "HEAD", "/userportal/app/manifest.webmanifest", http.StatusOK, ""},
		{"icon 192", "GET", "/userportal/app/icon-192.png", http.StatusOK, "PNG"},
		{"icon 512", "GET", "/userportal/app/icon-512.png", http.StatusOK, "PNG"},
		{"missing file", "GET", "/userportal/app/nothing.js", http.StatusNotFound, "404 page not found"},
		{"unknown path", "GET", "/userportal/nothing", http.StatusNotFound, "404 page not found"},
		{"wrong method", "GET", "/userportal/setup", http.StatusMethodNotAllowed, ""},
	}
	do := func(t *testing.T, hc *http.Client, method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL()+path, nil)
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return r, string(b)
	}
	logCount := func(t *testing.T) int {
		t.Helper()
		e, err := svc.LogTail(100000)
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	fileSize := func(t *testing.T) int64 {
		t.Helper()
		fi, err := os.Stat(st.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	for n, tt := range tests {
		first := clientFrom(t, fp, fmt.Sprintf("127.0.0.%d", 10+n))
		second := clientFrom(t, fp, fmt.Sprintf("127.0.0.%d", 100+n))
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 3; i++ {
				r, b := do(t, first, tt.method, tt.path)
				if r.StatusCode != tt.want || !strings.Contains(b, tt.wantBody) {
					t.Fatalf("request %d within the limit: HTTP %d %.200q, want %d with %q", i+1, r.StatusCode, b, tt.want, tt.wantBody)
				}
			}
			size, logs := fileSize(t), logCount(t)
			r, b := do(t, first, tt.method, tt.path)
			if r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("past the limit: HTTP %d %.200q", r.StatusCode, b)
			}
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
				t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
			}
			if tt.method != "HEAD" && !strings.HasPrefix(b, "Too many requests from this address; try again in ") {
				t.Errorf("body %q", b)
			}
			if fileSize(t) != size || logCount(t) != logs {
				t.Error("a limited request wrote to the store")
			}
			if r, b := do(t, second, tt.method, tt.path); r.StatusCode != tt.want {
				t.Errorf("another source address: HTTP %d %.200q, want %d", r.StatusCode, b, tt.want)
			}
		})
	}
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	entries, err := svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || strings.Contains(e.Message, "1 refused request from 127.0.0.10 in the last minute: web client pages and files over the rate limit")
	}
	if !found {
		t.Error("the refusals were not counted")
	}
}

// TestHandler_EarlyRefusalsLimited: the requests the web client refuses
// before it looks at a name or code (self-service off, an unreadable form,
// a missing field, another site's POST) and the bare paths the mux would
// redirect need no secret either: each counts against its source
// address's limit (code requests and setups 10 per address, pages and
// files Static, the server's not-found limit for /userportal), past which
// the answer is 429 and nothing is written.
func TestHandler_EarlyRefusalsLimited(t *testing.T) {
	st := &storetest.Faulty{Store: storetest.MustOpen(t)}
	svc := storetest.MustServiceOn(t, st)
	limits := agentxmltest.NoLimits()
	limits.NotFound = agentxml.Rate{PerSecond: 0.01, Burst: 3}
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithLimits(limits), func(o *agentxml.Options) {
		o.Portal = webclient.New(svc, webclient.Options{Static: &webclient.Limit{Max: 3, Per: time.Hour}, RequestFloor: time.Millisecond})
	})
	form := "application/x-www-form-urlencoded"
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	tests := []struct {
		name, method, path, ctype, body string
		header                          map[string]string
		selfService                     bool
		within                          int // requests answered before 429
		want                            int
	}{
		{"code request, self-service off", "POST", "/userportal/request", form, "username=alice", nil, false, 10, http.StatusForbidden},
		{"code request, unreadable form", "POST", "/userportal/request", form, "username=%zz", nil, true, 10, http.StatusBadRequest},
		{"code request, no username", "POST", "/userportal/request", form, "username=+", nil, true, 10, http.StatusBadRequest},
		{"setup, unreadable form", "POST", "/userportal/setup", form, "code=%zz", nil, false, 10, http.StatusBadRequest},
		{"setup, no code", "POST", "/userportal/setup", form, "username=alice", nil, false, 10, http.StatusBadRequest},
		{"setup, overlong code", "POST", "/userportal/setup", form, "username=alice&code=" + strings.Repeat("A", 129), nil, false, 10, http.StatusBadRequest},
		{"cross-site setup", "POST", "/userportal/setup", form, "username=alice&code=ABCD2345", crossSite, false, 3, http.StatusForbidden},
		{"cross-site API call", "POST", "/userportal/app/api/status", "application/json", `{"id":"x"}`, crossSite, false, 3, http.StatusForbidden},
		{"/userportal/app", "GET", "/userportal/app", "", "", nil, false, 3, http.StatusTemporaryRedirect},
		{"/userportal", "GET", "/userportal", "", "", nil, false, 3, http.StatusTemporaryRedirect},
	}
	do := func(t *testing.T, hc *http.Client, method, path, ctype, body string, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for n, tt := range tests {
		first := clientFrom(t, fp, fmt.Sprintf("127.0.0.%d", 10+n))
		second := clientFrom(t, fp, fmt.Sprintf("127.0.0.%d", 100+n))
		first.CheckRedirect, second.CheckRedirect = noRedirect, noRedirect
		t.Run(tt.name, func(t *testing.T) {
			if err := svc.SetSetting("policy.selfreset.allow_self_provision", map[bool]string{true: "Yes", false: "No"}[tt.selfService]); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.within; i++ {
				if st, b := do(t, first, tt.method, tt.path, tt.ctype, tt.body, tt.header); st != tt.want {
					t.Fatalf("request %d within the limit: HTTP %d %.200q, want %d", i+1, st, b, tt.want)
				}
			}
			writes := st.Writes.Load()
			if st, b := do(t, first, tt.method, tt.path, tt.ctype, tt.body, tt.header); st != http.StatusTooManyRequests {
				t.Fatalf("past the limit: HTTP %d %.200q", st, b)
			}
			if st.Writes.Load() != writes {
				t.Error("a limited request wrote to the store")
			}
			if st, b := do(t, second, tt.method, tt.path, tt.ctype, tt.body, tt.header); st != tt.want {
				t.Errorf("another source address: HTTP %d %.200q, want %d", st, b, tt.want)
			}
		})
	}
}
