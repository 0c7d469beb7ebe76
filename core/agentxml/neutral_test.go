package agentxml_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// clientFrom is an HTTPS client pinned to the test server whose
// connections come from localIP, another loopback address, so the server
// sees a second source address.
func clientFrom(t testing.TB, fp, localIP string) *http.Client {
	t.Helper()
	hc, err := agentxmltest.PinnedClient(fp)
	if err != nil {
		t.Fatal(err)
	}
	tr := hc.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// rawPost posts body and returns the reply's status line parts and body
// bytes, unparsed, so replies can be compared byte for byte.
func rawPost(t testing.TB, hc *http.Client, url, body string) (int, string, []byte) {
	t.Helper()
	resp, err := hc.Post(url, "application/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

// A login for an unknown user, a user without a PIN, one without strings,
// a locked (by an administrator or the policy) or disabled user, a user
// outside the agent's group and a plain wrong code all get the same bytes.
func TestAgentXML_LoginRepliesAreNeutral(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	e := newEnv(t, core.WithClock(clock))
	if err := e.svc.PutAgent(core.Agent{Name: "sales", Host: "127.0.0.2", Secret: "sales-shared-secret", Group: "sales"}); err != nil {
		t.Fatal(err)
	}
	phones := map[string]*agentxmltest.MobileClient{}
	for _, name := range []string{"ok", "adminlocked", "templocked", "permlocked", "disabled", "staff"} {
		phones[name] = e.provisioned(t, name, "9132")
	}
	storetest.MustAddUser(t, e.svc, "nostrings", "9132")
	if _, err := e.svc.AddUser(core.User{Name: "nopin", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser("adminlocked", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser("disabled", func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser("staff", func(u *core.User) error { u.Group = "staff"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("policy.lockout.max_locks", "2"); err != nil {
		t.Fatal(err)
	}
	// templocked: one lock of five minutes; permlocked: two, the last permanent.
	hc, err := agentxmltest.PinnedClient(e.fp)
	if err != nil {
		t.Fatal(err)
	}
	url := e.srv.URL() + "/pinsafe/AgentXML"
	login := func(hc *http.Client, secret, user, otc string) []byte {
		t.Helper()
		status, ct, body := rawPost(t, hc, url, agentxmltest.SASRequest("Version", "3.6", "Secret", secret, "Action", "login", "Username", user, "OTC", otc))
		if status != http.StatusOK || ct != wantCT {
			t.Fatalf("login %s: HTTP %d %q", user, status, ct)
		}
		return body
	}
	for name, n := range map[string]int{"templocked": 5, "permlocked": 10} {
		for range n {
			login(hc, agentSecret, name, "000000")
		}
	}
	for name, want := range map[string]string{"templocked": "locked until 10:05", "permlocked": "locked"} {
		lock, err := e.svc.Lock(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Replace(lock.String(), lock.Until.Local().Format("15:04"), lock.Until.UTC().Format("15:04"), 1); got != want {
			t.Fatalf("%s is %q, want %q", name, got, want)
		}
	}

	right := func(name string) string {
		c, _ := phones[name].OTC("9132")
		return c
	}
	okCode, _ := phones["ok"].OTC("9132")
	wrongCode := okCode[:len(okCode)-3] + string(rune('0'+(okCode[len(okCode)-3]-'0'+1)%10)) + okCode[len(okCode)-2:]
	reference := login(hc, agentSecret, "ok", wrongCode)
	if !bytes.Contains(reference, []byte("<Result>FAIL</Result>")) || bytes.Contains(reference, []byte("<Error>")) {
		t.Fatalf("a wrong code is not a bare FAIL:\n%s", reference)
	}
	salesClient := clientFrom(t, e.fp, "127.0.0.2")
	tests := []struct {
		name   string
		client *http.Client
		secret string
		user   string
		otc    string
	}{
		{"unknown user", hc, agentSecret, "ghost", okCode},
		{"no PIN", hc, agentSecret, "nopin", okCode},
		{"no strings", hc, agentSecret, "nostrings", okCode},
		{"locked by an administrator, right code", hc, agentSecret, "adminlocked", right("adminlocked")},
		{"temporarily locked, right code", hc, agentSecret, "templocked", right("templocked")},
		{"permanently locked, right code", hc, agentSecret, "permlocked", right("permlocked")},
		{"disabled, right code", hc, agentSecret, "disabled", right("disabled")},
		{"outside the agent's group, right code", salesClient, "sales-shared-secret", "staff", right("staff")},
		{"replay of an accepted code", hc, agentSecret, "ok", okCode},
	}
	if got := login(hc, agentSecret, "ok", okCode); !bytes.Contains(got, []byte("<Result>PASS</Result>")) {
		t.Fatalf("ok's right code:\n%s", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := login(tt.client, tt.secret, tt.user, tt.otc); !bytes.Equal(got, reference) {
				t.Fatalf("reply differs from a wrong code's:\n%s\nwant:\n%s", got, reference)
			}
		})
	}
	// The audit log keeps the precise reasons.
	wantLog(t, e.svc, `Login failed for user: ghost, error: No suitable authentication method for the user "ghost" was found. The user may be missing from the user repository or a synchronisation has not yet occurred.`,
		"Login failed for user: nopin, error: the user has no PIN",
		"Login failed for user: nostrings, error: the user has no security strings",
		"Login failed for user: permlocked, error: the user is locked until an administrator unlocks the account",
		"Login failed for user: templocked, error: the user is locked until 2026-03-02T10:05:00Z",
		"Login failed for user: disabled, error: the user is disabled")
}

// 50 replays of an accepted code over HTTPS are refused without locking
// the user, whose next code still works.
func TestAgentXML_ReplaysDoNotLock(t *testing.T) {
	e := newEnv(t)
	m := e.provisioned(t, "alice", "9132")
	code, _ := m.OTC("9132")
	if res, errCode, err := e.agent.Login("alice", code); err != nil || res != "PASS" {
		t.Fatalf("first login: %s %s %v", res, errCode, err)
	}
	for i := range 50 {
		if res, errCode, err := e.agent.Login("alice", code); err != nil || res != "FAIL" || errCode != "" {
			t.Fatalf("replay %d: %s %s %v", i, res, errCode, err)
		}
	}
	if u, _ := e.svc.User("alice"); u.Locked || u.Failures != 0 {
		t.Fatalf("after 50 replays: locked %v, failures %d", u.Locked, u.Failures)
	}
	next, _ := m.OTC("9132")
	if res, errCode, err := e.agent.Login("alice", next); err != nil || res != "PASS" {
		t.Fatalf("next code: %s %s %v", res, errCode, err)
	}
}

// provisionRequest is what a phone sends to redeem code for user.
func provisionRequest(user, code string) string {
	return agentxmltest.SASRequest("Version", "3.6", "Action", "provision", "Username", user, "ProvisionCode", code, "DeviceOS", "iOS")
}

// Junk provision attempts from one address leave the code working for
// the phone on another, and unknown users answer like real ones.
func TestProvision_JunkFromAnotherAddress(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	m := e.phone(t, "alice")
	attacker := clientFrom(t, e.fp, "127.0.0.2")
	var replies [][]byte
	for i, user := range []string{"alice", "alice", "alice", "ghost", "alice"} {
		status, _, body := rawPost(t, attacker, m.AgentURL(), provisionRequest(user, "JUNK"+string(rune('A'+i))+"XYZ"))
		if status != http.StatusOK {
			t.Fatalf("junk %d: HTTP %d", i, status)
		}
		replies = append(replies, body)
	}
	for i, r := range replies {
		if !bytes.Equal(r, replies[0]) || !bytes.Contains(r, []byte("<Error>PROVISION_FAILURE</Error>")) {
			t.Fatalf("junk reply %d:\n%s\nfirst:\n%s", i, r, replies[0])
		}
	}
	if err := m.Provision("iOS 18"); err != nil {
		t.Fatalf("the phone after junk from another address: %v", err)
	}
	if err := e.svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.svc, `User "alice" provisioned successfully`,
		"refused request from 127.0.0.2 in the last minute: wrong provision code",
		"refused requests from 127.0.0.2 in the last minute: provision attempt inside the delay after a wrong code",
		"refused request from 127.0.0.2 in the last minute: provision attempt for an unknown user or one without a pending code")
}

// Twenty wrong attempts from twenty addresses kill the code: then even
// the right one fails, with the same reply.
func TestProvision_TwentyWrongAttemptsKillTheCode(t *testing.T) {
	e := newEnv(t)
	storetest.MustAddUser(t, e.svc, "alice", "1234")
	m := e.phone(t, "alice")
	var first []byte
	for i := range 20 {
		from := clientFrom(t, e.fp, fmt.Sprintf("127.0.1.%d", i+1))
		_, _, body := rawPost(t, from, m.AgentURL(), provisionRequest("alice", fmt.Sprintf("WRONG%03d", i)))
		if first == nil {
			first = body
		}
		if !bytes.Equal(body, first) || !bytes.Contains(body, []byte("<Error>PROVISION_FAILURE</Error>")) {
			t.Fatalf("attempt %d:\n%s", i, body)
		}
	}
	if got := failCode(m.Provision("iOS")); got != "FAIL PROVISION_FAILURE" {
		t.Fatalf("the right code after 20 wrong attempts: %s", got)
	}
	wantLog(t, e.svc, "the provision code stopped working after 20 wrong attempts; make a new one")
}
