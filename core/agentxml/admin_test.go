package agentxml_test

import (
	"fmt"
	"strings"
	"testing"
)

// The admin, helpdesk and reporting API over HTTPS against the fixture
// of docs/api.md: envelope rules, then each operation's error paths.

const (
	hrSecret       = "hr-secret-1234"
	localSecret    = "local-secret-1234"
	helpdeskSecret = "helpdesk-secret-1234"
)

// adminCase is one AdminXML request and its request-level outcome.
type adminCase struct {
	name       string
	path       string // default /pinsafe/AdminXML
	get        bool
	body       string
	wantStatus int // default 200
	wantResult string
	wantError  string
	wantRoot   string // default AdminResponse
	wantVer    string
	wantReqID  string
}

// adminEnvelopeCases also seed FuzzParseAdminRequest.
var adminEnvelopeCases = []adminCase{
	{name: "attribute form 3.6", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Read><User name="carol"/></Read></AdminRequest>`,
		wantResult: "PASS", wantVer: "3.6"},
	{name: "attribute form 3.4", body: `<AdminRequest secret="hr-secret-1234" version="3.4"><Read><User name="carol"/></Read></AdminRequest>`,
		wantResult: "PASS", wantVer: "3.4"},
	{name: "element form with request id", body: `<?xml version="1.0"?><AdminRequest><Version>3.6</Version><Secret>hr-secret-1234</Secret><RequestID>r-1</RequestID><Sync/></AdminRequest>`,
		wantResult: "PASS", wantReqID: "r-1"},
	{name: "request id attribute", body: `<AdminRequest secret="hr-secret-1234" version="3.6" requestid="77"><Sync/></AdminRequest>`,
		wantResult: "PASS", wantReqID: "77"},
	{name: "element wins over attribute", body: `<AdminRequest secret="wrong" version="3.1"><Secret>hr-secret-1234</Secret><Version>3.4</Version><Sync/></AdminRequest>`,
		wantResult: "PASS", wantVer: "3.4"},
	{name: "sentry path", path: "/sentry/AdminXML", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Sync/></AdminRequest>`,
		wantResult: "PASS"},
	{name: "GET xml parameter refused", get: true, body: `<AdminRequest secret="hr-secret-1234" version="3.4"><Report repository="local"><Idle since="01-jul-2010"/></Report></AdminRequest>`,
		wantStatus: 405, wantResult: "FAIL", wantError: "ADMIN_ERROR_GENERAL"},
	{name: "helpdesk root", body: `<HelpdeskRequest secret="helpdesk-secret-1234" version="3.6"><Read><User name="carol"/></Read></HelpdeskRequest>`,
		wantResult: "PASS", wantRoot: "HelpdeskResponse"},
	{name: "namespace prefix", body: `<a:AdminRequest xmlns:a="urn:x" secret="hr-secret-1234" version="3.6"><a:Sync/></a:AdminRequest>`,
		wantResult: "PASS"},
	{name: "empty request", body: `<AdminRequest secret="hr-secret-1234" version="3.6"/>`,
		wantResult: "PASS"},

	{name: "version 3.7", body: `<AdminRequest secret="hr-secret-1234" version="3.7"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNSUPPORTED_VERSION", wantVer: "3.6"},
	{name: "version 3.5", body: `<AdminRequest secret="hr-secret-1234" version="3.5"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNSUPPORTED_VERSION"},
	{name: "no version", body: `<AdminRequest secret="hr-secret-1234"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNSUPPORTED_VERSION"},
	{name: "version attribute in other case", body: `<AdminRequest secret="hr-secret-1234" Version="3.6"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNSUPPORTED_VERSION"},
	{name: "wrong secret", body: `<AdminRequest secret="nope" version="3.6"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS"},
	{name: "no secret", body: `<AdminRequest version="3.6"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS"},
	{name: "wrong address", body: `<AdminRequest secret="remote-secret-1234" version="3.6"><Sync/></AdminRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS"},
	{name: "operation in other case", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><read><User name="carol"/></read></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNKNOWN_OPERATION"},
	{name: "unknown child of an operation", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Read><user name="carol"/></Read></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNKNOWN_OPERATION"},
	{name: "helpdesk cannot create", body: `<HelpdeskRequest secret="helpdesk-secret-1234" version="3.6"><Create><User name="x"/></Create></HelpdeskRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNKNOWN_OPERATION", wantRoot: "HelpdeskResponse"},
	{name: "admin has no Strings", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Strings><User name="carol"/></Strings></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNKNOWN_OPERATION"},
	{name: "unknown report", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Report><Busy/></Report></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_UNKNOWN_OPERATION"},

	{name: "too many operations", body: `<AdminRequest secret="hr-secret-1234" version="3.6">` + strings.Repeat("<Sync/>", 33) + `</AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_INVALID"},
	{name: "too many report items", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Report>` + strings.Repeat("<Locked/>", 17) + `</Report></AdminRequest>`,
		wantResult: "FAIL", wantError: "ADMIN_ERROR_INVALID"},
	{name: "most operations", body: `<AdminRequest secret="hr-secret-1234" version="3.6">` + strings.Repeat("<Sync/>", 32) + `</AdminRequest>`,
		wantResult: "PASS"},

	{name: "SASRequest", body: `<SASRequest><Version>3.6</Version><Secret>hr-secret-1234</Secret><Action>ping</Action></SASRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "root in other case", body: `<adminrequest secret="hr-secret-1234" version="3.6"><Sync/></adminrequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "not XML", body: `Read carol`, wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "unclosed", body: `<AdminRequest secret="hr-secret-1234" version="3.6"><Sync>`, wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "empty", body: ``, wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "too deep", body: `<AdminRequest secret="hr-secret-1234" version="3.6">` + strings.Repeat("<a>", 9) + strings.Repeat("</a>", 9) + `</AdminRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
}

func TestAdminXML_Envelope(t *testing.T) {
	f := newFixture(t)
	for _, tc := range adminEnvelopeCases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/pinsafe/AdminXML"
			}
			c := f.admin(t, "")
			r, err := c.Do(path, tc.body)
			if tc.get {
				r, err = c.Get(path, tc.body)
			}
			if err != nil {
				t.Fatal(err)
			}
			wantStatus, wantRoot := tc.wantStatus, tc.wantRoot
			if wantStatus == 0 {
				wantStatus = 200
			}
			if wantRoot == "" {
				wantRoot = "AdminResponse"
			}
			if r.StatusCode != wantStatus || r.ContentType != wantCT || r.XMLName.Local != wantRoot {
				t.Errorf("HTTP %d %s <%s>, want %d <%s>", r.StatusCode, r.ContentType, r.XMLName.Local, wantStatus, wantRoot)
			}
			if r.Result != tc.wantResult || r.Error != tc.wantError {
				t.Errorf("result %s %q, want %s %q\n%s", r.Result, r.Error, tc.wantResult, tc.wantError, r.Body)
			}
			if tc.wantVer != "" && r.Version != tc.wantVer {
				t.Errorf("Version %q, want %q", r.Version, tc.wantVer)
			}
			if r.RequestID != tc.wantReqID {
				t.Errorf("RequestID %q, want %q", r.RequestID, tc.wantReqID)
			}
			if tc.wantError != "" && r.Message == "" {
				t.Error("a request-level error without a Message")
			}
		})
	}
	wantRefused(t, f.svc, "malformed XML", "wrong agent secret or address", "AdminXML version not supported",
		`an unknown AdminXML operation from agent "hr"`, "GET ?xml= request while agentxml.allow_get is off")
	// A request that fails as a whole runs nothing, even operations
	// before the unknown one.
	r, err := f.admin(t, hrSecret).Admin(`<Delete><User name="carol"/></Delete><delete><User name="dave"/></delete>`)
	if err != nil || r.Error != "ADMIN_ERROR_UNKNOWN_OPERATION" {
		t.Fatalf("%v %+v", err, r)
	}
	if u, _ := f.svc.User("carol"); u.Deleted {
		t.Fatal("an operation ran in a refused request")
	}
}

// An agent that cannot act as repository gets each admin operation
// refused, and reports only with the helpdesk right; a repository
// attribute is refused in an AdminRequest except on a Report.
func TestAdminXML_NotRepository(t *testing.T) {
	f := newFixture(t)
	for _, op := range []string{`<Create><User name="x"/></Create>`, `<Read><User name="alice"/></Read>`,
		`<Update><User name="alice"/></Update>`, `<Delete><User name="alice"/></Delete>`, `<Reset><User name="alice"/></Reset>`,
		`<Sync/>`, `<PurgeDeleted/>`} {
		r, err := f.admin(t, vpnSecret).Admin(op)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Ops) != 1 || r.Result != "FAIL" || r.Ops[0].Error != "ADMIN_ERROR_NOT_REPOSITORY" || r.Ops[0].Message == "" {
			t.Errorf("%s = %s\n%s", op, r.Result, r.Body)
		}
	}
	if u, _ := f.svc.User("alice"); u.Deleted || u.PIN != "9132" {
		t.Fatal("a refused operation changed alice")
	}
	r, _ := f.admin(t, helpdeskSecret).Admin(`<Report><Locked/></Report>`)
	if r.Result != "PASS" || len(r.Ops[0].Reports) != 1 || r.Ops[0].Reports[0].Users[0].Name != "bob" {
		t.Errorf("report from a non-repository helpdesk agent:\n%s", r.Body)
	}
	r, _ = f.admin(t, vpnSecret).Admin(`<Report><Locked/></Report>`)
	if r.Result != "FAIL" || len(r.Ops) != 1 || r.Ops[0].Error != "AGENT_ERROR_AGENT_ACCESS" || len(r.Ops[0].Reports) != 0 {
		t.Errorf("report from an authenticate-only agent:\n%s", r.Body)
	}
	r, _ = f.admin(t, hrSecret).Admin(`<Read repository="local"><User name="alice"/></Read>`)
	if r.Ops[0].Error != "ADMIN_ERROR_INVALID" {
		t.Errorf("repository attribute in an AdminRequest:\n%s", r.Body)
	}
	wantLog(t, f.svc, `AdminXML Create request from agent "vpn" refused: the agent cannot act as a repository.`)
}

// Per-user errors of each operation: unknown user, another repository,
// deleted, locked, disabled, no transport, invalid input.
func TestAdminXML_UserErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		helpd  bool
		op     string
		want   map[string]string // user → "PASS" or the Error
	}{
		{"create", hrSecret, false, `<Create><User name="new1"><Credentials pin="2580"/></User><User name="carol"/><User name="alice"/><User/>` +
			`<User name="bad/name"/><User name="p"><Credentials password="x"/></User><User name="q"><Transports><Transport type="alert">not-mail</Transport></Transports></User>` +
			`<User name="r"><Groups><Group name="a"/><Group name="b"/></Groups></User><User name="s"><Policies><Policy name="deleted"/></Policies></User>` +
			`<User name="u"><Attributes><Attribute name="email">u@example.org</Attribute><Attribute name="Dept">IT</Attribute></Attributes></User>` +
			`<User name="v"><Attributes><Attribute name="2x">bad</Attribute></Attributes></User><User name="w"><Credentials pin=""/></User>` +
			`<User name="y"><Transports><Transport type="alert" name="SMS">+44 7700 900123</Transport></Transports></User></Create>`,
			map[string]string{"new1": "PASS", "carol": "ADMIN_ERROR_USER_EXISTS", "alice": "ADMIN_ERROR_USER_EXISTS", "": "ADMIN_ERROR_INVALID",
				"bad/name": "ADMIN_ERROR_INVALID", "p": "ADMIN_ERROR_INVALID", "q": "ADMIN_ERROR_INVALID", "r": "ADMIN_ERROR_INVALID",
				"s": "ADMIN_ERROR_INVALID", "u": "PASS", "v": "ADMIN_ERROR_INVALID", "w": "ADMIN_ERROR_INVALID", "y": "ADMIN_ERROR_INVALID"}},
		{"read", hrSecret, false, `<Read><User name="carol"/><User name="erin"/><User name="alice"/><User name="nobody"/></Read>`,
			map[string]string{"carol": "PASS", "erin": "PASS", "alice": "ADMIN_ERROR_NO_USER", "nobody": "ADMIN_ERROR_NO_USER"}},
		{"update", hrSecret, false, `<Update><User name="carol"><Policies><Policy name="locked">maybe</Policy></Policies></User><User name="erin"/>` +
			`<User name="dave"><Policies><Policy name="disabled">no</Policy></Policies></User><User name="alice"/></Update>`,
			map[string]string{"carol": "ADMIN_ERROR_INVALID", "erin": "ADMIN_ERROR_USER_DELETED", "dave": "PASS", "alice": "ADMIN_ERROR_NO_USER"}},
		{"delete", hrSecret, false, `<Delete><User name="carol"/><User name="erin"/><User name="bob"/></Delete>`,
			map[string]string{"carol": "PASS", "erin": "PASS", "bob": "ADMIN_ERROR_NO_USER"}},
		{"reset", hrSecret, false, `<Reset><User name="carol"/><User name="dave"/><User name="erin"/><User name="alice"/></Reset>`,
			map[string]string{"carol": "PASS", "dave": "ADMIN_ERROR_USER_DISABLED", "erin": "ADMIN_ERROR_USER_DELETED", "alice": "ADMIN_ERROR_NO_USER"}},
		{"local reset", localSecret, false, `<Reset><User name="frank"/><User name="bob"/></Reset>`,
			map[string]string{"frank": "ADMIN_ERROR_NO_TRANSPORT", "bob": "PASS"}},
		{"helpdesk update", helpdeskSecret, true, `<Update><User name="alice"><Credentials pin="1"/></User><User name="carol"><Rights><Right name="mobile">false</Right></Rights></User>` +
			`<User name="dave"><Policies><Policy name="disabled">false</Policy></Policies></User><User name="nobody"/></Update>`,
			map[string]string{"alice": "ADMIN_ERROR_INVALID", "carol": "ADMIN_ERROR_INVALID", "dave": "PASS", "nobody": "ADMIN_ERROR_NO_USER"}},
		{"helpdesk strings", helpdeskSecret, true, `<Strings><User name="alice"/><User name="dave"/><User name="erin"/></Strings>`,
			map[string]string{"alice": "PASS", "dave": "ADMIN_ERROR_USER_DISABLED", "erin": "ADMIN_ERROR_USER_DELETED"}},
		{"helpdesk group", groupSecret, true, `<Read><User name="carol"/><User name="alice"/></Read>`,
			map[string]string{"carol": "PASS", "alice": "ADMIN_ERROR_NO_USER"}},
		{"helpdesk oathsync", helpdeskSecret, true, `<OathSync><User name="carol"/><User name="alice"><OTC>123456</OTC><NextOTC>234567</NextOTC></User><User name="erin"/></OathSync>`,
			map[string]string{"carol": "ADMIN_ERROR_INVALID", "alice": "ADMIN_ERROR_NO_TOKEN", "erin": "ADMIN_ERROR_USER_DELETED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			addGroupAgent(t, f)
			c := f.admin(t, tt.secret)
			send := c.Admin
			if tt.helpd {
				send = c.Helpdesk
			}
			r, err := send(tt.op)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Ops) != 1 {
				t.Fatalf("%d operations in the reply\n%s", len(r.Ops), r.Body)
			}
			op := &r.Ops[0]
			allPass := true
			for name, want := range tt.want {
				u := op.User(name)
				if u == nil {
					t.Errorf("no result for %q\n%s", name, r.Body)
					continue
				}
				got := u.Error
				if u.Pass() {
					got = "PASS"
				} else if u.Message == "" {
					t.Errorf("%s: FAIL without a Message", name)
				}
				allPass = allPass && got == "PASS"
				if got != want {
					t.Errorf("%s: %s (%s), want %s", name, got, u.Message, want)
				}
			}
			if wantRes := map[bool]string{true: "PASS", false: "FAIL"}[allPass]; op.Result != wantRes || r.Result != wantRes {
				t.Errorf("operation %s, request %s, want %s", op.Result, r.Result, wantRes)
			}
		})
	}
}

func addGroupAgent(t *testing.T, f *fixtureEnv) {
	t.Helper()
	if err := f.svc.PutAgent(fixtureGroupAgent); err != nil {
		t.Fatal(err)
	}
}

// Admin changes take effect on the authentication API at once.
func TestAdminXML_EffectsOnLogin(t *testing.T) {
	f := newFixture(t)
	local := f.admin(t, localSecret)
	vpn := f.agent(t, vpnSecret)
	login := func(i int) string {
		res, code, err := vpn.Login("alice", aliceCode("9132", i))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(res + " " + code)
	}
	if got := login(0); got != "PASS" {
		t.Fatalf("before: %s", got)
	}
	r, _ := local.Admin(`<Update><User name="alice"><Policies><Policy name="locked"/></Policies></User></Update>`)
	if r.Result != "PASS" {
		t.Fatalf("lock:\n%s", r.Body)
	}
	if got := login(1); got != "FAIL" {
		t.Fatalf("locked: %s", got)
	}
	r, _ = f.admin(t, helpdeskSecret).Helpdesk(`<Update><User name="alice"><Policies><Policy name="locked">false</Policy></Policies></User></Update>`)
	if r.Result != "PASS" {
		t.Fatalf("unlock:\n%s", r.Body)
	}
	if got := login(2); got != "PASS" {
		t.Fatalf("unlocked: %s", got)
	}
	r, _ = local.Admin(`<Delete><User name="alice"/></Delete>`)
	if r.Result != "PASS" {
		t.Fatalf("delete:\n%s", r.Body)
	}
	if got := login(3); got != "FAIL" {
		t.Fatalf("deleted: %s", got)
	}
	if users, _ := f.svc.Users(); len(users) != 4 {
		t.Fatalf("the console lists %d users, want 4 without the deleted", len(users))
	}
}

// One request may carry many users; each gets a result, and the whole
// Create is one commit.
func TestAdminXML_ManyUsers(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	b.WriteString("<Create>")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, `<User name="u%03d"><Credentials pin="%04d"/><Transports><Transport type="alert">u%03d@example.org</Transport></Transports></User>`, i, 1000+i, i)
	}
	b.WriteString(`</Create><Read><User name="u042"/></Read>`)
	r, err := f.admin(t, hrSecret).Admin(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if r.Result != "PASS" || len(r.Ops[0].Users) != 100 {
		t.Fatalf("%s with %d results", r.Result, len(r.Ops[0].Users))
	}
	u := r.Op("Read", 0).User("u042")
	if u == nil || u.Repository != "hr" || u.Transports[0].Value != "u042@example.org" || u.Credential.HasPIN != "true" {
		t.Fatalf("read back %+v", u)
	}
	// No PIN reached the log.
	entries, _ := f.svc.LogTail(300)
	for _, e := range entries {
		if strings.Contains(e.Message, "1042") {
			t.Fatalf("a PIN in the log: %q", e.Message)
		}
	}
}

func TestAdminXML_ReportDates(t *testing.T) {
	f := newFixture(t)
	for since, ok := range map[string]bool{"01-jul-2010": true, "1-JUL-2010": true, "01-Jul-2010": true,
		"2010-07-01": false, "31-feb-2010": false, "01-july-2010": false, "": false, "01-jul-10": false} {
		r, err := f.admin(t, helpdeskSecret).Admin(`<Report><Idle since="` + since + `"/></Report>`)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Result == "PASS"; got != ok {
			t.Errorf("since %q: %s %s", since, r.Result, r.Ops[0].Error)
		}
		if !ok && r.Ops[0].Error != "ADMIN_ERROR_INVALID" {
			t.Errorf("since %q: error %q", since, r.Ops[0].Error)
		}
	}
}
