package main

import (
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
)

// phoneCrash is what one subtest of TestServe_PhoneWritesSurviveKill
// works with: the office, the running server's fingerprint and an
// attached console.
type phoneCrash struct {
	o           *crashOffice
	fingerprint string
	console     *adminapi.Console
}

// vpn is the agent "vpn" talking to the running server.
func (p *phoneCrash) vpn(t *testing.T) *agentxmltest.AgentClient {
	t.Helper()
	a, err := agentxmltest.NewAgentClient("https://"+p.o.listen, p.fingerprint, "s3cret-123")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// login asks the server, as the VPN, whether code lets alice in.
func (p *phoneCrash) login(t *testing.T, code string) string {
	t.Helper()
	result, _, err := p.vpn(t).Login("alice", code)
	if err != nil {
		t.Fatal(err)
	}
	return result
}

// reprovision issues alice a provision code through the attached command
// line, as an administrator would, and returns the code and its URL.
func (p *phoneCrash) reprovision(t *testing.T) (code, provisionURL string) {
	t.Helper()
	out := attachedCLI(t, p.o.dir, "", "reprovision", "alice")
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Provision code for alice: "); ok {
			code = v
		}
		if v, ok := strings.CutPrefix(line, "Provision URL: "); ok {
			provisionURL = v
		}
	}
	if code == "" || provisionURL == "" {
		t.Fatalf("reprovision printed no code and URL:\n%s", out)
	}
	return code, provisionURL
}

// phone is a mobile client for the Provision URL u.
func (p *phoneCrash) phone(t *testing.T, u string) *agentxmltest.MobileClient {
	t.Helper()
	m, err := agentxmltest.NewMobileClient(u, p.fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// webSetup is the web client's "Set up this phone" POST, as setup.js
// sends it: the JSON answer holds the strings the browser keeps.
func (p *phoneCrash) webSetup(t *testing.T, code string) (state string, strs []string) {
	t.Helper()
	hc, err := agentxmltest.PinnedClient(p.fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "https://"+p.o.listen+"/userportal/setup",
		strings.NewReader(url.Values{"username": {"alice"}, "code": {code}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		State string `json:"state"`
		Setup *struct {
			Strings []string `json:"strings"`
		} `json:"setup"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("setup answer (%s): %v", resp.Status, err)
	}
	if r.Setup != nil {
		strs = r.Setup.Strings
	}
	return r.State, strs
}

// hotp issues alice a counter-based OATH token through the console and
// returns the function that makes its code for a counter.
func (p *phoneCrash) hotp(t *testing.T) func(counter uint64) string {
	t.Helper()
	iss, err := p.console.IssueOATH("alice", core.OATHOptions{Kind: core.OATHHOTP})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(iss.SecretText, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return func(c uint64) string {
		return core.HOTPCode(secret, c, iss.Options.Algorithm, iss.Options.Digits)
	}
}

// TestServe_PhoneWritesSurviveKill: what a phone or an authenticator app
// is told has happened is in the data file after the server is killed
// with SIGKILL the moment the answer was read, and the restarted server
// acts on it: a provisioned phone downloads, downloaded strings log in,
// a spent provision code or OATH code stays spent.
func TestServe_PhoneWritesSurviveKill(t *testing.T) {
	tmpl := newCrashOffice(t)
	tests := []struct {
		name string
		// act does the acknowledged write (and what must come before
		// it) against the first server; the returned check runs against
		// the restarted one.
		act func(t *testing.T, p *phoneCrash) (check func(t *testing.T, p *phoneCrash))
	}{
		{"mobile client provisions", func(t *testing.T, p *phoneCrash) func(*testing.T, *phoneCrash) {
			_, u := p.reprovision(t)
			ph := p.phone(t, u)
			if err := ph.Provision("TestOS"); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T, p *phoneCrash) {
				if err := ph.DownloadStrings(); err != nil {
					t.Errorf("the provisioned phone cannot download after the restart: %v", err)
				}
				if err := p.phone(t, u).Provision("OtherOS"); err == nil {
					t.Error("the provision code was spent, yet works again after the restart")
				}
			}
		}},
		{"mobile client downloads strings", func(t *testing.T, p *phoneCrash) func(*testing.T, *phoneCrash) {
			_, u := p.reprovision(t)
			ph := p.phone(t, u)
			if err := ph.Provision("TestOS"); err != nil {
				t.Fatal(err)
			}
			if err := ph.DownloadStrings(); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T, p *phoneCrash) {
				otc, _ := ph.OTC("9132")
				if r := p.login(t, otc); r != "PASS" {
					t.Errorf("a code from the strings the phone got: %s, want PASS", r)
				}
			}
		}},
		{"web client sets up", func(t *testing.T, p *phoneCrash) func(*testing.T, *phoneCrash) {
			code, _ := p.reprovision(t)
			state, strs := p.webSetup(t, code)
			if state != "ok" || len(strs) == 0 || len(strs[0]) != 10 {
				t.Fatalf("setup: %q, %d strings", state, len(strs))
			}
			return func(t *testing.T, p *phoneCrash) {
				var s [10]byte
				copy(s[:], strs[0])
				if r := p.login(t, core.MobileCode(core.ExtractOTC(s, "9132"), 0)); r != "PASS" {
					t.Errorf("a code from the strings the browser kept: %s, want PASS", r)
				}
				if state, _ := p.webSetup(t, code); state != "refused" {
					t.Errorf("the spent code sets up another browser after the restart: %q", state)
				}
			}
		}},
		{"OATH token confirmed", func(t *testing.T, p *phoneCrash) func(*testing.T, *phoneCrash) {
			code := p.hotp(t)
			if err := p.console.ConfirmOATH("alice", code(0)); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T, p *phoneCrash) {
				if st, err := p.console.OATHStatus("alice"); err != nil || st.State != "confirmed" {
					t.Errorf("alice's token after the restart: %+v, %v", st, err)
				}
				if r := p.login(t, code(1)); r != "PASS" {
					t.Errorf("the app's next code: %s, want PASS", r)
				}
			}
		}},
		{"OATH code redeemed", func(t *testing.T, p *phoneCrash) func(*testing.T, *phoneCrash) {
			code := p.hotp(t)
			if err := p.console.ConfirmOATH("alice", code(0)); err != nil {
				t.Fatal(err)
			}
			if r := p.login(t, code(1)); r != "PASS" {
				t.Fatalf("login: %s", r)
			}
			return func(t *testing.T, p *phoneCrash) {
				if r := p.login(t, code(1)); r == "PASS" {
					t.Error("the spent OATH code passes again after the restart")
				}
				if r := p.login(t, code(2)); r != "PASS" {
					t.Errorf("the app's next code: %s, want PASS", r)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tmpl.fresh(t)
			start := func() (*servedChild, *phoneCrash) {
				srv := startServeChild(t, o.dir)
				cl, err := adminapi.Dial(filepath.Join(o.dir, adminapi.SocketName))
				if err != nil {
					t.Fatal(err)
				}
				return srv, &phoneCrash{o: o, fingerprint: srv.fingerprint, console: adminapi.NewConsole(cl)}
			}
			srv, p := start()
			check := tt.act(t, p)
			srv.kill() // the answer has been read: the write was acknowledged
			if t.Failed() {
				return
			}
			srv, p = start()
			defer srv.kill()
			check(t, p)
		})
	}
}
