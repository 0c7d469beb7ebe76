package adminapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
)

// TestHandler_BadBodyIsASentenceNamingTheField: a request body the route
// cannot take is a 400 whose message a scripter can act on, naming the
// field at fault in "field" and in the sentence, with no Go type names
// ("Go struct field AdminNewUser.name of type string"), and nothing is
// written. A body with more after its JSON object was taken: the object
// was acted on and the rest ignored, so `{"name":"carol"} {"name":"dave"}`
// added carol.
func TestHandler_BadBodyIsASentenceNamingTheField(t *testing.T) {
	svc, sock := newServer(t)
	hc := unixClient(sock)
	if _, err := svc.AddUser(core.User{Name: "alice", PIN: "9132", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	if err := svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1"}); err != nil {
		t.Fatal(err)
	}
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "sales@example.org"
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		wantField          string
		wantMessage        string
	}{
		{"POST", "/v1/users", `{"name": "carol", "bogus": 1}`, "bogus",
			`This request has no field "bogus"; remove it, or check its spelling.`},
		{"POST", "/v1/users", `{"name": 5}`, "name",
			`The field "name" must be text, not a number.`},
		{"POST", "/v1/users/alice/reprovision", `{"mail": "yes"}`, "mail",
			`The field "mail" must be true or false, not text.`},
		{"PATCH", "/v1/agents/vpn", `{"modes": "mobile"}`, "modes",
			`The field "modes" must be a list, not text.`},
		{"PUT", "/v1/settings/smtp.port", `{"value": 25}`, "value",
			`The field "value" must be text, not a number.`},
		// A profile's values are in an embedded struct, whose Go name
		// must not show.
		{"PUT", "/v1/profiles/Sales", `{"pin_cache_timeout": "soon"}`, "pin_cache_timeout",
			`The field "pin_cache_timeout" must be a whole number, not text.`},
		{"PUT", "/v1/profiles/Sales", `{"pin_cache_timeout": 1.5}`, "pin_cache_timeout",
			`The field "pin_cache_timeout" must be a whole number, not 1.5.`},
		{"PUT", "/v1/config", `{"settings": {"mail": {"port": "x"}}}`, "mail.port",
			`The field "mail.port" must be a whole number, not text.`},
		// A misspelt setting inside an object was dropped without a word
		// (200, "Settings saved: no setting changed.").
		{"PUT", "/v1/config", `{"settings": {"mail": {"prot": 2525}}}`, "mail.prot",
			`There is no setting "mail.prot" in GET /v1/config.`},
		{"PUT", "/v1/config", `{"settings": {"mail": {"port": 2525, "tls": {"x": 1}}}}`, "mail.tls",
			`There is no setting "mail.tls" in GET /v1/config.`},
		{"PUT", "/v1/config", `{"settings": {"colour": "red"}}`, "colour",
			`There is no setting "colour" in GET /v1/config.`},
		{"POST", "/v1/users", `{"name": "carol"} {"name": "dave"}`, "",
			"The request body has more after its JSON object; send one object."},
		{"POST", "/v1/users", `{"name": "carol"} trailing`, "",
			"The request body has more after its JSON object; send one object."},
		{"POST", "/v1/users", `[]`, "",
			"The request body must be a JSON object, not a list."},
		{"POST", "/v1/users", `{"name": "carol"`, "",
			"The request body ends before its JSON object does; send the whole object."},
		{"POST", "/v1/users", `not json`, "",
			"The request body is not valid JSON: invalid character 'o' in literal null (expecting 'u'), at byte 2."},
		{"POST", "/v1/users", `{"name": "` + strings.Repeat("a", 70<<10) + `"}`, "",
			"The request body is over 64 KiB, more than any request of this API needs."},
		// The import's rows are decoded one by one (importRows): the
		// sentences are those of every other route.
		{"POST", "/v1/import", `{"rows": [{"user": {"name": "carol", "pin": 5}}]}`, "rows.user.pin",
			`The field "rows.user.pin" must be text, not a number.`},
		{"POST", "/v1/import", `{"rows": [{"line": 2, "bogus": 1}]}`, "bogus",
			`This request has no field "bogus"; remove it, or check its spelling.`},
		{"POST", "/v1/import", `{"rows": "carol"}`, "rows",
			`The field "rows" must be a list, not text.`},
		{"POST", "/v1/import", `{"rows": [{"user": {"name": "carol"}}`, "",
			"The request body ends before its JSON object does; send the whole object."},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path + " " + tt.body
		if len(name) > 80 {
			name = name[:80]
		}
		t.Run(name, func(t *testing.T) {
			before, err := svc.LogTail(1)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(tt.method, "http://provisio"+tt.path, strings.NewReader(tt.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct {
				Error struct{ Code, Field, Message string }
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %s is not a JSON error", resp.Status, b)
			}
			if resp.StatusCode != http.StatusBadRequest || got.Error.Code != "invalid" ||
				got.Error.Field != tt.wantField || got.Error.Message != tt.wantMessage {
				t.Errorf("%s %s\nwant 400 field %q message %q", resp.Status, b, tt.wantField, tt.wantMessage)
			}
			after, err := svc.LogTail(1)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) || len(after) > 0 && after[0].Seq != before[0].Seq {
				t.Errorf("a refused request wrote to the audit log: %+v", after)
			}
			if _, err := svc.User("carol"); err == nil {
				t.Fatal("a refused request added carol")
			}
		})
	}
}
