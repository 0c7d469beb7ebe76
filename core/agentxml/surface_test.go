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
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// The server's open surface (#9) over real HTTPS on loopback with a real
// bbolt file: what anyone who reaches the port can make it do.

// surface is a running server over a store whose file the test can
// measure.
type surface struct {
	st    *store.Store
	svc   *core.Service
	srv   *agentxml.Server
	fp    string
	agent *agentxmltest.AgentClient
}

func newSurface(t *testing.T, srvOpts []agentxmltest.Option, opts ...core.Option) *surface {
	t.Helper()
	st := storetest.MustOpen(t)
	svc, err := core.NewService(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"server.siteid": "office-1", "server.advertise": "127.0.0.1"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []core.Agent{
		{Name: "vpn", Host: "127.0.0.1", Secret: agentSecret},
		{Name: "remote", Host: "10.9.9.9", Secret: remoteSecret},
	} {
		if err := svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	srv, fp := agentxmltest.MustServer(t, svc, srvOpts...)
	ac, err := agentxmltest.NewAgentClient(srv.URL(), fp, agentSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &surface{st: st, svc: svc, srv: srv, fp: fp, agent: ac}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Unauthenticated and refused requests cost no durable write each: 5,000
// TokenIndex lookups, 5,000 junk bodies and 5,000 wrong-secret requests
// grow the data file by well under 1 MB, and write a handful of
// aggregated lines. The limits are lifted so that every request reaches
// its handler.
func TestSurface_NoDiskFill(t *testing.T) {
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(agentxmltest.NoLimits())})
	if err := s.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, s.svc, "alice", "1234")
	before, logsBefore := fileSize(t, s.st.Path()), countLog(t, s.svc)

	const n = 5000
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failures atomic.Int64
	base := s.srv.URL()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var resp *http.Response
				var err error
				switch i % 3 {
				case 0:
					resp, err = s.agent.HTTP.Get(base + "/proxy/TokenIndex?username=" + []string{"alice", "nobody"}[i%2])
				case 1:
					resp, err = s.agent.HTTP.Post(base+"/pinsafe/AgentXML", "application/xml", strings.NewReader("<junk"+strconv.Itoa(i)))
				case 2:
					resp, err = s.agent.HTTP.Post(base+"/pinsafe/AgentXML", "application/xml", strings.NewReader(
						agentxmltest.SASRequest("Version", "3.6", "Secret", "wrong-"+strconv.Itoa(i), "Action", "login", "Username", "alice", "OTC", "123456")))
				}
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					failures.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 3*n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d requests failed or were limited", f)
	}
	if err := s.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	grew := fileSize(t, s.st.Path()) - before
	lines := countLog(t, s.svc) - logsBefore
	t.Logf("15,000 requests: data file grew by %d bytes, %d log lines", grew, lines)
	if grew >= 1<<20 {
		t.Errorf("the data file grew by %d bytes, want under 1 MB", grew)
	}
	if lines > 5 {
		t.Errorf("%d log lines for 15,000 refused or anonymous requests, want a few aggregated ones", lines)
	}
	wantRefused(t, s.svc, "malformed XML", "wrong agent secret or address")
	wantLog(t, s.svc, "5000 refused requests from 127.0.0.1 in the last minute: wrong agent secret or address")
}

func countLog(t *testing.T, svc *core.Service) int {
	t.Helper()
	logs, err := svc.Logs(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

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
			if !strings.HasPrefix(string(body), "Too many requests from this address; try again in ") {
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

// rawResponse is a reply as bytes, minus the Date header, so replies can
// be compared byte for byte.
func rawResponse(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	resp.Header.Del("Date")
	var keys []string
	for k := range resp.Header {
		keys = append(keys, k+": "+strings.Join(resp.Header[k], ","))
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d\n%s\n\n%s", resp.StatusCode, strings.Join(keys, "\n"), body)
}

// TokenIndex does not tell who exists: an unknown user, a user without
// strings and a locked user get byte-identical replies, the same as a
// provisioned user at index 0; the device Id gets the precise index.
func TestSurface_TokenIndexNeutral(t *testing.T) {
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithLimits(agentxmltest.NoLimits())})
	if err := e.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	e.provisioned(t, "fresh", "1234") // index 0
	storetest.MustAddUser(t, e.svc, "unprovisioned", "1234")
	locked := e.provisioned(t, "locked", "1234")
	for i := 0; i < 2; i++ {
		c, _ := locked.OTC("1234")
		if res, _, err := e.agent.Login("locked", c); err != nil || res != "PASS" {
			t.Fatalf("login: %s %v", res, err)
		}
	}
	if _, err := e.svc.UpdateUser("locked", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	logs := countLog(t, e.svc)
	base := e.srv.URL() + "/proxy/TokenIndex?username="
	want := rawResponse(t, e.agent.HTTP, base+"fresh")
	if !strings.HasSuffix(want, "\n\n0") {
		t.Fatalf("a user at index 0:\n%s", want)
	}
	for _, name := range []string{"nobody", "unprovisioned", "locked", "LOCKED", "x%00y"} {
		if got := rawResponse(t, e.agent.HTTP, base+name); got != want {
			t.Errorf("%s:\n%s\nwant, as for a user at index 0:\n%s", name, got, want)
		}
	}
	if got := rawResponse(t, e.agent.HTTP, base+"locked&id="+locked.DeviceID()); !strings.HasSuffix(got, "\n\n2") {
		t.Errorf("with the device id:\n%s", got)
	}
	if n := countLog(t, e.svc); n != logs {
		t.Errorf("TokenIndex wrote %d log lines", n-logs)
	}
}

// A HelpdeskRequest needs the helpdesk right: an agent that only
// authenticates (the VPN) cannot unlock a user or set a PIN with its
// secret, and an agent given the right can.
func TestSurface_HelpdeskNeedsRight(t *testing.T) {
	f := newFixture(t)
	unlock := `<Update><User name="bob"><Policies><Policy name="locked">false</Policy></Policies><Credentials pin="1111"/></User></Update>`
	r, err := f.admin(t, vpnSecret).Helpdesk(unlock)
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != "FAIL" || r.Error != "AGENT_ERROR_AGENT_ACCESS" || !strings.Contains(r.Message, "helpdesk right") || len(r.Ops) != 0 {
		t.Fatalf("helpdesk request from an authenticate-only agent:\n%s", r.Body)
	}
	if u, _ := f.svc.User("bob"); !u.Locked || u.PIN != "2468" {
		t.Fatalf("bob changed: locked %v", u.Locked)
	}
	r, err = f.admin(t, helpdeskSecret).Helpdesk(unlock)
	if err != nil || r.Result != "PASS" {
		t.Fatalf("helpdesk agent: %v\n%s", err, r.Body)
	}
	if u, _ := f.svc.User("bob"); u.Locked {
		t.Fatal("bob still locked")
	}
	wantRefused(t, f.svc, `a HelpdeskRequest from agent "vpn", which does not have the helpdesk right`)
}

// GET ?xml= carries secrets in URLs: refused by default with a FAIL that
// names the setting, served once agentxml.allow_get is on.
func TestSurface_GetXML(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	q := "/pinsafe/AgentXML?xml=" + url.QueryEscape(agentxmltest.SASRequest("Version", "3.6", "Secret", agentSecret, "Action", "exists", "Username", "alice"))
	resp, err := e.agent.HTTP.Get(e.srv.URL() + q)
	if err != nil {
		t.Fatal(err)
	}
	r, err := agentxmltest.ReadResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusMethodNotAllowed || r.Result != "FAIL" || !strings.Contains(string(r.Body), "agentxml.allow_get") {
		t.Fatalf("GET by default: HTTP %d\n%s", r.StatusCode, r.Body)
	}
	if err := e.svc.SetSetting("agentxml.allow_get", "Yes"); err != nil {
		t.Fatal(err)
	}
	resp, err = e.agent.HTTP.Get(e.srv.URL() + q)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = agentxmltest.ReadResponse(resp); err != nil || r.StatusCode != 200 || r.Result != "PASS" {
		t.Fatalf("GET with allow_get: %v\n%s", err, r.Body)
	}
}

// TLS: 1.3, and 1.2 with AEAD suites only. A client offering only CBC
// suites cannot complete the handshake.
func TestSurface_TLSSuites(t *testing.T) {
	e := newEnv(t)
	addr := e.srv.Addr().String()
	tests := []struct {
		name    string
		cfg     *tls.Config
		wantErr bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, false},
		{"TLS 1.2 AES-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, false},
		{"TLS 1.2 ChaCha20", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, false},
		{"TLS 1.2 CBC only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA}}, true},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.InsecureSkipVerify = true // the handshake is what is tested
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tt.cfg)
			if err == nil {
				st := c.ConnectionState()
				c.Close()
				if tt.wantErr {
					t.Fatalf("handshake succeeded with %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				return
			}
			if !tt.wantErr {
				t.Fatalf("handshake failed: %v", err)
			}
		})
	}
}

// A flood of connections from one address that never speak is held to
// the per-address cap (the rest are closed at once), and ping from
// another address keeps answering within 100 ms on fresh connections.
func TestSurface_ConnectionFlood(t *testing.T) {
	limits := agentxml.DefaultLimits()
	limits.MaxConnsPerAddr = 32
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithLimits(limits)})
	addr := e.srv.Addr().String()

	const flood = 1000
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	for i := 0; i < flood; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Count those the server holds: a closed one reads EOF at once.
	time.Sleep(200 * time.Millisecond)
	held := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				held++
			}
		}
	}
	if held > limits.MaxConnsPerAddr {
		t.Errorf("the server holds %d connections from one address, cap %d", held, limits.MaxConnsPerAddr)
	}

	// Ping from 127.0.0.1 on a fresh connection each time, while the
	// flood goes on (bounded: at most 3,000 more connections).
	stop := make(chan struct{})
	flooded := make(chan []net.Conn)
	go func() {
		var more []net.Conn
		defer func() { flooded <- more }()
		for len(more) < 3000 {
			select {
			case <-stop:
				return
			default:
			}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return
			}
			more = append(more, c)
			// About 2,000 new connections a second: a flood, while the
			// test process (client and server at once) keeps some CPU.
			time.Sleep(500 * time.Microsecond)
		}
	}()
	hc := clientFrom(t, e.fp, "127.0.0.1")
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	var times []time.Duration
	slow := 0
	for i := 0; i < 20; i++ {
		start := time.Now()
		resp, err := hc.Post(e.srv.URL()+"/pinsafe/AgentXML", "application/xml", strings.NewReader(agentxmltest.SASRequest("Version", "3.6", "Action", "ping")))
		if err != nil {
			t.Fatal(err)
		}
		r, err := agentxmltest.ReadResponse(resp)
		took := time.Since(start)
		if err != nil || r.Result != "PASS" {
			t.Fatalf("ping: %v", err)
		}
		times = append(times, took)
		if took > 100*time.Millisecond {
			slow++
		}
	}
	close(stop)
	more := <-flooded
	conns = append(conns, more...)
	t.Logf("held %d of %d flooding connections, %d more dialled during the pings; pings took %v", held, flood, len(more), times)
	// The test machine is shared (its load is often far above its CPU
	// count), so one ping in twenty may lose its time slice; a flood that
	// starved the server would slow them all.
	if slow > 1 {
		t.Errorf("%d of 20 pings under the flood took over 100 ms: %v", slow, times)
	}
	wantRefused(t, e.svc, "too many connections")
}

// Below the free-space threshold the server refuses unauthenticated work
// with 503 and a sentence, and keeps answering logins.
func TestSurface_LowDisk(t *testing.T) {
	var free atomic.Uint64
	free.Store(10 << 30)
	probe := func() (uint64, error) { return free.Load(), nil }
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(agentxmltest.NoLimits()), agentxmltest.WithQRPNG(fakePNG(nil))},
		core.WithFreeSpace(probe))
	if err := s.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	e := &env{svc: s.svc, srv: s.srv, fp: s.fp, agent: s.agent}
	m := e.provisioned(t, "alice", "1234")
	phone := e.phone(t, "alice") // looks the Site ID up now, while there is space
	free.Store(20 << 20)         // 20 MB, under the default 100 MB
	s.svc.CheckFreeSpace()
	if !s.svc.LowDisk() {
		t.Fatal("LowDisk not set")
	}
	for _, path := range []string{
		"/proxy/TokenIndex?username=alice",
		"/userportal/getQRCode?text=" + url.QueryEscape(s.svc.ProvisionURL("alice", "ABCD2345")),
		"/userportal/provision?username=alice&code=ABCD2345",
		"/ssdserver/getServerDetails?id=office-1",
	} {
		st, _, body, err := s.agent.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		if st != http.StatusServiceUnavailable || !strings.Contains(string(body), "short of disk space") {
			t.Errorf("%s: HTTP %d %q, want 503", path, st, body)
		}
	}
	if err := phone.Provision("Android 15"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("provision while the disk is full: %v", err)
	}
	c, _ := m.OTC("1234")
	if res, code, err := s.agent.Login("alice", c); err != nil || res != "PASS" {
		t.Errorf("login while the disk is full: %s %s %v", res, code, err)
	}
	if h := s.svc.Health(); !strings.Contains(h.Message(), "almost full") {
		t.Errorf("health message %q", h.Message())
	}
	free.Store(10 << 30)
	s.svc.CheckFreeSpace()
	if st, _, _, _ := s.agent.Get("/proxy/TokenIndex?username=alice"); st != 200 {
		t.Errorf("after space was freed: HTTP %d", st)
	}
}

// An agent named by host name is accepted from the addresses the name
// resolves to (localhost → 127.0.0.1 through the system resolver).
func TestSurface_AgentByHostName(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.PutAgent(core.Agent{Name: "byname", Host: "localhost", Secret: "byname-secret-1"}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range e.svc.AgentAddresses("byname") {
		found = found || p.Addr().String() == "127.0.0.1"
	}
	if !found {
		t.Fatalf("localhost resolved to %v", e.svc.AgentAddresses("byname"))
	}
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	c, err := agentxmltest.NewAgentClient(e.srv.URL(), e.fp, "byname-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Action("exists", "Username", "alice")
	if err != nil || r.Result != "PASS" {
		t.Fatalf("exists through the agent named by host: %v %+v", err, r)
	}
}
