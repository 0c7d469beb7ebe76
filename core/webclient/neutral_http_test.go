package webclient_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
	"provisio/core/webclient"
)

// TestHandler_AnonymousAnswersSameForEveryAccount: every request anyone
// can send without a secret that names a user (a phone's provision, the
// web client's setup as a page and as JSON, the authenticator set-up, the
// token index, a self-service code request) answers byte for byte alike,
// status, headers (Content-Length included) and body, whether the name is
// no account or an account in any state: active, locked, disabled,
// without the mobile right, deleted, provisioned, in a profile of its
// own, with a pending mobile or authenticator code, with an expired code; and for the name written
// in another case, with spaces around it, in other scripts or far too
// long. None of them costs a durable write, except the code request
// that mails a code to the one account able to receive it (whose timing
// the request floor hides: TestHandler_RequestTimingFloor). Each account
// asks from its own loopback address, so the per-address limits and the
// delay after a wrong code are the same for all.
func TestHandler_AnonymousAnswersSameForEveryAccount(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	st := &storetest.Faulty{Store: storetest.MustOpen(t)}
	svc := storetest.MustServiceOn(t, st, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
	var portal *webclient.Handler
	srv, fp := agentxmltest.MustServer(t, svc, agentxmltest.WithLimits(agentxmltest.NoLimits()), func(o *agentxml.Options) {
		portal = webclient.New(svc, webclient.Options{Fingerprint: o.Fingerprint, RequestFloor: time.Millisecond})
		o.Portal = portal
	})
	for k, v := range map[string]string{
		"server.siteid": "office-1", "oath.enabled": "yes",
		"policy.mobile.sync_index": "Yes", "policy.selfreset.allow_self_provision": "Yes",
	} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	change := func(name string, f func(u *core.User)) {
		t.Helper()
		if _, err := svc.UpdateUser(name, func(u *core.User) error { f(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// The expired code first, then the clock moves past it.
	storetest.MustAddUser(t, svc, "expired", "1357")
	if _, err := svc.CreateProvisionCode("expired"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	for _, name := range []string{"active", "locked", "disabled", "noright", "deleted", "provisioned", "pending", "pendingoath", "profiled"} {
		storetest.MustAddUser(t, svc, name, "1357")
	}
	change("active", func(u *core.User) { u.Email = "" }) // so a code request sends nothing
	change("locked", func(u *core.User) { u.Locked = true })
	change("disabled", func(u *core.User) { u.Disabled = true })
	change("noright", func(u *core.User) { u.MobileAllowed = false })
	if err := svc.DeleteUser("deleted"); err != nil {
		t.Fatal(err)
	}
	// A profile that changes what the phone may do, and its own code
	// validity: none of it may show before a code is right.
	if err := svc.AddProfile(core.Profile{Name: "Secure", ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "it@example.org"})}); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"mutual_auth", "yes"}, {"logging", "yes"}, {"sync_index", "no"}} {
		if err := svc.SetProfileValue("Secure", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AssignProfileToUser("Secure", "profiled"); err != nil {
		t.Fatal(err)
	}
	ic, err := svc.CreateProvisionCode("provisioned")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Provision("127.0.0.1", "provisioned", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProvisionCode("pending"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.MailOATHProvisionCode("pendingoath", core.OATHOptions{}); err != nil {
		t.Fatal(err)
	}

	const wrong = "WRNG2345"
	form := "application/x-www-form-urlencoded"
	type request struct{ method, path, ctype, accept, body string }
	kinds := []struct {
		name string
		req  func(user string) request
	}{
		{"provision on /proxy", func(u string) request {
			return request{"POST", "/proxy/AgentXML", "text/xml", "", agentxmltest.SASRequest(
				"Version", "3.6", "Action", "provision", "Username", u, "ProvisionCode", wrong, "DeviceOS", "iOS")}
		}},
		{"setup page", func(u string) request {
			return request{"POST", "/userportal/setup", form, "", url.Values{"username": {u}, "code": {wrong}}.Encode()}
		}},
		{"setup JSON", func(u string) request {
			return request{"POST", "/userportal/setup", form, "application/json", url.Values{"username": {u}, "code": {wrong}}.Encode()}
		}},
		{"authenticator set-up", func(u string) request {
			return request{"POST", "/userportal/oath", form, "", url.Values{"username": {u}, "code": {wrong}}.Encode()}
		}},
		{"TokenIndex", func(u string) request {
			return request{"GET", "/proxy/TokenIndex?" + url.Values{"username": {u}}.Encode(), "", "", ""}
		}},
		{"code request", func(u string) request {
			return request{"POST", "/userportal/request", form, "", url.Values{"username": {u}}.Encode()}
		}},
	}
	// Each account's name at most three times: the code request's limit
	// per name (the same for any name) would answer the fourth 429.
	names := []string{"nobody", "active", "locked", "disabled", "noright", "deleted", "provisioned", "pending", "pendingoath", "expired", "profiled",
		"PENDING", " active ", "Locked\t", "pendïng", "ｐｅｎｄｉｎｇ", "pending\u200b", strings.Repeat("p", 64)}
	// answer is what a client sees, but the Date header.
	answer := func(r *http.Response) string {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		var h []string
		for k, v := range r.Header {
			if k != "Date" {
				h = append(h, k+": "+strings.Join(v, ", "))
			}
		}
		sort.Strings(h)
		return fmt.Sprintf("%d\n%s\n\n%s", r.StatusCode, strings.Join(h, "\n"), b)
	}
	clients := map[string]*http.Client{}
	for i, name := range names {
		clients[name] = clientFrom(t, fp, fmt.Sprintf("127.0.1.%d", 10+i))
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			var want string
			for _, name := range names {
				rq := kind.req(name)
				req, _ := http.NewRequest(rq.method, srv.URL()+rq.path, strings.NewReader(rq.body))
				if rq.ctype != "" {
					req.Header.Set("Content-Type", rq.ctype)
				}
				if rq.accept != "" {
					req.Header.Set("Accept", rq.accept)
				}
				writes := st.Writes.Load()
				before, err := svc.PendingCodes()
				if err != nil {
					t.Fatal(err)
				}
				r, err := clients[name].Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got := answer(r)
				// A code request's commit may land after its answer.
				webclient.Settled(portal)
				after, err := svc.PendingCodes()
				if err != nil {
					t.Fatal(err)
				}
				// The one write allowed: a code request that made a code
				// for an account able to receive it.
				mailed := kind.name == "code request" && !after[core.Key(name)].Equal(before[core.Key(name)])
				if n := st.Writes.Load() - writes; n != 0 && !mailed {
					t.Errorf("%q: %d writes", name, n)
				}
				if want == "" {
					want = got
					continue
				}
				if got != want {
					t.Errorf("%q is answered\n%s\nwhere no account is answered\n%s", name, got, want)
				}
			}
		})
	}
	// The pending codes are intact: no anonymous request spent one.
	pend, err := svc.PendingCodes()
	if err != nil {
		t.Fatal(err)
	}
	if pend["pending"].IsZero() || pend["pendingoath"].IsZero() {
		t.Errorf("pending codes after the requests: %v", pend)
	}
}
