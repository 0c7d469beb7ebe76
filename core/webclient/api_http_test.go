package webclient_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"provisio/core/agentxml/agentxmltest"
)

// apiAnswer is the part of the web client API's answer these tests read.
type apiAnswer struct {
	State   string   `json:"state"`
	Next    *int     `json:"next"`
	Strings []string `json:"strings"`
}

// postAPI calls the web client API as the authenticator does and returns
// the raw answer and its decoded fields.
func (w *world) postAPI(t *testing.T, hc *http.Client, api, id string) (string, apiAnswer) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"id": id})
	r, err := hc.Post(w.url+"/userportal/app/api/"+api, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	raw := body(t, r)
	var a apiAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatalf("%s answered %d %q: %v", api, r.StatusCode, raw, err)
	}
	return raw, a
}

// TestHandler_APIDeviceIdTrimmed: the web client API takes a device Id
// with white space around it as the Id itself, for the status check and
// the strings download alike, as AgentXML does (its parser trims every
// field): the same phone is not told "ok" by one call and "replaced" by
// the next. Space inside an Id is no Id of this phone, on either path.
func TestHandler_APIDeviceIdTrimmed(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "lena", "9132", "")
	pr, err := w.svc.Provision("127.0.0.1", "lena", w.code(t, "lena").Code, "web")
	if err != nil {
		t.Fatal(err)
	}
	id := pr.DeviceID
	hc := w.client(t)
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"as issued", id, true},
		{"spaces around", "  " + id + " ", true},
		{"tab and line break around", "\t" + id + "\n", true},
		{"space inside", id[:8] + " " + id[8:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantState := "replaced"
			if tt.ok {
				wantState = "ok"
			}
			// The status answer does not change with the call, so it is
			// compared byte for byte with the issued Id's.
			exact, _ := w.postAPI(t, hc, "status", id)
			raw, st := w.postAPI(t, hc, "status", tt.id)
			if st.State != wantState || (tt.ok && (st.Next == nil || raw != exact)) {
				t.Errorf("status = %s, want state %s (the issued Id's answer: %s)", raw, wantState, exact)
			}
			raw, dl := w.postAPI(t, hc, "strings", tt.id)
			if dl.State != wantState || (tt.ok && len(dl.Strings) != 100) {
				t.Errorf("strings = %.200s, want state %s", raw, wantState)
			}
			// The same Id over AgentXML, the phone apps' path.
			r, err := hc.Post(w.url+"/proxy/AgentXML", "text/xml",
				strings.NewReader(agentxmltest.SASRequest("Version", "3.6", "Action", "securitystrings", "Id", tt.id)))
			if err != nil {
				t.Fatal(err)
			}
			x, err := agentxmltest.ReadResponse(r)
			if err != nil {
				t.Fatal(err)
			}
			if x.Pass() != tt.ok {
				t.Errorf("AgentXML securitystrings = %s %s, want PASS %v", x.Result, x.Error, tt.ok)
			}
		})
	}
}

// TestHandler_DownloadLinesNameTheAddress: the audit lines of the strings
// a web client gets (with its set-up, and later from the API) name the
// phone's address, as AgentXML's download and the provision lines do.
func TestHandler_DownloadLinesNameTheAddress(t *testing.T) {
	w := newWorld(t)
	w.addUser(t, "ines", "1357", "")
	hc := w.client(t)
	r, err := hc.PostForm(w.url+"/userportal/setup", url.Values{"username": {"ines"}, "code": {w.code(t, "ines").Code}})
	if err != nil {
		t.Fatal(err)
	}
	body(t, r)
	u, _ := w.svc.User("ines")
	if u.DeviceID == "" {
		t.Fatalf("set-up answered %d and provisioned nothing", r.StatusCode)
	}
	if raw, dl := w.postAPI(t, hc, "strings", u.DeviceID); dl.State != "ok" {
		t.Fatalf("strings = %.200s", raw)
	}
	entries, err := w.svc.LogTail(100)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range entries {
		if !strings.Contains(e.Message, "Security strings fetched") {
			continue
		}
		found++
		if e.Actor != "a phone at 127.0.0.1" {
			t.Errorf("download line %q: actor %q, want %q", e.Message, e.Actor, "a phone at 127.0.0.1")
		}
	}
	if found != 2 {
		t.Errorf("%d download lines, want 2 (set-up and API)", found)
	}
}
