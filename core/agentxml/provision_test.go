package agentxml_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// Refused attempts are counted and summarised once a minute per source
// and reason, never logged one by one.
const (
	refusedNoCode  = "1 refused request from 127.0.0.1 in the last minute: provision attempt for an unknown user or one without a pending code"
	refusedExpired = "1 refused request from 127.0.0.1 in the last minute: provision attempt with an expired code"
	refusedWrong   = "refused request from 127.0.0.2 in the last minute: wrong provision code"
)

func TestProvision_Failures(t *testing.T) {
	tests := []struct {
		name string
		// run provisions with whatever phones the case needs and returns
		// the error of the attempt under test.
		run     func(t *testing.T, e *env, clock *storetest.Clock) error
		want    string
		wantLog []string
	}{
		{
			name: "expired",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				m := e.phone(t, "alice")
				clock.Advance(601 * time.Second)
				return m.Provision("iOS")
			},
			want:    "FAIL PROVISION_FAILURE",
			wantLog: []string{refusedExpired},
		},
		{
			name: "just before expiry",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				m := e.phone(t, "alice")
				clock.Advance(599 * time.Second)
				return m.Provision("iOS")
			},
			want:    "PASS",
			wantLog: []string{`User "alice" provisioned successfully`},
		},
		{
			name: "reused",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				ic, err := e.svc.CreateProvisionCode("alice")
				if err != nil {
					t.Fatal(err)
				}
				first, _ := agentxmltest.NewMobileClient(ic.URL, e.fp)
				if err := first.Provision("iOS"); err != nil {
					t.Fatalf("first provision: %v", err)
				}
				second, _ := agentxmltest.NewMobileClient(ic.URL, e.fp)
				return second.Provision("Android")
			},
			want:    "FAIL PROVISION_FAILURE",
			wantLog: []string{`User "alice" provisioned successfully`, refusedNoCode},
		},
		{
			name: "a wrong code from another address does not burn the code",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				right := e.phone(t, "alice")
				_, _, body := rawPost(t, clientFrom(t, e.fp, "127.0.0.2"), right.AgentURL(), provisionRequest("alice", "WRONGCODE"))
				if !strings.Contains(string(body), "<Error>PROVISION_FAILURE</Error>") {
					t.Errorf("wrong code:\n%s", body)
				}
				return right.Provision("iOS")
			},
			want:    "PASS",
			wantLog: []string{refusedWrong, `User "alice" provisioned successfully`},
		},
		{
			name: "no code pending",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				u := core.ProvisionURL("127.0.0.1", e.svc.Settings().ListenPort(), "office-1", "alice", "ABCDEFGH")
				m, err := agentxmltest.NewMobileClient(u, e.fp)
				if err != nil {
					t.Fatal(err)
				}
				return m.Provision("iOS")
			},
			want:    "FAIL PROVISION_FAILURE",
			wantLog: []string{refusedNoCode},
		},
		{
			name: "unknown user answers like a real one",
			run: func(t *testing.T, e *env, clock *storetest.Clock) error {
				u := core.ProvisionURL("127.0.0.1", e.svc.Settings().ListenPort(), "office-1", "ghost", "ABCDEFGH")
				m, err := agentxmltest.NewMobileClient(u, e.fp)
				if err != nil {
					t.Fatal(err)
				}
				return m.Provision("iOS")
			},
			want:    "FAIL PROVISION_FAILURE",
			wantLog: []string{refusedNoCode},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			e := newEnv(t, core.WithClock(clock))
			storetest.MustAddUser(t, e.svc, "alice", "1234")
			if got := failCode(tc.run(t, e, clock)); got != tc.want {
				t.Errorf("provision = %s, want %s", got, tc.want)
			}
			if err := e.svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			wantLog(t, e.svc, tc.wantLog...)
		})
	}
}

// Many phones racing one valid code over HTTPS: exactly one wins.
func TestProvision_Race(t *testing.T) {
	// 50 phones on one loopback address would meet the per-source limits.
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithLimits(agentxmltest.NoLimits())})
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	phones := make([]*agentxmltest.MobileClient, n)
	for i := range phones {
		if phones[i], err = agentxmltest.NewMobileClient(ic.URL, e.fp); err != nil {
			t.Fatal(err)
		}
	}
	results := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, m := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = failCode(m.Provision("iOS"))
		}()
	}
	close(start)
	wg.Wait()
	passes := 0
	winner := -1
	for i, r := range results {
		switch r {
		case "PASS":
			passes++
			winner = i
		case "FAIL PROVISION_FAILURE":
		default:
			t.Errorf("phone %d: %s", i, r)
		}
	}
	if passes != 1 {
		t.Fatalf("%d phones provisioned, want exactly 1", passes)
	}
	u, err := e.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.DeviceID != phones[winner].DeviceID() {
		t.Errorf("stored device %q is not the winner's %q", u.DeviceID, phones[winner].DeviceID())
	}
}

// Opening the Provision URL in a browser (or a mail scanner) shows the
// settings and never spends the code.
func TestProvisionPage_GetDoesNotSpendCode(t *testing.T) {
	e := newEnvWith(t, []agentxmltest.Option{agentxmltest.WithQRPNG(fakePNG(nil))})
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // scanners, previews and the person
		resp, err := e.agent.HTTP.Get(ic.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", ic.URL, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
			t.Errorf("Referrer-Policy = %q", rp)
		}
		page := string(body)
		for _, want := range []string{ic.Code, "alice", "office-1", "127.0.0.1", e.svc.Settings().ListenPort(),
			"proxy", strings.ReplaceAll(e.fp, ":", ":<wbr>"), "/userportal/getQRCode?"} { // <wbr>: wraps between bytes
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	}
	// The code still provisions.
	m, err := agentxmltest.NewMobileClient(ic.URL, e.fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Provision("iOS"); err != nil {
		t.Fatalf("provision after GETs: %v", err)
	}
}

func TestProvisionPage_Escapes(t *testing.T) {
	e := newEnv(t)
	st, _, body, err := e.agent.Get(`/userportal/provision?siteid=x&username=%3Cscript%3Ealert(1)%3C/script%3E&code=ABC`)
	if err != nil {
		t.Fatal(err)
	}
	if st != http.StatusOK || strings.Contains(string(body), "<script>") {
		t.Errorf("status %d, page holds raw script: %v", st, strings.Contains(string(body), "<script>"))
	}
	if st, _, _, _ := e.agent.Get("/userportal/provision?username=alice"); st != http.StatusBadRequest {
		t.Errorf("page without code = %d, want 400", st)
	}
}

// TestProvisionPage_ShowsTheFingerprintServedNow: the page asks
// Options.Fingerprint on every request, so a certificate switched without
// a restart (the reloader behind GetCertificate) is the one it names.
func TestProvisionPage_ShowsTheFingerprintServedNow(t *testing.T) {
	var mu sync.Mutex
	current := "AA:AA"
	e := newEnvWith(t, []agentxmltest.Option{func(o *agentxml.Options) {
		o.Fingerprint = func() string { mu.Lock(); defer mu.Unlock(); return current }
	}})
	page := func() string {
		st, _, body, err := e.agent.Get("/userportal/provision?username=alice&code=ABCD2345")
		if err != nil || st != http.StatusOK {
			t.Fatalf("status %d, %v", st, err)
		}
		return string(body)
	}
	if p := page(); !strings.Contains(p, "AA:<wbr>AA") {
		t.Fatal("the page does not show the fingerprint")
	}
	mu.Lock()
	current = "BB:BB"
	mu.Unlock()
	if p := page(); strings.Contains(p, "AA:<wbr>AA") || !strings.Contains(p, "BB:<wbr>BB") {
		t.Error("after the certificate changed the page does not show the new fingerprint alone")
	}
}

func TestProvisionCode_Action(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	if _, err := e.svc.AddUser(core.User{Name: "carol", Group: "finance", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutAgent(core.Agent{Name: "hr-portal", Host: "127.0.0.0/8", Secret: "hr-portal-secret", Group: "hr"}); err != nil {
		t.Fatal(err)
	}

	// Off by default: only the console creates codes.
	r, err := e.agent.Action("provisioncode", "Username", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != "FAIL" || r.Error != "AGENT_ERROR_GENERAL" {
		t.Errorf("policy off: %s %s, want FAIL AGENT_ERROR_GENERAL", r.Result, r.Error)
	}
	wantLog(t, e.svc, `Provision code request for user "alice" refused: the Self-Reset policy does not allow user self-provision.`)
	if pending, _ := e.svc.PendingCodes(); len(pending) != 0 {
		t.Errorf("codes pending with the policy off: %v", pending)
	}

	if err := e.svc.SetSetting("policy.selfreset.allow_self_provision", "yes"); err != nil {
		t.Fatal(err)
	}
	events, stop := e.svc.Events().Subscribe()
	defer stop()
	r, err = e.agent.Action("provisioncode", "Username", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Pass() {
		t.Fatalf("policy on: %s %s", r.Result, r.Error)
	}
	var issued *core.IssuedCode
	for issued == nil {
		select {
		case ev := <-events:
			if ev.Kind == core.EventCodeCreated {
				issued = ev.Issued
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no code-created event")
		}
	}
	if strings.Contains(string(r.Body), issued.Code) {
		t.Errorf("the provision code is in the reply: %s", r.Body)
	}
	wantLog(t, e.svc, `Provision code created for user "alice"`,
		"Message added to message queue for user: alice, destination: alice@example.org.")
	if out, err := e.svc.Outbox(); err != nil || len(out) != 1 || out[0].Code != issued.Code {
		t.Errorf("outbox after provisioncode: %v, %d messages", err, len(out))
	}

	// A user the code cannot be sent to: GENERAL for the agent, the
	// reason in the log.
	if _, err := e.svc.AddUser(core.User{Name: "erin", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	if r, err = e.agent.Action("provisioncode", "Username", "erin"); err != nil {
		t.Fatal(err)
	}
	if r.Error != "AGENT_ERROR_GENERAL" {
		t.Errorf("no email: %s %s, want AGENT_ERROR_GENERAL", r.Result, r.Error)
	}
	wantLog(t, e.svc, `Provision code request for user "erin" refused: User "erin" has no email address`)

	// A group-restricted agent reaches its members only.
	hr, _ := agentxmltest.NewAgentClient(e.srv.URL(), e.fp, "hr-portal-secret")
	if r, err = hr.Action("provisioncode", "Username", "carol"); err != nil {
		t.Fatal(err)
	}
	if r.Error != "AGENT_ERROR_USER_NOT_IN_GROUP" {
		t.Errorf("other group: %s %s, want AGENT_ERROR_USER_NOT_IN_GROUP", r.Result, r.Error)
	}
	if r, err = e.agent.Action("provisioncode", "Username", "nobody"); err != nil {
		t.Fatal(err)
	}
	if r.Error != "AGENT_ERROR_NO_USER_FOUND" {
		t.Errorf("unknown user: %s %s, want AGENT_ERROR_NO_USER_FOUND", r.Result, r.Error)
	}
}

// The agent paths offer provision and securitystrings too, behind the
// agent check.
func TestProvision_AgentPath(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.agent.Action("Provision", "Username", "alice", "ProvisionCode", strings.ToLower(ic.Code), "PushId", "abc", "DeviceOS", "iOS")
	if err != nil {
		t.Fatal(err)
	}
	// The eight Mobile Client policies and the eight profile options (#14).
	if !r.Pass() || !deviceIDRe.MatchString(r.ID) || len(r.Policies) != 16 {
		t.Fatalf("provision via agent: %s %s id %q, %d policies", r.Result, r.Error, r.ID, len(r.Policies))
	}
	if r, err = e.agent.Action("securitystrings", "Id", r.ID); err != nil || !r.Pass() || len(r.SecurityStrings) != 1099 {
		t.Fatalf("securitystrings via agent: %v %+v", err, r)
	}
}
