package adminapi_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/store/storetest"
)

// Profiles and agents over the admin API are changed on the record as
// stored when the save's transaction runs (docs/decisions.md, "Two
// consoles editing the same record"). The answering service's store is a
// storetest.Meanwhile, which lands another server's save (a second
// service over the same data, as on an etcd site) at the start of the
// request's write transaction, after anything the request read first.

type meanwhileServer struct {
	m     *storetest.Meanwhile
	svc   *core.Service // answers on the socket
	other *core.Service // another server of the site
	sock  string
}

func newMeanwhileServer(t *testing.T) meanwhileServer {
	t.Helper()
	st := storetest.MustOpen(t)
	e := meanwhileServer{m: storetest.NewMeanwhile(st)}
	e.svc = storetest.MustServiceOn(t, e.m)
	e.other = storetest.MustServiceOn(t, st)
	e.sock = filepath.Join(t.TempDir(), adminapi.SocketName)
	srv, err := adminapi.Listen(e.sock, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(e.svc.Settings().MobileClient)}
	p.SupportEmail = "sales@example.org"
	if err := e.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// meanwhile makes the other server save during the next request's write.
func (e meanwhileServer) meanwhile(t *testing.T, save func(other *core.Service) error) {
	e.m.Before(func() {
		if err := save(e.other); err != nil {
			t.Error(err)
		}
	})
}

func (e meanwhileServer) console(t *testing.T) *adminapi.Console {
	t.Helper()
	c, err := adminapi.Dial(e.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return adminapi.NewConsole(c)
}

// stored is the other server with the data as stored now (a reload
// writes nothing, so the audit log ends with the request's line).
func (e meanwhileServer) stored(t *testing.T) *core.Service {
	t.Helper()
	if err := e.other.ReloadConfig("test"); err != nil {
		t.Fatal(err)
	}
	return e.other
}

// TestHandler_PutProfileMergesOverTheStoredProfile: PUT
// /v1/profiles/{name} changes the values given; it used to merge them
// over the profile read before the save, so a value another server saved
// in between was put back.
func TestHandler_PutProfileMergesOverTheStoredProfile(t *testing.T) {
	e := newMeanwhileServer(t)
	e.meanwhile(t, func(o *core.Service) error { return o.SetProfileValue("Sales", "support_phone", "+44 20 7946 0000") })
	req, _ := http.NewRequest(http.MethodPut, "http://provisio/v1/profiles/Sales", strings.NewReader(`{"pin_cache_timeout": 900}`))
	resp, err := unixClient(e.sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s", resp.Status, body)
	}
	got, _ := e.stored(t).Profile("Sales")
	if got.PINCacheTimeout != 900 || got.SupportPhone != "+44 20 7946 0000" {
		t.Errorf("stored timeout %d, support phone %q: want both saves", got.PINCacheTimeout, got.SupportPhone)
	}

	// A body that is not a profile's is refused before anything is written.
	for _, bad := range []string{`{"pin_cache_timeout": "soon"}`, `{"colour": "red"}`, `{"pin_max_retries": 0}`} {
		req, _ := http.NewRequest(http.MethodPut, "http://provisio/v1/profiles/Sales", strings.NewReader(bad))
		resp, err := unixClient(e.sock).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", bad, resp.Status)
		}
	}
	if p, _ := e.stored(t).Profile("Sales"); p.ClientPolicies != got.ClientPolicies {
		t.Errorf("a refused body changed the profile: %+v", p.ClientPolicies)
	}
}

// TestConsole_ChangesKeepWhatAnotherServerSavedMeanwhile: the attached
// console's ChangeProfile and ChangeAgent send only what its form
// changed, which the server applies to the record as stored at the save:
// another server's change, landed between, stays. The agent's secret,
// unchanged here, is not sent (the audit line names only the host).
func TestConsole_ChangesKeepWhatAnotherServerSavedMeanwhile(t *testing.T) {
	e := newMeanwhileServer(t)
	k := e.console(t)

	e.meanwhile(t, func(o *core.Service) error {
		return o.ChangeProfile("Sales", map[string]string{"support_phone": "+44 20 7946 0000", "pin_mode": "mandatory"})
	})
	if err := k.ChangeProfile("Sales", map[string]string{"pin_cache_timeout": "900", "logging": "Yes"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.stored(t).Profile("Sales")
	if p.PINCacheTimeout != 900 || !p.Logging || p.SupportPhone != "+44 20 7946 0000" || p.PINMode != core.PINModeMandatory {
		t.Errorf("stored profile %+v: want the console's timeout and logging, the other server's phone and PIN mode", p.ClientPolicies)
	}
	if err := k.ChangeProfile("Sales", map[string]string{"pin_max_retries": "none"}); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("a value that does not parse: %v", err)
	}

	sales := "sales"
	newSecret := "vpn-secret-2"
	e.meanwhile(t, func(o *core.Service) error {
		return o.ChangeAgent("vpn", core.AgentChange{Group: &sales, Secret: &newSecret})
	})
	host := "127.0.0.0/24"
	if err := k.ChangeAgent("vpn", core.AgentChange{Host: &host}); err != nil {
		t.Fatal(err)
	}
	if a := e.stored(t).Agents(); len(a) != 1 || a[0].Host != host || a[0].Group != "sales" || a[0].Secret != newSecret {
		t.Errorf("stored agents %+v: want the console's host, the other server's group and secret", a)
	}
	entries, _ := e.svc.LogTail(1)
	if msg := entries[0].Message; !strings.HasSuffix(msg, "changed: host 127.0.0.1 → 127.0.0.0/24.") {
		t.Errorf("the save's audit line %q: want only the host changed", msg)
	}
	if ag := k.Agents(); len(ag) != 1 || ag[0].Host != host || ag[0].Secret != core.SecretMask {
		t.Errorf("the console lists %+v after its change", ag)
	}

	// The mask the console was given in place of the secret is never
	// sent as one; a new secret is.
	mask := core.SecretMask
	if err := k.ChangeAgent("vpn", core.AgentChange{Secret: &mask}); err != nil {
		t.Fatal(err)
	}
	if a := e.stored(t).Agents(); a[0].Secret != newSecret {
		t.Errorf("secret %q after a change with the mask", a[0].Secret)
	}
	third := "vpn-secret-3"
	if err := k.ChangeAgent("vpn", core.AgentChange{Secret: &third}); err != nil {
		t.Fatal(err)
	}
	if a := e.stored(t).Agents(); a[0].Secret != third {
		t.Errorf("secret %q, want the new one", a[0].Secret)
	}
	if err := k.ChangeAgent("gone", core.AgentChange{Host: &host}); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("an agent that is not there: %v", err)
	}
	if len(e.stored(t).Agents()) != 1 {
		t.Error("a change to a missing agent created one")
	}
}
