package webclient_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
)

// postLog sends "Send diagnostic log" as the app does.
func (w *world) postLog(t *testing.T, hc *http.Client, id, text string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"id": id, "log": text})
	r, err := hc.Post(w.url+"/userportal/app/api/log", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r.StatusCode, body(t, r)
}

// The web client's upload over real HTTPS: accepted with logging on;
// an unknown device and a device whose profile has logging off get the
// same answer, byte for byte, and no write; too large a body is refused;
// a source address gets 5 uploads per 15 minutes.
func TestHandler_ClientLog(t *testing.T) {
	w := newWorld(t)
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(w.svc.Settings().MobileClient)}
	p.Logging = true
	if err := w.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, n := range []string{"lena", "omar"} {
		w.addUser(t, n, "9132", "")
		ic := w.code(t, n)
		pr, err := w.svc.Provision("127.0.0.1", n, ic.Code, "web")
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = pr.DeviceID
	}
	if err := w.svc.AssignProfileToUser("Diagnostics", "lena"); err != nil {
		t.Fatal(err)
	}
	hc := w.client(t)

	if status, b := w.postLog(t, hc, ids["lena"], "app opened"); status != http.StatusOK || !strings.Contains(b, `"state":"ok"`) {
		t.Fatalf("upload with logging on = %d %s", status, b)
	}
	logs := w.logCount(t)
	sUnknown, unknown := w.postLog(t, hc, strings.Repeat("ab", 16), "app opened")
	sOff, off := w.postLog(t, hc, ids["omar"], "app opened")
	if sUnknown != sOff || unknown != off || !strings.Contains(off, `"state":"refused"`) {
		t.Fatalf("answers differ or accepted:\nunknown: %d %s\noff:     %d %s", sUnknown, unknown, sOff, off)
	}
	if w.logCount(t) != logs {
		t.Fatal("a refused upload wrote a log line")
	}
	if status, b := w.postLog(t, hc, ids["lena"], strings.Repeat("\u00e9", core.MaxClientLogUpload)); status != http.StatusRequestEntityTooLarge && !strings.Contains(b, "larger than") {
		t.Fatalf("oversized upload = %d %s", status, b)
	}
	// Five so far from this address: the sixth is over the limit.
	if status, b := w.postLog(t, hc, ids["lena"], "again"); status != http.StatusOK {
		t.Fatalf("fifth upload = %d %s", status, b)
	}
	if status, b := w.postLog(t, hc, ids["lena"], "again"); status != http.StatusTooManyRequests {
		t.Fatalf("sixth upload = %d %s, want 429", status, b)
	}
	if got, _ := w.svc.ClientLogs("lena"); len(got) != 2 {
		t.Fatalf("%d logs stored for lena, want 2", len(got))
	}
}
