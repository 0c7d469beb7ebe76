package agentxml_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr"
	"provisio/core/store/storetest"
)

// TestOATH_SetUpRefusesCrossSitePosts: the authenticator set-up form
// posts to its own server, so a POST a browser marks as coming from
// another site (Sec-Fetch-Site, or an Origin of another host) is
// refused, as the web client refuses its own cross-site POSTs: another
// site's page must not make a visitor's browser on the LAN spend, or
// guess at, anyone's set-up code. The refusal spends nothing, is
// counted against the set-up's per-address limit, and the code still
// works from the page itself and from a client that says nothing about
// where it comes from.
func TestOATH_SetUpRefusesCrossSitePosts(t *testing.T) {
	limits := agentxmltest.NoLimits()
	limits.Provision = agentxml.Rate{PerSecond: 0.001, Burst: 3}
	s := newSurface(t, []agentxmltest.Option{agentxmltest.WithLimits(limits), agentxmltest.WithQRPNG(qr.PNG)}, core.WithOATHKeys(oathkey.Keys{}))
	if err := s.svc.SetSetting("oath.enabled", "yes"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, s.svc, "alice", "9132")
	ic, err := s.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(hc *http.Client, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.srv.URL()+"/userportal/oath",
			strings.NewReader(url.Values{"username": {"alice"}, "code": {ic.Code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	browser := clientFrom(t, s.fp, "127.0.0.3")
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site"},
	} {
		if st, body := post(browser, h); st != http.StatusForbidden || strings.Contains(body, "otpauth://") {
			t.Fatalf("a POST with %v = HTTP %d %s, want 403", h, st, body)
		}
	}
	if st, body := post(browser, map[string]string{"Sec-Fetch-Site": "cross-site"}); st != http.StatusTooManyRequests {
		t.Errorf("the 4th refused POST from one address = HTTP %d %s, want 429", st, body)
	}
	if pend, err := s.svc.PendingCodes(); err != nil || pend["alice"].IsZero() {
		t.Fatalf("alice's code after cross-site POSTs: %v %v", pend, err)
	}
	// The page's own POST (same-origin) sets the authenticator up.
	if st, body := post(clientFrom(t, s.fp, "127.0.0.4"), map[string]string{"Sec-Fetch-Site": "same-origin"}); st != http.StatusOK || !strings.Contains(body, "otpauth://") {
		t.Fatalf("the page's own POST: HTTP %d %s", st, body)
	}
}
