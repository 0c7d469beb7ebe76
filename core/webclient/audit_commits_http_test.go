package webclient_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/certs"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// rotatingClient dials every request from a new loopback address
// 127.B.x.y (no keep-alive), so that per-address limits and the delay
// after a wrong code never stop a request before the check a refusal is
// decided by.
func rotatingClient(t *testing.T, fp string, b byte) *http.Client {
	t.Helper()
	hc, err := agentxmltest.PinnedClient(fp)
	if err != nil {
		t.Fatal(err)
	}
	tr := hc.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	var n atomic.Uint32
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		i := n.Add(1)
		ip := net.IPv4(127, b, byte(i/250), byte(i%250+1))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	hc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc
}

// commits is the bbolt file's commit count (store.Store.Commits).
func commits(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	n, err := st.Commits()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSurface_RefusedRequestsCommitNothing: 200 refused requests of each
// kind anyone can send without a secret cost no bbolt commit, counted by
// the file's own transaction id, whether or not a limit refuses them
// first: each kind runs once from 200 loopback addresses (so every one
// reaches the check that refuses it) and once from a single address
// under the default limits (so most are refused by a limit). The one
// commit allowed is the documented one: the wrong provision attempt that
// uses up a pending code's last allowed attempt deletes it.
func TestSurface_RefusedRequestsCommitNothing(t *testing.T) {
	for _, lim := range []struct {
		name   string
		limits agentxml.Limits
		rotate bool
	}{
		{"from 200 addresses", agentxmltest.NoLimits(), true},
		{"from one address under the default limits", agentxml.DefaultLimits(), false},
	} {
		t.Run(lim.name, func(t *testing.T) { refusedCommitNothing(t, lim.limits, lim.rotate) })
	}
}

func refusedCommitNothing(t *testing.T, limits agentxml.Limits, rotate bool) {
	st := storetest.MustOpen(t)
	caDir := t.TempDir()
	w := newWorldOn(t, st, time.Millisecond, func(o *agentxml.Options) {
		o.Limits = &limits
		o.DeviceCA = certs.NewDeviceCA(caDir)
	})
	for k, v := range map[string]string{
		"server.siteid": "office-1", "oath.enabled": "yes",
		"policy.selfreset.allow_self_provision": "Yes",
	} {
		if err := w.svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.srv.OpenMTLS("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	// alice has a phone whose profile has since
	// turned on mutual authentication, so her downloads need a device
	// certificate she does not have.
	// frank's code is for wrong attempts (it dies after 20), henry's for
	// code requests while one is pending.
	for _, name := range []string{"frank", "henry"} {
		w.addUser(t, name, "1357", "")
		w.code(t, name)
	}
	w.addUser(t, "alice", "2468", "")
	ic := w.code(t, "alice")
	p, err := w.svc.Provision("127.0.0.1", "alice", ic.Code, "Android 15")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.AddProfile(core.Profile{Name: "Secure", ClientPolicies: core.DefaultClientPolicies(w.svc.Settings().MobileClient)}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"mutual_auth", "yes"}, {"logging", "yes"}} {
		if err := w.svc.SetProfileValue("Secure", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.svc.AssignProfileToUser("Secure", "alice"); err != nil {
		t.Fatal(err)
	}
	// ida's set-up code is for another site's posts: were they read, the
	// 20th wrong code would delete it, a commit.
	for _, name := range []string{"gina", "ida"} {
		w.addUser(t, name, "1357", "")
		if _, err := w.svc.MailOATHProvisionCode(name, core.OATHOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	sas := agentxmltest.SASRequest
	form := "application/x-www-form-urlencoded"
	const unknownID = "00112233445566778899aabbccddeeff"
	type request struct{ method, path, ctype, body string }
	kinds := []struct {
		name string
		req  func(i int) request
		want uint64 // commits allowed in the 200
	}{
		{"login with a wrong agent secret", func(i int) request {
			return request{"POST", "/pinsafe/AgentXML", "text/xml", sas("Version", "3.6", "Action", "login", "AgentSecret", "wrong", "Username", "alice", "OTC", "123456")}
		}, 0},
		{"AdminXML with a wrong agent secret", func(i int) request {
			return request{"POST", "/pinsafe/AdminXML", "text/xml", `<AdminRequest secret="wrong" version="3.6"><Read><User name="alice"/></Read></AdminRequest>`}
		}, 0},
		{"provision for an unknown user", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "provision", "Username", fmt.Sprintf("nobody%d", i), "ProvisionCode", "WRNG2345")}
		}, 0},
		{"provision with a wrong code", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "provision", "Username", "frank", "ProvisionCode", "WRNG2345")}
		}, 1}, // the 20th wrong attempt deletes frank's code, once
		{"provision with an unusable CSR", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "provision", "Username", "alice", "ProvisionCode", "WRNG2345", "CSR", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")}
		}, 0},
		{"malformed XML", func(i int) request { return request{"POST", "/proxy/AgentXML", "text/xml", "<SASRequest><Action>"} }, 0},
		{"oversize body", func(i int) request {
			return request{"POST", "/pinsafe/AgentXML", "text/xml", "<SASRequest>" + strings.Repeat("x", 70<<10) + "</SASRequest>"}
		}, 0},
		{"unknown path", func(i int) request { return request{"GET", fmt.Sprintf("/nothing/%d", i), "", ""} }, 0},
		{"security strings without the device certificate", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "securitystrings", "Id", p.DeviceID)}
		}, 0},
		{"security strings for an unknown device", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "securitystrings", "Id", unknownID)}
		}, 0},
		{"client log from an unknown device", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "clientlog", "Id", unknownID, "Log", "hello")}
		}, 0},
		{"client log without the device certificate", func(i int) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", sas("Version", "3.6", "Action", "clientlog", "Id", p.DeviceID, "Log", "hello")}
		}, 0},
		{"web client set-up with a wrong code", func(i int) request {
			return request{"POST", "/userportal/setup", form, url.Values{"username": {"frank"}, "code": {"WRNG2345"}}.Encode()}
		}, 0},
		{"web client set-up for an unknown user", func(i int) request {
			return request{"POST", "/userportal/setup", form, url.Values{"username": {fmt.Sprintf("nobody%d", i)}, "code": {"WRNG2345"}}.Encode()}
		}, 0},
		{"web client set-up, unreadable", func(i int) request { return request{"POST", "/userportal/setup", form, "%zz"} }, 0},
		{"web client status of an unknown device", func(i int) request {
			return request{"POST", "/userportal/app/api/status", "application/json", `{"id":"` + unknownID + `"}`}
		}, 0},
		{"web client download for an unknown device", func(i int) request {
			return request{"POST", "/userportal/app/api/strings", "application/json", `{"id":"` + unknownID + `"}`}
		}, 0},
		{"web client log from an unknown device", func(i int) request {
			return request{"POST", "/userportal/app/api/log", "application/json", `{"id":"` + unknownID + `","log":"hello"}`}
		}, 0},
		{"web client log without the device certificate", func(i int) request {
			return request{"POST", "/userportal/app/api/log", "application/json", `{"id":"` + p.DeviceID + `","log":"hello"}`}
		}, 0},
		{"code request for an unknown user", func(i int) request {
			return request{"POST", "/userportal/request", form, url.Values{"username": {fmt.Sprintf("nobody%d", i)}}.Encode()}
		}, 0},
		{"code request while a code is pending", func(i int) request {
			return request{"POST", "/userportal/request", form, url.Values{"username": {"henry"}}.Encode()}
		}, 0},
		{"authenticator set-up with a wrong code", func(i int) request {
			return request{"POST", "/userportal/oath", form, url.Values{"username": {"gina"}, "code": {"WRNG2345"}}.Encode()}
		}, 1}, // the 20th wrong attempt deletes gina's code, once
		{"TokenIndex while Sync Index is off", func(i int) request { return request{"GET", "/proxy/TokenIndex?username=alice", "", ""} }, 0},
		{"QR code of another text", func(i int) request { return request{"GET", "/userportal/getQRCode?text=hello", "", ""} }, 0},
		{"GET ?xml=", func(i int) request {
			return request{"GET", "/pinsafe/AgentXML?xml=" + url.QueryEscape(sas("Version", "3.6", "Action", "ping")), "", ""}
		}, 0},
		// Since the review of 2 December: the set-up pages' refusals are
		// pages (refused.html), the web client asks HEAD /userportal/.
		{"authenticator set-up from another website", func(i int) request {
			return request{"POST", "/userportal/oath", form, url.Values{"username": {"ida"}, "code": {"WRNG2345"}}.Encode()}
		}, 0},
		{"authenticator set-up for an unknown user", func(i int) request {
			return request{"POST", "/userportal/oath", form, url.Values{"username": {fmt.Sprintf("nobody%d", i)}, "code": {"WRNG2345"}}.Encode()}
		}, 0},
		{"authenticator set-up without a code", func(i int) request {
			return request{"POST", "/userportal/oath", form, url.Values{"username": {"gina"}}.Encode()}
		}, 0},
		{"authenticator set-up, unreadable", func(i int) request { return request{"POST", "/userportal/oath", form, "%zz"} }, 0},
		{"Provision URL page without a code", func(i int) request {
			return request{"GET", "/userportal/provision?username=gina", "", ""}
		}, 0},
		{"HEAD of the self-service page", func(i int) request { return request{"HEAD", "/userportal/", "", ""} }, 0},
		{"authenticator QR page by GET", func(i int) request { return request{"GET", "/userportal/oath", "", ""} }, 0},
	}
	// What a browser says of a request another site's page sent.
	headers := map[string]map[string]string{
		"authenticator set-up from another website": {"Sec-Fetch-Site": "cross-site", "Origin": "https://elsewhere.example"},
	}
	for k, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			hc := w.client(t)
			if rotate {
				hc = rotatingClient(t, w.fp, byte(10+k))
			}
			before := commits(t, st)
			statuses := map[int]int{}
			for i := range 200 {
				rq := kind.req(i)
				req, _ := http.NewRequest(rq.method, w.url+rq.path, strings.NewReader(rq.body))
				if rq.ctype != "" {
					req.Header.Set("Content-Type", rq.ctype)
				}
				for k, v := range headers[kind.name] {
					req.Header.Set(k, v)
				}
				r, err := hc.Do(req)
				if err != nil && kind.name == "oversize body" {
					// The server answers 413 before it reads the body
					// and closes; the reset may reach the client first.
					statuses[-1]++
					continue
				} else if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				statuses[r.StatusCode]++
				if strings.Contains(string(b), "PASS") || r.StatusCode == http.StatusCreated {
					t.Fatalf("request %d passed: %d %s", i, r.StatusCode, b)
				}
			}
			if got := commits(t, st) - before; got > kind.want {
				t.Errorf("200 requests (statuses %v) cost %d commits, want at most %d", statuses, got, kind.want)
			}
		})
	}
}
