package agentxml_test

import (
	"io"
	"net/http"
	"testing"
)

func TestZZProbe2(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.SetSetting("agentxml.allow_get", "Yes"); err != nil {
		t.Fatal(err)
	}
	c := f.admin(t, "")
	for _, q := range []string{
		`/pinsafe/AdminXML?xml=<AdminRequest%20secret="hr-secret-1234"%20version="3.4"><Report%20repository="local"><Idle%20since="01-jul-2010"/></Report></AdminRequest>`,
		`/pinsafe/AdminXML?xml=<?xml%20version="1.0"?><AdminRequest%20secret="hr-secret-1234"%20version="3.7"><Report%20repository="local"><Idle%20since="01-jul-2010"/></Report></AdminRequest>`,
		`/pinsafe/AgentXML?xml=<?xml%20version="1.0"?><SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`,
		`/pinsafe/AgentXML?xml=<SASRequest%20secret="vpn-secret-1234"%20version="3.4"><Action>exists</Action><Username>alice</Username></SASRequest>`,
	} {
		req, err := http.NewRequest("GET", f.url+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s\n -> %d %s", q, resp.StatusCode, b)
	}
}
