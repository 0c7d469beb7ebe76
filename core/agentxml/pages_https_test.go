package agentxml_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// TestServer_PlainHTTPRefusesCodesAndSecrets: the optional plain HTTP
// listener (server.http_listen) is for legacy agents. Every route that
// carries a provision code, an OATH secret or a device Id answers 403
// with one sentence there and spends nothing; the agents' routes and the
// Site ID lookup are still served.
func TestServer_PlainHTTPRefusesCodesAndSecrets(t *testing.T) {
	e, _ := newOATHEnv(t)
	if err := e.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	oathCode, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, e.svc, "bob", "2468")
	bobCode, err := e.svc.CreateProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.OpenHTTP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	plain := "http://" + e.srv.HTTPAddr().String()
	do := func(method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, plain+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := "application/x-www-form-urlencoded"
	refused := []struct{ name, method, path, ctype, body string }{
		{"OATH set-up (reveals the secret)", "POST", "/userportal/oath", form,
			url.Values{"username": {"alice"}, "code": {oathCode.Code}}.Encode()},
		{"Provision URL page (shows the code)", "GET", "/userportal/provision?" +
			url.Values{"username": {"bob"}, "code": {bobCode.Code}}.Encode(), "", ""},
		{"QR code of a Provision URL", "GET", "/userportal/getQRCode?" +
			url.Values{"text": {e.svc.ProvisionURL("bob", bobCode.Code)}}.Encode(), "", ""},
		{"provision on /proxy", "POST", "/proxy/AgentXML", "text/xml", agentxmltest.SASRequest(
			"Version", "3.6", "Action", "provision", "Username", "bob", "ProvisionCode", bobCode.Code)},
		{"TokenIndex with a device Id", "GET", "/proxy/TokenIndex?username=bob&id=0123456789abcdef0123456789abcdef", "", ""},
		{"TokenIndex on /pinsafe", "GET", "/pinsafe/TokenIndex?username=bob", "", ""},
	}
	for _, tc := range refused {
		st, body := do(tc.method, tc.path, tc.ctype, tc.body)
		if st != http.StatusForbidden || body != agentxml.PlainHTTPRefused+"\n" {
			t.Errorf("%s over plain HTTP = %d %.80q, want 403 %q", tc.name, st, body, agentxml.PlainHTTPRefused)
		}
		if strings.Contains(body, "otpauth") || strings.Contains(body, bobCode.Code) {
			t.Errorf("%s over plain HTTP answered a secret", tc.name)
		}
	}
	if pend, _ := e.svc.PendingCodes(); pend["bob"].IsZero() {
		t.Error("a refused plain HTTP request spent bob's provision code")
	}

	// The agents' routes and the Site ID lookup carry no code of a phone
	// or a person: served as before.
	if st, body := do("POST", "/pinsafe/AgentXML", "text/xml", agentxmltest.SASRequest("Version", "3.6", "Action", "ping")); st != 200 || !strings.Contains(body, "<Result>PASS</Result>") {
		t.Errorf("ping on /pinsafe over plain HTTP = %d %q", st, body)
	}
	if st, body := do("GET", "/ssdserver/getServerDetails?id=office-1", "", ""); st != 200 || !strings.Contains(body, "<responseCode>0</responseCode>") {
		t.Errorf("Site ID lookup over plain HTTP = %d %q", st, body)
	}

	// Over HTTPS the OATH code was not spent by the refused request.
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.PostForm(e.srv.URL()+"/userportal/oath", url.Values{"username": {"alice"}, "code": {oathCode.Code}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "otpauth://") {
		t.Errorf("OATH set-up over HTTPS after the plain HTTP attempt = %d", resp.StatusCode)
	}
}

// TestServer_PlainHTTPRefusalsLimited: a refusal over plain HTTP needs no
// secret, so it is limited per source address like a path nobody serves
// (429 past the burst, nothing written) and counted in memory, which tells
// the administrator that something keeps using http://.
func TestServer_PlainHTTPRefusalsLimited(t *testing.T) {
	limits := agentxmltest.NoLimits()
	limits.NotFound = agentxml.Rate{PerSecond: 0.01, Burst: 3}
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits)})
	if err := s.srv.OpenHTTP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	plain := "http://" + s.srv.HTTPAddr().String()
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		tr := &http.Transport{DialContext: d.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	get := func(hc *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(plain + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	phone, other := from("127.0.0.31"), from("127.0.0.32")
	for i := 0; i < 3; i++ {
		if st, body := get(phone, "/proxy/TokenIndex?username=alice"); st != http.StatusForbidden || body != agentxml.PlainHTTPRefused+"\n" {
			t.Fatalf("request %d within the burst = %d %q", i+1, st, body)
		}
	}
	size, logs := fileSize(t, s.st.Path()), countLog(t, s.svc)
	if st, body := get(phone, "/userportal/provision?username=alice&code=ABCD2345"); st != http.StatusTooManyRequests || !strings.HasPrefix(body, "Too many requests from this address") {
		t.Fatalf("past the burst = %d %q", st, body)
	}
	if fileSize(t, s.st.Path()) != size || countLog(t, s.svc) != logs {
		t.Error("a refusal over plain HTTP wrote to the data file")
	}
	if st, _ := get(other, "/proxy/TokenIndex?username=alice"); st != http.StatusForbidden {
		t.Errorf("another source address = %d, want 403", st)
	}
	// The agents' routes are still served there.
	resp, err := other.Post(plain+"/pinsafe/AgentXML", "text/xml", strings.NewReader(agentxmltest.SASRequest("Version", "3.6", "Action", "ping")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<Result>PASS</Result>") {
		t.Errorf("ping over plain HTTP = %d %q", resp.StatusCode, b)
	}
	if err := s.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s.svc, "3 refused requests from 127.0.0.31 in the last minute: a route that carries codes, secrets or device Ids asked for over plain HTTP",
		"1 refused request from 127.0.0.31 in the last minute: rate limited")
}

// TestServer_PageFieldSentences: a username or code too long to be a
// user's is told so; only a missing one makes the link "incomplete".
func TestServer_PageFieldSentences(t *testing.T) {
	e, _ := newOATHEnv(t)
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 129)
	get := func(q url.Values) (int, string) {
		t.Helper()
		resp, err := hc.Get(e.srv.URL() + "/userportal/provision?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(q url.Values) (int, string) {
		t.Helper()
		resp, err := hc.PostForm(e.srv.URL()+"/userportal/oath", q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name string
		send func(url.Values) (int, string)
		q    url.Values
		want string
	}{
		{"page, long username", get, url.Values{"username": {long}, "code": {"ABCD2345"}}, "This username is too long"},
		{"page, long code", get, url.Values{"username": {"alice"}, "code": {long}}, "This code is too long"},
		{"page, no code", get, url.Values{"username": {"alice"}}, "This provision link is incomplete"},
		{"OATH, long username", post, url.Values{"username": {long}, "code": {"ABCD2345"}}, "This username is too long"},
		{"OATH, no username", post, url.Values{"code": {"ABCD2345"}}, "This set-up link is incomplete"},
	}
	for _, tc := range tests {
		// A page for the phone's browser, the sentence its message.
		if st, body := tc.send(tc.q); st != http.StatusBadRequest || !strings.Contains(body, `<p id="message">`+tc.want) {
			t.Errorf("%s = %d %q, want 400 %q…", tc.name, st, body, tc.want)
		}
	}
}

// TestServer_PageRefusalsArePages: the pages a person opens on a phone
// (the Provision URL page, the authenticator set-up) answer the rate
// limit (429), a full disk (503) and another site's POST (403) with the
// phone-sized refusal page, status and sentence unchanged, and the same
// page for a user who exists and one who does not. Before, these came as
// text/plain, which a phone lays out 980 px wide in type too small to
// read. The AgentXML routes, which machines read, keep their text.
func TestServer_PageRefusalsArePages(t *testing.T) {
	limits := agentxmltest.NoLimits()
	limits.Page = agentxml.Rate{PerSecond: 0.001, Burst: 1}
	limits.Provision = agentxml.Rate{PerSecond: 0.001, Burst: 1}
	limits.TokenIndex = agentxml.Rate{PerSecond: 0.001, Burst: 1}
	var free atomic.Uint64
	free.Store(10 << 30)
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits), agentxmltest.WithQRPNG(qr.PNG)},
		core.WithOATHKeys(oathkey.Keys{}), core.WithFreeSpace(func() (uint64, error) { return free.Load(), nil }))
	for k, v := range map[string]string{"oath.enabled": "yes", "policy.mobile.sync_index": "Yes"} {
		if err := s.svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	storetest.MustAddUser(t, s.svc, "alice", "9132")
	if _, err := s.svc.MailOATHProvisionCode("alice", core.OATHOptions{}); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		status             int
		ctype, retry, body string
	}
	send := func(hc *http.Client, method, path, user string, header map[string]string) answer {
		t.Helper()
		var req *http.Request
		if method == "GET" {
			req, _ = http.NewRequest("GET", s.srv.URL()+path+"?"+url.Values{"username": {user}, "code": {"ABCD2345"}}.Encode(), nil)
		} else {
			req, _ = http.NewRequest("POST", s.srv.URL()+path, strings.NewReader(url.Values{"username": {user}, "code": {"WRONG234"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), string(b)}
	}
	// wantPage checks the refusal of alice and of nobody, who does not
	// exist: the same page, with the sentence as its message.
	wantPage := func(name string, alice, nobody answer, status int, sentence string) {
		t.Helper()
		if alice.status != status || alice.ctype != "text/html; charset=utf-8" || alice.retry == "" ||
			!strings.Contains(alice.body, `<p id="message">`+sentence) {
			t.Errorf("%s = %d %q (Retry-After %q) %q, want %d text/html with %q", name, alice.status, alice.ctype, alice.retry, alice.body, status, sentence)
		}
		if nobody != alice {
			t.Errorf("%s: answers for an existing and a missing user differ:\n%+v\n%+v", name, alice, nobody)
		}
		if strings.Contains(alice.body, "alice") || strings.Contains(alice.body, "ABCD2345") || strings.Contains(alice.body, "WRONG234") {
			t.Errorf("%s: the page repeats the request: %q", name, alice.body)
		}
	}
	// The set-up page's own wording, HTML-escaped as the page has it.
	crossSite := "This request came from another website, so it was refused. Open this server&#39;s page yourself and try again there."
	const tooMany = "Too many requests from this address; try again in 1000 s."

	// The Provision URL page (GET), mobile-client and authenticator codes
	// alike, past its limit.
	hc := clientFrom(t, s.fp, "127.0.0.41")
	if a := send(hc, "GET", "/userportal/provision", "alice", nil); a.status != http.StatusOK {
		t.Fatalf("first page: %d %q", a.status, a.body)
	}
	wantPage("the provision page past its limit",
		send(hc, "GET", "/userportal/provision", "alice", nil), send(hc, "GET", "/userportal/provision", "nobody", nil),
		http.StatusTooManyRequests, tooMany)

	// The set-up POST from another site, then past its limit.
	hc = clientFrom(t, s.fp, "127.0.0.42")
	cross := map[string]string{"Sec-Fetch-Site": "cross-site"}
	a := send(hc, "POST", "/userportal/oath", "alice", cross)
	if a.status != http.StatusForbidden || a.ctype != "text/html; charset=utf-8" || !strings.Contains(a.body, `<p id="message">`+crossSite) {
		t.Errorf("a cross-site set-up POST = %d %q %q, want 403 text/html", a.status, a.ctype, a.body)
	}
	wantPage("a cross-site set-up POST past the limit",
		send(hc, "POST", "/userportal/oath", "alice", cross), send(hc, "POST", "/userportal/oath", "nobody", cross),
		http.StatusTooManyRequests, tooMany)
	hc = clientFrom(t, s.fp, "127.0.0.43")
	if a := send(hc, "POST", "/userportal/oath", "nobody", nil); a.status != http.StatusForbidden {
		t.Fatalf("a wrong set-up code: %d %q", a.status, a.body)
	}
	wantPage("the set-up POST past its limit",
		send(hc, "POST", "/userportal/oath", "alice", nil), send(hc, "POST", "/userportal/oath", "nobody", nil),
		http.StatusTooManyRequests, tooMany)
	// Another site's POST from a fresh address, on a page of its own.
	hc = clientFrom(t, s.fp, "127.0.0.44")
	a, b := send(hc, "POST", "/userportal/oath", "alice", cross), send(clientFrom(t, s.fp, "127.0.0.45"), "POST", "/userportal/oath", "nobody", cross)
	a.retry, b.retry = "-", "-" // a 403 has none
	wantPage("a cross-site set-up POST", a, b, http.StatusForbidden, crossSite)

	// The API keeps its text: TokenIndex past its limit.
	hc = clientFrom(t, s.fp, "127.0.0.46")
	if st, _, body := getText(t, hc, s.srv.URL()+"/proxy/TokenIndex?username=alice"); st != http.StatusOK {
		t.Fatalf("TokenIndex: %d %q", st, body)
	}
	if st, ctype, body := getText(t, hc, s.srv.URL()+"/proxy/TokenIndex?username=alice"); st != http.StatusTooManyRequests || ctype != "text/plain; charset=utf-8" || body != tooMany+"\n" {
		t.Errorf("TokenIndex past its limit = %d %q %q, want 429 text/plain", st, ctype, body)
	}

	// A full disk: the pages refuse with a page, the API with text.
	free.Store(20 << 20)
	s.svc.CheckFreeSpace()
	const short = "The server is short of disk space and takes no new requests of this kind; logins still work. Try again later."
	hc = clientFrom(t, s.fp, "127.0.0.47")
	wantPage("the provision page while the disk is full",
		send(hc, "GET", "/userportal/provision", "alice", nil), send(clientFrom(t, s.fp, "127.0.0.48"), "GET", "/userportal/provision", "nobody", nil),
		http.StatusServiceUnavailable, short)
	wantPage("the set-up POST while the disk is full",
		send(hc, "POST", "/userportal/oath", "alice", nil), send(clientFrom(t, s.fp, "127.0.0.49"), "POST", "/userportal/oath", "nobody", nil),
		http.StatusServiceUnavailable, short)
	if st, ctype, body := getText(t, clientFrom(t, s.fp, "127.0.0.50"), s.srv.URL()+"/proxy/TokenIndex?username=alice"); st != http.StatusServiceUnavailable || ctype != "text/plain; charset=utf-8" || body != short+"\n" {
		t.Errorf("TokenIndex while the disk is full = %d %q %q, want 503 text/plain", st, ctype, body)
	}
	if pend, err := s.svc.PendingCodes(); err != nil || pend["alice"].IsZero() {
		t.Errorf("alice's set-up code after the refusals: %v %v", pend, err)
	}
}

// getText GETs u and answers the status, Content-Type and body.
func getText(t *testing.T, hc *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
