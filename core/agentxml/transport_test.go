package agentxml_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// How the XML reaches the server (protocol.md §1, the Agent-XML seed's
// "HTTP POST ... /pinsafe/AgentXML?xml=<?xml version="1.0"?>"), over
// HTTPS.

// A POST that carries its XML in the URL, as the seed's example reads, is
// held to the GET rule: refused with a FAIL naming agentxml.allow_get
// while it is off (not the malformed answer it used to get), served once
// it is on. Both APIs.
func TestServer_PostWithXMLInTheURL(t *testing.T) {
	f := newFixture(t)
	c := f.admin(t, "")
	sas := `<?xml version="1.0"?><SASRequest secret="vpn-secret-1234" version="3.6"><Action>exists</Action><Username>alice</Username></SASRequest>`
	adm := `<AdminRequest secret="hr-secret-1234" version="3.4"><Report repository="hr"><Idle since="01-jul-2010"/></Report></AdminRequest>`
	post := func(path, xmlText string) (*http.Response, error) {
		return c.HTTP.Post(f.url+path+"?xml="+url.QueryEscape(xmlText), "text/xml", nil)
	}
	for _, allow := range []bool{false, true} {
		if allow {
			if err := f.svc.SetSetting("agentxml.allow_get", "Yes"); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := post("/pinsafe/AgentXML", sas)
		if err != nil {
			t.Fatal(err)
		}
		r, err := agentxmltest.ReadResponse(resp)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = post("/pinsafe/AdminXML", adm)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agentxmltest.ReadAdmin(resp)
		if err != nil {
			t.Fatal(err)
		}
		if !allow {
			if r.StatusCode != http.StatusBadRequest || r.Result != "FAIL" || r.Error != "AGENT_ERROR_GENERAL" || !strings.Contains(r.Message, "agentxml.allow_get") {
				t.Errorf("AgentXML POST ?xml= with allow_get off: HTTP %d\n%s", r.StatusCode, r.Body)
			}
			if a.StatusCode != http.StatusBadRequest || a.Result != "FAIL" || a.Error != "ADMIN_ERROR_GENERAL" || !strings.Contains(a.Message, "agentxml.allow_get") {
				t.Errorf("AdminXML POST ?xml= with allow_get off: HTTP %d\n%s", a.StatusCode, a.Body)
			}
			wantRefused(t, f.svc, "XML in the URL of a POST while agentxml.allow_get is off")
			continue
		}
		if r.StatusCode != 200 || !r.Pass() {
			t.Errorf("AgentXML POST ?xml= with allow_get on: HTTP %d\n%s", r.StatusCode, r.Body)
		}
		if a.StatusCode != 200 || a.Result != "PASS" || a.Op("Report", 0) == nil {
			t.Errorf("AdminXML POST ?xml= with allow_get on: HTTP %d\n%s", a.StatusCode, a.Body)
		}
	}
}

// Form bodies: the xml field need not come first, and raw XML posted with
// a form Content-Type (what curl -d sends) is still raw XML.
func TestServer_FormBodies(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	x := existsBody(`<?xml version="1.0"?>`, "alice")
	for _, tc := range []struct{ name, contentType, body string }{
		{"xml field first", "application/x-www-form-urlencoded", "xml=" + url.QueryEscape(x)},
		{"xml field after others", "application/x-www-form-urlencoded", "agent=vpn&xml=" + url.QueryEscape(x) + "&submit=Send"},
		{"xml field, no Content-Type", "", "submit=Send&xml=" + url.QueryEscape(x)},
		{"raw XML with a form Content-Type", "application/x-www-form-urlencoded", x},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL()+"/pinsafe/AgentXML", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := e.agent.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r, err := agentxmltest.ReadResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, r, envelopeCase{wantResult: "PASS"})
		})
	}
}

// The Agent-XML seed's two example URLs, sent as written there (quotes
// and angle brackets unescaped, spaces as %20), once agentxml.allow_get
// is on: 3.7 is ADMIN_ERROR_UNSUPPORTED_VERSION, 3.4 is served. The
// seed's agent secret "secret" is the hr agent's here, and its
// repository "local" the hr repository.
func TestAdminXML_SeedExampleURLs(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.SetSetting("agentxml.allow_get", "Yes"); err != nil {
		t.Fatal(err)
	}
	c := f.admin(t, "")
	for _, tc := range []struct{ version, result, errCode string }{
		{"3.7", "FAIL", "ADMIN_ERROR_UNSUPPORTED_VERSION"},
		{"3.4", "PASS", ""},
	} {
		u := f.url + `/pinsafe/AdminXML?xml=<AdminRequest%20secret="hr-secret-1234"%20version="` + tc.version +
			`"><Report%20repository="hr"><Idle%20since="01-jul-2010"/></Report></AdminRequest>`
		resp, err := c.HTTP.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agentxmltest.ReadAdmin(resp)
		if err != nil {
			t.Fatal(err)
		}
		if a.StatusCode != 200 || a.Result != tc.result || a.Error != tc.errCode {
			t.Errorf("version %s: HTTP %d %s %q, want 200 %s %q\n%s", tc.version, a.StatusCode, a.Result, a.Error, tc.result, tc.errCode, a.Body)
		}
	}
}
