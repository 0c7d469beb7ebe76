package agentxml_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// envelopeCase is one request and what the server must answer. The bodies
// also seed FuzzParseRequest.
type envelopeCase struct {
	name        string
	path        string // default /pinsafe/AgentXML
	get         bool   // send as GET ?xml=
	form        bool   // send as POST xml=... form body
	body        string
	wantStatus  int // default 200
	wantResult  string
	wantError   string
	wantVersion string
	wantReqID   string
	wantLog     string
	wantRefused string // a reason counted by Service.Refuse
}

var envelopeCases = []envelopeCase{
	{name: "child form ping", body: `<?xml version="1.0" ?><SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`,
		wantResult: "PASS", wantVersion: "3.6"},
	{name: "attribute form", body: `<SASRequest secret="` + agentSecret + `" version="3.4"><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "PASS", wantVersion: "3.4"},
	{name: "attribute names in other case", body: `<SASRequest Secret="` + agentSecret + `" VERSION="3.1"><action>exists</action><USERNAME>alice</USERNAME></SASRequest>`,
		wantResult: "PASS", wantVersion: "3.1"},
	{name: "no prolog, whitespace and comments",
		body:       "\n  <!-- agent v2 -->\n<SASRequest>\n  <Version> 3.8 </Version>\n  <Secret>" + agentSecret + "</Secret>\n  <Action>\n exists\n </Action>\n  <Username>alice</Username>\n</SASRequest>\n",
		wantResult: "PASS", wantVersion: "3.8"},
	{name: "mixed case action", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>ExIsTs</Action><Username>alice</Username></SASRequest>`,
		wantResult: "PASS"},
	{name: "unknown elements ignored", body: `<SASRequest><Version>3.6</Version><Colour>blue</Colour><Secret>` + agentSecret + `</Secret><Extra><Username>mallory</Username></Extra><Action>exists</Action><Username>alice<b>ignored</b></Username><Empty/></SASRequest>`,
		wantResult: "PASS"},
	{name: "request id echoed", body: `<SASRequest><Version>3.6</Version><RequestID>42</RequestID><Action>ping</Action></SASRequest>`,
		wantResult: "PASS", wantReqID: "42"},
	{name: "request id escaped", body: `<SASRequest><Version>3.6</Version><RequestID>a&lt;b&amp;"c"</RequestID><Action>ping</Action></SASRequest>`,
		wantResult: "PASS", wantReqID: `a<b&"c"`},
	{name: "odd version not echoed", body: `<SASRequest><Version>three</Version><Action>ping</Action></SASRequest>`,
		wantResult: "PASS", wantVersion: "3.6"},
	{name: "namespace prefix and CDATA", body: `<s:SASRequest xmlns:s="urn:x"><s:Version>3.6</s:Version><s:Secret><![CDATA[` + agentSecret + `]]></s:Secret><s:Action>exists</s:Action><s:Username>alice</s:Username></s:SASRequest>`,
		wantResult: "PASS"},
	{name: "latin-1 prolog", body: `<?xml version="1.0" encoding="ISO-8859-1"?><SASRequest><Version>3.6</Version><Secret>` + agentSecret + "</Secret><Action>exists</Action><Username>alice</Username><Note>caf\xe9</Note></SASRequest>",
		wantResult: "PASS"},
	{name: "GET xml parameter refused", get: true, body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantStatus: 405, wantResult: "FAIL", wantError: "AGENT_ERROR_GENERAL", wantRefused: "GET ?xml= request while agentxml.allow_get is off"},
	{name: "form-encoded POST", form: true, body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "PASS"},
	{name: "sentry path", path: "/sentry/AgentXML", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "PASS"},
	{name: "exists unknown user", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>exists</Action><Username>nobody</Username></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_NO_USER_FOUND"},
	{name: "trailing data after root ignored", body: `<SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest><junk`,
		wantResult: "PASS"},

	{name: "unclosed element", body: `<SASRequest><Version>3.6</Version><Action>ping</SASRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED", wantRefused: "malformed XML"},
	{name: "wrong root", body: `<AdminRequest secret="x" version="3.4"><Action>ping</Action></AdminRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED", wantRefused: "malformed XML"},
	{name: "empty body", body: ``,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED", wantRefused: "malformed XML"},
	{name: "not XML", body: `action=ping&version=3.6`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED", wantRefused: "malformed XML"},
	{name: "text before root", body: `hello <SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "entity definitions refused", body: `<!DOCTYPE SASRequest [<!ENTITY a "aaaaaaaaaa">]><SASRequest><Version>3.6</Version><Action>ping</Action><Username>&a;&a;</Username></SASRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "unknown charset", body: `<?xml version="1.0" encoding="EBCDIC"?><SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`,
		wantStatus: 400, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"},
	{name: "GET without xml", get: true, body: ``,
		wantStatus: 405, wantResult: "FAIL", wantError: "AGENT_ERROR_GENERAL"},
	{name: "agent request without version", body: `<SASRequest><Secret>` + agentSecret + `</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED", wantRefused: "malformed XML"},

	{name: "ping needs no secret", body: `<SASRequest><Version>3.6</Version><Action>PING</Action></SASRequest>`,
		wantResult: "PASS"},
	{name: "missing secret", body: `<SASRequest><Version>3.6</Version><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS", wantRefused: "wrong agent secret or address"},
	{name: "wrong secret", body: `<SASRequest><Version>3.6</Version><Secret>not-the-secret</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS", wantRefused: "wrong agent secret or address"},
	{name: "right secret, wrong address", body: `<SASRequest><Version>3.6</Version><Secret>` + remoteSecret + `</Secret><Action>exists</Action><Username>alice</Username></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS", wantRefused: "wrong agent secret or address"},
	{name: "unknown action", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>frobnicate</Action></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_UNKNOWN_ACTION", wantRefused: `an unknown action from agent "vpn"`},
	{name: "empty action", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_UNKNOWN_ACTION"},

	{name: "proxy ping without version", path: "/proxy/AgentXML", body: `<SASRequest><Action>ping</Action></SASRequest>`,
		wantResult: "PASS"},
	{name: "proxy refuses agent actions", path: "/proxy/AgentXML", body: `<SASRequest><Version>3.6</Version><Secret>` + agentSecret + `</Secret><Action>login</Action><Username>alice</Username><OTC>123456</OTC></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS", wantRefused: "an action /proxy does not offer"},
	{name: "proxy refuses unknown actions", path: "/proxy/AgentXML", body: `<SASRequest><Action>frobnicate</Action></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_AGENT_ACCESS"},
	{name: "proxy securitystrings unknown id", path: "/proxy/AgentXML", body: `<SASRequest><Action>SecurityStrings</Action><Id>00000000000000000000000000000000</Id></SASRequest>`,
		wantResult: "FAIL", wantError: "AGENT_ERROR_SESSION", wantRefused: "Mobile request from unknown user; the user needs to reprovision"},
}

func TestServer_Envelope(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	for _, tc := range envelopeCases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/pinsafe/AgentXML"
			}
			var resp *http.Response
			var err error
			switch {
			case tc.get:
				resp, err = e.agent.HTTP.Get(e.srv.URL() + path + "?xml=" + url.QueryEscape(tc.body))
			case tc.form:
				resp, err = e.agent.HTTP.PostForm(e.srv.URL()+path, url.Values{"xml": {tc.body}})
			default:
				resp, err = e.agent.HTTP.Post(e.srv.URL()+path, "text/xml", strings.NewReader(tc.body))
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := agentxmltest.ReadResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, r, tc)
			if tc.wantLog != "" {
				wantLog(t, e.svc, tc.wantLog)
			}
			if tc.wantRefused != "" {
				wantRefused(t, e.svc, tc.wantRefused)
			}
		})
	}
}

func checkResponse(t *testing.T, r *agentxmltest.Response, tc envelopeCase) {
	t.Helper()
	wantStatus := tc.wantStatus
	if wantStatus == 0 {
		wantStatus = http.StatusOK
	}
	if r.StatusCode != wantStatus {
		t.Errorf("status = %d, want %d", r.StatusCode, wantStatus)
	}
	if r.ContentType != wantCT {
		t.Errorf("Content-Type = %q, want %q", r.ContentType, wantCT)
	}
	if !strings.HasPrefix(string(r.Body), wantProlog) {
		t.Errorf("body does not start with the prolog: %.80q", r.Body)
	}
	if r.Result != tc.wantResult || r.Error != tc.wantError {
		t.Errorf("result = %s %q, want %s %q\n%s", r.Result, r.Error, tc.wantResult, tc.wantError, r.Body)
	}
	if tc.wantVersion != "" && r.Version != tc.wantVersion {
		t.Errorf("Version = %q, want %q", r.Version, tc.wantVersion)
	}
	if r.RequestID != tc.wantReqID {
		t.Errorf("RequestID = %q, want %q", r.RequestID, tc.wantReqID)
	}
	if r.Error == "" && r.Result == "FAIL" && strings.Contains(string(r.Body), "<Error") {
		t.Errorf("bare FAIL carries an Error element: %s", r.Body)
	}
}

func TestServer_OversizedBody(t *testing.T) {
	e := newEnv(t)
	body := `<SASRequest><Version>3.6</Version><Action>ping</Action><Pad>` + strings.Repeat("x", 64<<10) + `</Pad></SASRequest>`
	r, err := e.agent.Do("/pinsafe/AgentXML", body)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, r, envelopeCase{wantStatus: http.StatusRequestEntityTooLarge, wantResult: "FAIL", wantError: "AGENT_ERROR_MALFORMED"})
	wantRefused(t, e.svc, "malformed XML")

	// Just under the limit is fine.
	body = `<SASRequest><Version>3.6</Version><Action>ping</Action><Pad>` + strings.Repeat("x", 60<<10) + `</Pad></SASRequest>`
	if r, err = e.agent.Do("/pinsafe/AgentXML", body); err != nil || !r.Pass() {
		t.Fatalf("60 KiB request: %v %+v", err, r)
	}
}

// Every seed-list action this server does not offer answers
// AGENT_ERROR_UNKNOWN_ACTION, in any letter case (docs/api.md).
func TestServer_UnofferedActions(t *testing.T) {
	e := newEnv(t)
	for _, a := range []string{"changepassword", "checkpassword", "hascachedpassword",
		"ocraverify", "sendconfirmationcode", "validateconfirmationcode", "ChangePassword", "OCRAVERIFY"} {
		r, err := e.agent.Action(a, "Username", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != "FAIL" || r.Error != "AGENT_ERROR_UNKNOWN_ACTION" {
			t.Errorf("%s = %s %s, want FAIL AGENT_ERROR_UNKNOWN_ACTION", a, r.Result, r.Error)
		}
	}
	wantRefused(t, e.svc, `the action "changepassword", which this server does not offer, from agent "vpn"`,
		`the action "ocraverify", which this server does not offer, from agent "vpn"`)
}

func TestServer_MethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL()+"/pinsafe/AgentXML", strings.NewReader("<SASRequest/>"))
	resp, err := e.agent.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT status = %d, want 405", resp.StatusCode)
	}
}
