package agentxml_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
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
