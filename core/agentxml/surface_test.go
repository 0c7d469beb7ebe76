package agentxml_test

import (
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
	// Count those the server holds: a closed one reads EOF at once. One
	// it has not accepted yet waits like a held one: count again until
	// the server has caught up with the dials (it accepts in its own
	// time, slowly on a loaded machine); for 3 s at most, within the 5 s
	// after which the server drops a silent connection it held as well.
	held := 0
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		held = 0
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					held++
				}
			}
		}
		if held <= limits.MaxConnsPerAddr || time.Now().After(deadline) {
			break
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
