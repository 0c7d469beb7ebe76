package agentxml_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

type serverDetails struct {
	ResponseCode string `xml:"responseCode"`
	Hostname     string `xml:"SSDetails>hostname"`
	Port         string `xml:"SSDetails>port"`
	UsingSSL     string `xml:"SSDetails>usingSSL"`
	Connection   string `xml:"SSDetails>connectionType"`
	Push         string `xml:"SSDetails>pushSupport"`
	Local        string `xml:"SSDetails>local"`
	PIN          string `xml:"SSDetails>pin"`
	OATH         string `xml:"SSDetails>oath"`
}

func TestServer_GetServerDetails(t *testing.T) {
	e := newEnv(t)
	port := e.svc.Settings().ListenPort()
	tests := []struct {
		id   string
		want serverDetails
	}{
		{"office-1", serverDetails{"0", "127.0.0.1", port, "YES", "proxy", "NO", "YES", "YES", "NO"}},
		{"OFFICE-1", serverDetails{"0", "127.0.0.1", port, "YES", "proxy", "NO", "YES", "YES", "NO"}},
		{"elsewhere", serverDetails{ResponseCode: "1"}},
		{"", serverDetails{ResponseCode: "1"}},
	}
	for _, tc := range tests {
		st, ct, body, err := e.agent.Get("/ssdserver/getServerDetails?id=" + url.QueryEscape(tc.id))
		if err != nil {
			t.Fatal(err)
		}
		if st != http.StatusOK || ct != wantCT {
			t.Errorf("id %q: status %d, Content-Type %q", tc.id, st, ct)
		}
		var got serverDetails
		if err := xml.Unmarshal(body, &got); err != nil {
			t.Fatalf("id %q: %v\n%s", tc.id, err, body)
		}
		if got != tc.want {
			t.Errorf("id %q: got %+v, want %+v", tc.id, got, tc.want)
		}
	}
	// The port follows the setting; the console changes it and restarts.
	if port == "8443" {
		t.Error("MustServer did not point server.listen at the test port")
	}
}

func TestServer_TokenIndex(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "dave", "1234") // no strings yet
	m := e.provisioned(t, "alice", "1234")
	index := func(path string) (int, string) {
		t.Helper()
		st, ct, body, err := e.agent.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		if ct != "text/plain; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		return st, string(body)
	}
	// Off by default: the lookup exists for clients that sync.
	if st, body := index("/proxy/TokenIndex?username=alice"); st != 404 || !strings.Contains(body, "Sync Index is off") {
		t.Errorf("with Sync Index off: %d %q", st, body)
	}
	if err := e.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		c, _ := m.OTC("1234")
		if res, _, err := e.agent.Login("alice", c); err != nil || res != "PASS" {
			t.Fatalf("login: %s %v", res, err)
		}
		if _, body := index("/proxy/TokenIndex?username=alice"); body != fmt.Sprint(want) {
			t.Errorf("after %d logins TokenIndex = %q", want, body)
		}
	}
	tests := []struct {
		path     string
		wantBody string
	}{
		{"/proxy/TokenIndex?username=alice", "3"},
		{"/pinsafe/TokenIndex?username=ALICE", "3"},
		{"/sentry/TokenIndex?username=alice&id=" + m.DeviceID(), "3"},
		// Neutral: unknown and unprovisioned users answer like index 0.
		{"/proxy/TokenIndex?username=nobody", "0"},
		{"/proxy/TokenIndex?username=dave", "0"},
		{"/proxy/TokenIndex", "0"},
	}
	for _, tc := range tests {
		if st, body := index(tc.path); st != 200 || body != tc.wantBody {
			t.Errorf("%s = %d %q, want 200 %q", tc.path, st, body, tc.wantBody)
		}
	}
	// A client that syncs its index lands on the same string.
	if err := m.SyncIndex(); err != nil {
		t.Fatal(err)
	}
	if _, i := m.OTC("1234"); i != 3 {
		t.Errorf("synced index = %d, want 3", i)
	}
	// No lookup writes a log line of its own.
	entries, _ := e.svc.LogTail(50)
	for _, le := range entries {
		if strings.Contains(le.Message, "oken index") {
			t.Errorf("log line for a token index request: %q", le.Message)
		}
	}
}

// fakePNG returns an encoder that records its input and draws a blank
// image of the requested size.
func fakePNG(got *[]string) func(string, int) ([]byte, error) {
	return func(text string, size int) ([]byte, error) {
		if got != nil {
			*got = append(*got, fmt.Sprintf("%d %s", size, text))
		}
		var b bytes.Buffer
		err := png.Encode(&b, image.NewGray(image.Rect(0, 0, size, size)))
		return b.Bytes(), err
	}
}

func TestServer_QRCode(t *testing.T) {
	var got []string
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithQRPNG(fakePNG(&got))})
	text := e.svc.ProvisionURL("alice", "ABCD2345")
	tests := []struct {
		query      string
		wantStatus int
		wantCall   string
	}{
		{"text=" + url.QueryEscape(text), 200, "256 " + text},
		{"size=4000&text=" + url.QueryEscape(text), 200, "512 " + text},
		{"size=1&text=" + url.QueryEscape(text), 200, "64 " + text},
		// The same image again comes from the cache.
		{"size=1&text=" + url.QueryEscape(text), 200, ""},
		{"text=hello", 400, ""},
		{"text=" + url.QueryEscape("https://evil.example/userportal/provision?siteid=office-1&username=alice&code=ABCD2345"), 400, ""},
		{"text=", 400, ""},
		{"text=" + strings.Repeat("a", 2049), 400, ""},
		{"allow", 0, ""}, // turns on agentxml.qr_any_text
		{"size=100&text=hello", 200, "100 hello"},
	}
	for _, tc := range tests {
		if tc.query == "allow" {
			if err := e.svc.SetSetting("agentxml.qr_any_text", "Yes"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got = nil
		st, ct, body, err := e.agent.Get("/userportal/getQRCode?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if st != tc.wantStatus {
			t.Errorf("%.40s: status %d, want %d", tc.query, st, tc.wantStatus)
		}
		if st == 200 {
			if ct != "image/png" {
				t.Errorf("Content-Type %q", ct)
			}
			if _, err := png.Decode(bytes.NewReader(body)); err != nil {
				t.Errorf("not a PNG: %v", err)
			}
		}
		if tc.wantCall == "" && len(got) != 0 {
			t.Errorf("%.40s: encoder called with %q, want no call", tc.query, got)
		}
		if tc.wantCall != "" && (len(got) != 1 || got[0] != tc.wantCall) {
			t.Errorf("%.40s: encoder called with %q, want %q", tc.query, got, tc.wantCall)
		}
	}

	// Without an encoder the endpoint says it is unavailable.
	plain := newEnv(t)
	if st, _, _, _ := plain.agent.Get("/userportal/getQRCode?text=x"); st != http.StatusServiceUnavailable {
		t.Errorf("no encoder: status %d, want 503", st)
	}
	// An encoder failure is a counted 500, not a crash.
	failing := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithQRPNG(func(string, int) ([]byte, error) {
		return nil, errors.New("boom")
	})})
	if err := failing.svc.SetSetting("agentxml.qr_any_text", "Yes"); err != nil {
		t.Fatal(err)
	}
	if st, _, _, _ := failing.agent.Get("/userportal/getQRCode?text=x"); st != http.StatusInternalServerError {
		t.Errorf("failing encoder: status %d, want 500", st)
	}
	wantRefused(t, failing.svc, "QR code could not be made")
}

func TestServer_AdminXML(t *testing.T) {
	e := newEnv(t)
	body := `<AdminRequest secret="` + agentSecret + `" version="3.6"><Read><User name="alice"/></Read></AdminRequest>`
	for _, path := range []string{"/pinsafe/AdminXML", "/sentry/AdminXML"} {
		resp, err := e.agent.HTTP.Post(e.srv.URL()+path, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			XMLName xml.Name `xml:"AdminResponse"`
			Result  string   `xml:"Result"`
			Error   string   `xml:"Read>Error"`
		}
		err = xml.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		// "vpn" cannot act as a repository: the operation is refused.
		if err != nil || resp.StatusCode != 200 || r.Result != "FAIL" || r.Error != "ADMIN_ERROR_NOT_REPOSITORY" {
			t.Errorf("%s: %d %+v %v", path, resp.StatusCode, r, err)
		}
	}
	// The admin API is never reachable through the mobile path.
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		req, _ := http.NewRequest(method, e.srv.URL()+"/proxy/AdminXML", strings.NewReader(body))
		resp, err := e.agent.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s /proxy/AdminXML = %d, want 404", method, resp.StatusCode)
		}
	}
}

func TestServer_PoliciesFollowSettings(t *testing.T) {
	e := newEnv(t)
	m := e.provisioned(t, "alice", "1234")
	policies := func() map[string]string {
		out := map[string]string{}
		for _, p := range m.Policies() {
			if p.Section != "MobileClient" || p.Show != "true" {
				t.Errorf("policy %s: section %q show %q", p.ID, p.Section, p.Show)
			}
			out[p.ID] = p.Value
		}
		return out
	}
	want := map[string]string{"allowPinEntry": "OFF", "allowChooseExtraction": "OFF", "allowBrowseStrings": "OFF",
		"provisionNumeric": "OFF", "syncIndex": "OFF", "supportEmail": "", "supportPhone": "", "vpnUrlScheme": "",
		// The Default profile's options (#14).
		"logging": "OFF", "readOnlySettings": "OFF", "pinMode": "OPTIONAL", "pinCacheTimeout": "300",
		"pinMaxRetries": "5", "pinLockTime": "300", "mutualAuth": "OFF", "certPinning": "OFF"}
	if got := policies(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("default policies = %v, want %v", got, want)
	}
	for k, v := range map[string]string{
		"policy.mobile.sync_index":      "yes",
		"policy.mobile.allow_pin_entry": "yes",
		"policy.mobile.support_email":   "help@example.org",
		"policy.mobile.support_phone":   "+44 20 7946 0000",
		"policy.mobile.vpn_url_scheme":  "citrixreceiver://",
	} {
		if err := e.svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	want["syncIndex"], want["allowPinEntry"] = "ON", "ON"
	want["supportEmail"], want["supportPhone"], want["vpnUrlScheme"] = "help@example.org", "+44 20 7946 0000", "citrixreceiver://"
	if got := policies(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("policies after change = %v, want %v", got, want)
	}
}

func TestServer_OpenAndClose(t *testing.T) {
	svc := storetest.MustService(t)
	srv, fp := agentxmltest.MustServer(t, svc)

	// A port in use is an error from Open, not a lost log line.
	cert, _, err := agentxmltest.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	other := agentxml.New(svc, agentxml.Options{Certificate: cert})
	if err := other.Open(srv.Addr().String()); err == nil {
		other.Close()
		t.Fatal("Open on a port in use succeeded")
	}
	if err := srv.Open("127.0.0.1:0"); err == nil {
		t.Error("second Open of an open server succeeded")
	}
	if err := agentxml.New(svc, agentxml.Options{}).Open("127.0.0.1:0"); err == nil {
		t.Error("Open without a certificate succeeded")
	}

	// The legacy plain HTTP listener serves the same API.
	if err := srv.OpenHTTP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	plainURL := "http://" + srv.HTTPAddr().String()
	resp, err := http.Post(plainURL+"/pinsafe/AgentXML", "text/xml", strings.NewReader(agentxmltest.SASRequest("Version", "3.6", "Action", "ping")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := agentxmltest.ReadResponse(resp)
	if err != nil || !r.Pass() {
		t.Fatalf("ping over plain HTTP: %v %+v", err, r)
	}
	ac, _ := agentxmltest.NewAgentClient(srv.URL(), fp, "")
	if r, err := ac.Action("ping"); err != nil || !r.Pass() {
		t.Fatalf("ping over HTTPS: %v %+v", err, r)
	}

	// A client pinned to another certificate refuses the server.
	_, otherFP, _ := agentxmltest.SelfSignedCert()
	wrong, _ := agentxmltest.NewAgentClient(srv.URL(), otherFP, "")
	if _, err := wrong.Action("ping"); !errors.Is(err, agentxmltest.ErrFingerprint) {
		t.Errorf("wrong pin: err = %v, want ErrFingerprint", err)
	}

	tlsAddr, httpAddr := srv.Addr().String(), srv.HTTPAddr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{tlsAddr, httpAddr} {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
	if srv.Addr() != nil || srv.URL() != "" {
		t.Error("closed server still reports an address")
	}
	// It can be opened again, as after a settings change.
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
}

func TestServer_Handler(t *testing.T) {
	// Handler serves without a listener, for embedding and tests.
	svc := storetest.MustService(t)
	h := agentxml.New(svc, agentxml.Options{}).Handler()
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/pinsafe/AgentXML", strings.NewReader(`<SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`))
	req.RemoteAddr = "192.0.2.1:1234"
	h.ServeHTTP(rec, req)
	if rec.status != 200 || rec.header.Get("Content-Type") != wantCT || !strings.Contains(rec.body.String(), "<Result>PASS</Result>") {
		t.Errorf("ping via Handler: %d %v %s", rec.status, rec.header, rec.body.String())
	}
	if rec.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", rec.header.Get("Cache-Control"))
	}
}

// recorder is a minimal ResponseWriter that also checks that headers are
// complete before the body starts.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(p)
}
