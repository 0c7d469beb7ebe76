package agentxml_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"html"
	imgpng "image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// oathEnv is a server over real HTTPS and a real bbolt file, with OATH on
// and a fake clock.
func newOATHEnv(t *testing.T) (*env, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 5, 0, time.UTC))
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithQRPNG(qr.PNG)}, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
	if err := e.svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func appCode(t *testing.T, p oathkey.Parsed, at time.Time) string {
	t.Helper()
	c, err := p.TOTP(at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func login(t *testing.T, e *env, user, code string) string {
	t.Helper()
	res, errCode, err := e.agent.Login(user, code)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(res + " " + errCode)
}

// TestOATH_AgentLoginOverHTTPS: issue → the app computes the code → confirm
// → agent login PASS; a replay in the same step FAILs without counting;
// a code from two steps back FAILs; the old strings device works until
// the token is confirmed.
func TestOATH_AgentLoginOverHTTPS(t *testing.T) {
	e, clock := newOATHEnv(t)
	phone := e.provisioned(t, "alice", "9132")
	is, err := e.svc.IssueOATH("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := oathkey.Parse(is.URI)
	if err != nil {
		t.Fatal(err)
	}
	// Pending: the phone's strings still log in.
	code, _ := phone.OTC("9132")
	if got := login(t, e, "alice", code); got != "PASS" {
		t.Fatalf("old device while the token is pending: %s", got)
	}
	if err := e.svc.ConfirmOATH("alice", appCode(t, app, clock.Now())); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	code, _ = phone.OTC("9132")
	if got := login(t, e, "alice", code); got != "FAIL" {
		t.Fatalf("old device after confirmation: %s", got)
	}
	u, _ := e.svc.User("alice")
	failuresBefore := u.Failures

	clock.Advance(30 * time.Second)
	now := appCode(t, app, clock.Now())
	if got := login(t, e, "alice", now); got != "PASS" {
		t.Fatalf("agent login with the app's code: %s", got)
	}
	if got := login(t, e, "alice", now); got != "FAIL" {
		t.Fatalf("replay in the same step: %s", got)
	}
	if u, _ := e.svc.User("alice"); u.Failures != 0 {
		t.Errorf("failures after a replay = %d (before: %d), want 0", u.Failures, failuresBefore)
	}
	clock.Advance(30 * time.Second)
	if got := login(t, e, "alice", appCode(t, app, clock.Now().Add(-60*time.Second))); got != "FAIL" {
		t.Fatalf("code from two steps back: %s", got)
	}
	if u, _ := e.svc.User("alice"); u.Failures != 1 {
		t.Errorf("failures after a wrong code = %d, want 1", u.Failures)
	}
	if got := login(t, e, "alice", appCode(t, app, clock.Now())); got != "PASS" {
		t.Fatalf("login in the next step: %s", got)
	}
	wantLog(t, e.svc, `OATH token for user "alice" confirmed in the console; the previous device was revoked.`,
		"Login failed for user: alice, error: OATH code already used (replay; not counted as a failure)")
}

// TestOATH_OathSyncOverHTTPS recovers a token whose phone clock is five
// steps slow.
func TestOATH_OathSyncOverHTTPS(t *testing.T) {
	e, clock := newOATHEnv(t)
	storetest.MustAddUser(t, e.svc, "bob", "2468")
	is, err := e.svc.IssueOATH("bob", core.OATHOptions{Digits: 8, Algorithm: "SHA256"})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := oathkey.Parse(is.URI)
	if err := e.svc.ConfirmOATH("bob", appCode(t, app, clock.Now())); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	slow := func() time.Time { return clock.Now().Add(-5 * 30 * time.Second) }
	if got := login(t, e, "bob", appCode(t, app, slow())); got != "FAIL" {
		t.Fatalf("drifted code: %s", got)
	}
	// The user reads two codes, 30 s apart.
	c1 := appCode(t, app, slow())
	clock.Advance(30 * time.Second)
	c2 := appCode(t, app, slow())
	r, err := e.agent.Action("oathsync", "Username", "bob", "OTC", c1, "NextOTC", c2)
	if err != nil || !r.Pass() {
		t.Fatalf("oathsync: %v %+v", err, r)
	}
	clock.Advance(30 * time.Second)
	if got := login(t, e, "bob", appCode(t, app, slow())); got != "PASS" {
		t.Fatalf("login after oathsync: %s", got)
	}
	// The comma form, with codes that are not consecutive: a bare FAIL.
	r, err = e.agent.Action("oathsync", "Username", "bob", "OTC", c1+","+c1)
	if err != nil || r.Pass() || r.Error != "" {
		t.Fatalf("oathsync with a bad pair: %v %+v", err, r)
	}
}

func TestOATH_ServerDetailsFlag(t *testing.T) {
	e, _ := newOATHEnv(t)
	for _, on := range []string{"yes", "no"} {
		if err := e.svc.SetSetting("oath.enabled", on); err != nil {
			t.Fatal(err)
		}
		_, _, body, err := e.agent.Get("/ssdserver/getServerDetails?id=office-1")
		if err != nil {
			t.Fatal(err)
		}
		want := "<oath>" + strings.ToUpper(on) + "</oath>"
		if !strings.Contains(string(body), want) {
			t.Errorf("oath.enabled %s: %s lacks %s", on, body, want)
		}
	}
}

// TestOATH_AdminReadAndUpdate: Read shows the token kind and state;
// Update with a Token mails a Provision URL and never the secret.
func TestOATH_AdminReadAndUpdate(t *testing.T) {
	e, clock := newOATHEnv(t)
	if err := e.svc.PutAgent(core.Agent{Name: "local", Host: "127.0.0.1", Secret: "local-secret-1234", Repository: true, Helpdesk: true}); err != nil {
		t.Fatal(err)
	}
	ac, err := agentxmltest.NewAdminClient(e.srv.URL(), e.fp, "local-secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	is, err := e.svc.IssueOATH("alice", core.OATHOptions{Kind: core.OATHHOTP})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ac.Helpdesk(`<Read><User name="alice"/></Read>`)
	if err != nil {
		t.Fatal(err)
	}
	tok := r.Op("Read", 0).User("alice").Token
	if tok == nil || tok.Kind != "hotp" || tok.State != "pending" || tok.Expires != clock.Now().Add(600*time.Second).UTC().Format(time.RFC3339) {
		t.Fatalf("Read token = %+v", tok)
	}
	app, _ := oathkey.Parse(is.URI)
	secret, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(app.Secret)
	if strings.Contains(string(r.Body), app.Secret) || strings.Contains(string(r.Body), string(secret)) {
		t.Fatal("the Read reply carries the secret")
	}
	c, _ := app.HOTP(0)
	if got := login(t, e, "alice", c); got != "PASS" {
		t.Fatalf("first login confirms: %s", got)
	}
	r, _ = ac.Helpdesk(`<Read><User name="alice"/></Read>`)
	if tok := r.Op("Read", 0).User("alice").Token; tok == nil || tok.State != "confirmed" || tok.Kind != "hotp" {
		t.Fatalf("Read after confirmation = %+v", tok)
	}
	r, err = ac.Helpdesk(`<Update><User name="alice"><Token kind="totp" digits="8"/></User></Update>`)
	if err != nil || !r.Op("Update", 0).User("alice").Pass() {
		t.Fatalf("Update with a Token: %v %s", err, r.Body)
	}
	out, _ := e.svc.Outbox()
	m := out[len(out)-1]
	if m.URL == "" || strings.Contains(m.URL+m.Text, "otpauth") {
		t.Errorf("the OATH mail = %+v", m)
	}
	r, _ = ac.Helpdesk(`<Update><User name="alice"><Token kind="ocra"/></User></Update>`)
	if u := r.Op("Update", 0).User("alice"); u.Pass() || u.Error != "ADMIN_ERROR_INVALID" {
		t.Errorf("a bad Token kind: %+v", u)
	}
}

// TestOATH_WebSetUpRevealsOnce: "Send by email" for OATH mails the usual
// Provision URL; opening it spends nothing; the page's button reveals the
// otpauth QR code and link once; the app's code then logs in.
func TestOATH_WebSetUpRevealsOnce(t *testing.T) {
	e, clock := newOATHEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.svc.Outbox()
	m := out[len(out)-1]
	if m.URL != ic.URL || !strings.Contains(m.URL, "kind=oath") || strings.Contains(m.Text+m.URL, "otpauth") {
		t.Fatalf("mail: URL %q", m.URL)
	}
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	page := strings.Replace(ic.URL, "https://127.0.0.1:8443", e.srv.URL(), 1)
	page = e.srv.URL() + page[strings.Index(page, "/userportal/"):]
	for i := 0; i < 2; i++ { // a mail scanner, then the user
		resp, err := hc.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `action="/userportal/oath"`) || strings.Contains(string(body), "otpauth") {
			t.Fatalf("GET %d: %s", resp.StatusCode, body)
		}
		// Its one script by hash, and no <base> that could send the
		// form elsewhere.
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "base-uri 'none'") {
			t.Errorf("set-up page CSP = %q", csp)
		}
	}
	form := url.Values{"username": {"alice"}, "code": {ic.Code}}
	resp, err := hc.PostForm(e.srv.URL()+"/userportal/oath", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("redeem: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	href := regexp.MustCompile(`href="(otpauth://[^"]+)"`).FindStringSubmatch(string(body))
	img := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(string(body))
	if href == nil || img == nil {
		t.Fatalf("the page lacks the link or the QR:\n%s", body)
	}
	uri := html.UnescapeString(href[1])
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(img[1]))
	if err != nil {
		t.Fatal(err)
	}
	qrImg, err := imgpng.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	if got := qrtest.MustDecode(t, qrImg); got != uri {
		t.Fatalf("the QR holds %q, the link %q", got, uri)
	}
	app, err := oathkey.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	// Once only.
	resp, err = hc.PostForm(e.srv.URL()+"/userportal/oath", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || strings.Contains(string(body), "otpauth") {
		t.Fatalf("second redeem: %d %s", resp.StatusCode, body)
	}
	if got := login(t, e, "alice", appCode(t, app, clock.Now())); got != "PASS" {
		t.Fatalf("first login with the app: %s", got)
	}
	// An unknown user costs no durable write: it is counted in memory.
	before, _ := e.svc.LogTail(1000)
	resp, err = hc.PostForm(e.srv.URL()+"/userportal/oath", url.Values{"username": {"nobody"}, "code": {"ABCD2345"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	after, _ := e.svc.LogTail(1000)
	if resp.StatusCode != 403 || len(after) != len(before) {
		t.Errorf("unknown user: %d, log %d → %d entries", resp.StatusCode, len(before), len(after))
	}
	if err := e.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	// The second redeem above (the code already spent) counts too.
	wantLog(t, e.svc, "2 refused requests from 127.0.0.1 in the last minute: authenticator set-up for an unknown user or without a pending code")
}

// TestOATH_SetUpPostLimited: anyone can post to the set-up page, so it
// shares the per-source limit of provision attempts: past the burst, 429
// with nothing written and the pending code intact for the user.
func TestOATH_SetUpPostLimited(t *testing.T) {
	limits := agentxmltest.NoLimits()
	limits.Provision = agentxml.Rate{PerSecond: 0.01, Burst: 3}
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits), agentxmltest.WithQRPNG(qr.PNG)}, core.WithOATHKeys(oathkey.Keys{}))
	if err := s.svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, s.svc, "alice", "9132")
	ic, err := s.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stranger, phone := clientFrom(t, s.fp, "127.0.0.1"), clientFrom(t, s.fp, "127.0.0.2")
	post := func(hc *http.Client, code string) (int, string) {
		t.Helper()
		resp, err := hc.PostForm(s.srv.URL()+"/userportal/oath", url.Values{"username": {"alice"}, "code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	logs := countLog(t, s.svc)
	for i := 0; i < 3; i++ {
		if st, body := post(stranger, "WRONG234"); st != http.StatusForbidden {
			t.Fatalf("wrong code %d: HTTP %d %s", i+1, st, body)
		}
	}
	if st, body := post(stranger, "WRONG234"); st != http.StatusTooManyRequests || !strings.Contains(body, `<p id="message">Too many requests from this address`) {
		t.Fatalf("past the burst: HTTP %d %s", st, body)
	}
	if n := countLog(t, s.svc) - logs; n != 0 {
		t.Errorf("a stranger's wrong codes wrote %d log lines", n)
	}
	if st, body := post(phone, ic.Code); st != http.StatusOK || !strings.Contains(body, "otpauth://") {
		t.Fatalf("the user's right code after a stranger's wrong ones: HTTP %d %s", st, body)
	}
}

// TestOATH_OtherKindOfCodeWritesNothing: a right code of the other kind
// (an authenticator set-up code sent as a phone's provision, a
// mobile-client code on the set-up page) is refused without being spent,
// so it could be sent again and again: each refusal is counted in memory,
// never written, and the code still works where it belongs.
func TestOATH_OtherKindOfCodeWritesNothing(t *testing.T) {
	st := &storetest.Faulty{Store: storetest.MustOpen(t)}
	svc := storetest.MustServiceOn(t, st, core.WithOATHKeys(oathkey.Keys{}))
	for k, v := range map[string]string{"oath.enabled": "yes", "server.siteid": "office-1"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithQRPNG(qr.PNG))
	storetest.MustAddUser(t, svc, "alice", "9132")
	storetest.MustAddUser(t, svc, "bob", "2468")
	oathCode, err := svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mobileCode, err := svc.CreateProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	hc, err := agentxmltest.PinnedClient(fp)
	if err != nil {
		t.Fatal(err)
	}
	_, _, wrongReply := rawPost(t, hc, srv.URL()+"/proxy/AgentXML", provisionRequest("nobody", "WRONG234"))
	writes := st.Writes.Load()
	for i := 0; i < 3; i++ {
		status, _, body := rawPost(t, hc, srv.URL()+"/proxy/AgentXML", provisionRequest("alice", oathCode.Code))
		if status != http.StatusOK || !bytes.Equal(body, wrongReply) {
			t.Fatalf("provision with the set-up code %d: HTTP %d\n%s\nwant a wrong code's reply:\n%s", i+1, status, body, wrongReply)
		}
		resp, err := hc.PostForm(srv.URL()+"/userportal/oath", url.Values{"username": {"bob"}, "code": {mobileCode.Code}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "This link sets up the mobile client, not an authenticator app.") {
			t.Fatalf("set-up with the mobile-client code %d: HTTP %d %s", i+1, resp.StatusCode, b)
		}
	}
	if n := st.Writes.Load() - writes; n != 0 {
		t.Errorf("six refusals of right codes of the other kind cost %d writes", n)
	}
	wantRefused(t, svc,
		`provision attempt with the authenticator set-up code of user "alice", which still works on its set-up page`,
		`authenticator set-up with the mobile-client code of user "bob", which still works in the mobile client`)

	// Each code still works where it belongs.
	resp, err := hc.PostForm(srv.URL()+"/userportal/oath", url.Values{"username": {"alice"}, "code": {oathCode.Code}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "otpauth://") {
		t.Errorf("alice's set-up afterwards: HTTP %d", resp.StatusCode)
	}
	if status, _, body := rawPost(t, hc, srv.URL()+"/proxy/AgentXML", provisionRequest("bob", mobileCode.Code)); status != http.StatusOK || !bytes.Contains(body, []byte("<Result>PASS</Result>")) {
		t.Errorf("bob's provision afterwards: HTTP %d\n%s", status, body)
	}
}
