package agentxml_test

import (
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// TestOATH_HelpdeskResyncsHOTPOverHTTPS: a counter-based token whose
// button was pressed far beyond the look-ahead (a child playing with the
// phone) is resynchronised by the helpdesk's OathSync with two
// consecutive codes from the app, over real HTTPS; the codes, computed
// by pquerna/otp as the app does, then log in once each, and the pair
// used for the resync is spent.
func TestOATH_HelpdeskResyncsHOTPOverHTTPS(t *testing.T) {
	e, _ := newOATHEnv(t)
	storetest.MustAddUser(t, e.svc, "hank", "2468")
	if err := e.svc.PutAgent(core.Agent{Name: "helpdesk", Host: "127.0.0.1", Secret: helpdeskSecret, Helpdesk: true}); err != nil {
		t.Fatal(err)
	}
	is, err := e.svc.IssueOATH("hank", core.OATHOptions{Kind: core.OATHHOTP})
	if err != nil {
		t.Fatal(err)
	}
	app, err := oathkey.Parse(is.URI)
	if err != nil {
		t.Fatal(err)
	}
	code := func(counter uint64) string {
		t.Helper()
		c, err := hotp.GenerateCodeCustom(app.Secret, counter, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := e.svc.ConfirmOATH("hank", code(0)); err != nil {
		t.Fatal(err)
	}
	admin, err := agentxmltest.NewAdminClient(e.srv.URL(), e.fp, helpdeskSecret)
	if err != nil {
		t.Fatal(err)
	}
	login := func(c string) string {
		t.Helper()
		res, _, err := e.agent.Login("hank", c)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := login(code(60)); got != "FAIL" {
		t.Fatalf("a code 60 presses ahead: %s", got)
	}
	r, err := admin.Helpdesk(`<OathSync><User name="hank"><OTC>` + code(60) + `</OTC><NextOTC>` + code(61) + `</NextOTC></User></OathSync>`)
	if err != nil {
		t.Fatal(err)
	}
	if u := r.Ops[0].User("hank"); u == nil || !u.Pass() {
		t.Fatalf("helpdesk OathSync:\n%s", r.Body)
	}
	for _, tt := range []struct {
		counter uint64
		want    string
	}{{61, "FAIL"}, {62, "PASS"}, {62, "FAIL"}, {63, "PASS"}} {
		if got := login(code(tt.counter)); got != tt.want {
			t.Errorf("counter %d after the resync: %s, want %s", tt.counter, got, tt.want)
		}
	}
}

// TestOATH_SetUpPageNamesTheAlgorithm: the set-up page told a person who
// types the key by hand the type and digits but not the algorithm, so a
// SHA256 token typed into an app (which starts at SHA1) never worked.
func TestOATH_SetUpPageNamesTheAlgorithm(t *testing.T) {
	e, _ := newOATHEnv(t)
	storetest.MustAddUser(t, e.svc, "ola", "2468")
	ic, err := e.svc.MailOATHProvisionCode("ola", core.OATHOptions{Algorithm: core.OATHSHA256, Digits: 8})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.PostForm(e.srv.URL()+"/userportal/oath", url.Values{"username": {"ola"}, "code": {ic.Code}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "type this key into the app (TOTP, SHA256, 8 digits, 30 s)") {
		t.Errorf("the page does not say how to type the key: %d\n%s", resp.StatusCode, body)
	}
}
