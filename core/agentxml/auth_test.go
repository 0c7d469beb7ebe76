package agentxml_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
)

// Each authentication action over HTTPS against the fixture of
// docs/api.md, with its error paths. Alice's string i is 0123456789
// turned left by i: with PIN 9132 string 0 gives 802100.

const (
	vpnSecret   = "vpn-secret-1234"
	groupSecret = "sales-only-1234" // agent "salesonly", group sales
)

// aliceCode is alice's login code for string i with pin.
func aliceCode(pin string, i int) string {
	ss := fixtureStrings()
	return core.MobileCode(core.ExtractOTC(ss.S[i], pin), i)
}

func edit(name string, fn func(*core.User)) func(*testing.T, *fixtureEnv) {
	return func(t *testing.T, f *fixtureEnv) {
		t.Helper()
		if _, err := f.svc.UpdateUser(name, func(u *core.User) error { fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	lockAlice    = edit("alice", func(u *core.User) { u.Locked = true })
	disableAlice = edit("alice", func(u *core.User) { u.Disabled = true })
)

func TestAgentXML_Actions(t *testing.T) {
	tests := []struct {
		name   string
		secret string // default vpnSecret
		setup  func(*testing.T, *fixtureEnv)
		action string
		pairs  []string
		want   string // "PASS" or "FAIL <Error>"
		check  func(*testing.T, *fixtureEnv, *agentxmltest.Response)
	}{
		{name: "login", action: "login", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0)}, want: "PASS"},
		{name: "login locked, right code", setup: lockAlice, action: "login", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0)}, want: "FAIL "},
		{name: "login disabled, right code", setup: disableAlice, action: "login", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0)}, want: "FAIL "},
		{name: "login not in group", secret: groupSecret, action: "login", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0)}, want: "FAIL "},
		{name: "login deleted", action: "login", pairs: []string{"Username", "erin", "OTC", aliceCode("9132", 0)}, want: "FAIL "},
		{name: "login foreign session", action: "login", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0), "SessionID", "00112233445566778899aabbccddeeff"}, want: "FAIL AGENT_ERROR_SESSION"},

		{name: "changepin", action: "changepin", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0), "NewOTC", core.ExtractOTC(fixtureStrings().S[0], "4321")}, want: "PASS",
			check: func(t *testing.T, f *fixtureEnv, _ *agentxmltest.Response) {
				if u, _ := f.svc.User("alice"); u.PIN != "4321" {
					t.Errorf("PIN %q, want 4321", u.PIN)
				}
			}},
		{name: "changepin wrong code", action: "changepin", pairs: []string{"Username", "alice", "OTC", aliceCode("1111", 0), "NewOTC", "5432"}, want: "FAIL "},
		{name: "changepin no NewOTC", action: "changepin", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0)}, want: "FAIL AGENT_ERROR_BAD_OTC"},
		{name: "changepin locked", setup: lockAlice, action: "changepin", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0), "NewOTC", "5432"}, want: "FAIL "},
		{name: "changepin disabled", setup: disableAlice, action: "changepin", pairs: []string{"Username", "alice", "OTC", aliceCode("9132", 0), "NewOTC", "5432"}, want: "FAIL "},
		{name: "changepin unknown", action: "changepin", pairs: []string{"Username", "nobody", "OTC", aliceCode("9132", 0), "NewOTC", "5432"}, want: "FAIL "},
		{name: "changepin no strings", action: "changepin", pairs: []string{"Username", "carol", "OTC", "482100", "NewOTC", "5432"}, want: "FAIL "},

		{name: "exists deleted", action: "exists", pairs: []string{"Username", "erin"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "existsbyattribute email", action: "existsbyattribute", pairs: []string{"AttributeName", "Email", "AttributeValue", "CAROL@example.org"}, want: "PASS"},
		{name: "existsbyattribute deleted", action: "existsbyattribute", pairs: []string{"AttributeName", "email", "AttributeValue", "erin@example.org"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "existsbyattribute no name", action: "existsbyattribute", pairs: []string{"AttributeValue", "x"}, want: "FAIL AGENT_ERROR_GENERAL"},

		{name: "getuserattribute fullname", action: "getuserattribute", pairs: []string{"Username", "alice", "AttributeName", "FullName"}, want: "PASS",
			check: wantElem(func(r *agentxmltest.Response) string { return r.AttributeValue }, "Alice Smith")},
		{name: "getuserattribute unknown user", action: "getuserattribute", pairs: []string{"Username", "nobody", "AttributeName", "upn"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "getuserattribute deleted user", action: "getuserattribute", pairs: []string{"Username", "erin", "AttributeName", "email"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "getuserattribute missing", action: "getuserattribute", pairs: []string{"Username", "frank", "AttributeName", "email"}, want: "FAIL AGENT_ERROR_NO_ATTRIBUTE"},

		{name: "getusernamebyattribute", action: "getusernamebyattribute", pairs: []string{"AttributeName", "employee", "AttributeValue", "e1042"}, want: "PASS",
			check: wantElem(func(r *agentxmltest.Response) string { return r.Username }, "carol")},
		{name: "getusernamebyattribute unknown", action: "getusernamebyattribute", pairs: []string{"AttributeName", "employee", "AttributeValue", "E9999"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "getusernamebyattribute shared", setup: edit("bob", func(u *core.User) { u.Mobile = "+44 20 7946 0001" }),
			action: "getusernamebyattribute", pairs: []string{"AttributeName", "mobile", "AttributeValue", "+44 20 7946 0001"}, want: "FAIL AGENT_ERROR_GENERAL"},

		{name: "loginbyattribute", action: "loginbyattribute", pairs: []string{"AttributeName", "email", "AttributeValue", "alice@example.org", "OTC", aliceCode("9132", 5)}, want: "PASS"},
		{name: "loginbyattribute unknown", action: "loginbyattribute", pairs: []string{"AttributeName", "email", "AttributeValue", "x@example.org", "OTC", aliceCode("9132", 5)}, want: "FAIL "},
		{name: "loginbyattribute locked", setup: lockAlice, action: "loginbyattribute", pairs: []string{"AttributeName", "upn", "AttributeValue", "alice@corp.example.org", "OTC", aliceCode("9132", 5)}, want: "FAIL "},
		{name: "loginbyattribute no OTC", action: "loginbyattribute", pairs: []string{"AttributeName", "upn", "AttributeValue", "alice@corp.example.org"}, want: "FAIL AGENT_ERROR_NO_OTC"},

		{name: "increaselock", action: "increaselock", pairs: []string{"Username", "carol"}, want: "PASS",
			check: func(t *testing.T, f *fixtureEnv, _ *agentxmltest.Response) {
				if u, _ := f.svc.User("carol"); u.Failures != 1 {
					t.Errorf("failures %d, want 1", u.Failures)
				}
			}},
		{name: "increaselock to the limit", setup: func(t *testing.T, f *fixtureEnv) {
			for range 4 {
				if err := f.svc.IncreaseLock(fixtureAgents[0], "carol"); err != nil {
					t.Fatal(err)
				}
			}
		}, action: "increaselock", pairs: []string{"Username", "carol"}, want: "FAIL AGENT_ERROR_USER_LOGIN_TRIES_EXCEEDED"},
		{name: "increaselock disabled", action: "increaselock", pairs: []string{"Username", "dave"}, want: "FAIL AGENT_ERROR_USER_DISABLED"},
		{name: "increaselock unknown", action: "increaselock", pairs: []string{"Username", "nobody"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "increaselock not in group", secret: groupSecret, action: "increaselock", pairs: []string{"Username", "alice"}, want: "FAIL AGENT_ERROR_USER_NOT_IN_GROUP"},

		{name: "logevent", action: "logevent", pairs: []string{"Message", "backup done\r\nfake line"}, want: "PASS",
			check: func(t *testing.T, f *fixtureEnv, _ *agentxmltest.Response) {
				wantLog(t, f.svc, `Agent "vpn" event: backup done  fake line`)
			}},
		{name: "logevent empty", action: "logevent", pairs: []string{"Message", "  "}, want: "FAIL AGENT_ERROR_GENERAL"},
		{name: "logevent bad level", action: "logevent", pairs: []string{"Message", "x", "Level", "LOUD"}, want: "FAIL AGENT_ERROR_GENERAL"},

		{name: "resetcode", action: "resetcode", pairs: []string{"Username", "carol"}, want: "PASS",
			check: wantMailTo("carol@example.org", "Your PIN reset code")},
		{name: "resetcode no email", action: "resetcode", pairs: []string{"Username", "frank"}, want: "FAIL AGENT_ERROR_NO_TRANSPORT"},
		{name: "resetcode disabled", action: "resetcode", pairs: []string{"Username", "dave"}, want: "FAIL AGENT_ERROR_USER_DISABLED"},
		{name: "resetcode unknown", action: "resetcode", pairs: []string{"Username", "nobody"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "reset", action: "reset", pairs: []string{"Username", "alice", "ResetCode", fixtureAliceReset}, want: "PASS",
			check: wantMailTo("alice@example.org", "Your new PIN")},
		{name: "reset wrong code", action: "reset", pairs: []string{"Username", "alice", "ResetCode", "WRONG234"}, want: "FAIL AGENT_ERROR_SESSION"},
		{name: "reset no code", action: "reset", pairs: []string{"Username", "alice"}, want: "FAIL AGENT_ERROR_SESSION"},
		{name: "reset expired", setup: func(t *testing.T, f *fixtureEnv) { f.clock.Advance(9 * time.Minute) }, action: "reset", pairs: []string{"Username", "alice", "ResetCode", fixtureAliceReset}, want: "FAIL AGENT_ERROR_SESSION"},
		{name: "reset disabled", setup: disableAlice, action: "reset", pairs: []string{"Username", "alice", "ResetCode", fixtureAliceReset}, want: "FAIL AGENT_ERROR_USER_DISABLED"},
		{name: "reset unknown", action: "reset", pairs: []string{"Username", "nobody", "ResetCode", fixtureAliceReset}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},

		{name: "sessionstart", action: "sessionstart", pairs: []string{"Username", "carol"}, want: "PASS",
			check: func(t *testing.T, _ *fixtureEnv, r *agentxmltest.Response) {
				if !deviceIDRe.MatchString(r.SessionID) {
					t.Errorf("SessionID %q", r.SessionID)
				}
			}},
		{name: "sessionstart locked", action: "sessionstart", pairs: []string{"Username", "bob"}, want: "FAIL AGENT_ERROR_USER_LOCKED"},
		{name: "sessionstart disabled", action: "sessionstart", pairs: []string{"Username", "dave"}, want: "FAIL AGENT_ERROR_USER_DISABLED"},
		{name: "sessionstart deleted", action: "sessionstart", pairs: []string{"Username", "erin"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "sessionstart not in group", secret: groupSecret, action: "sessionstart", pairs: []string{"Username", "alice"}, want: "FAIL AGENT_ERROR_USER_NOT_IN_GROUP"},
		{name: "killsession unknown", action: "killsession", pairs: []string{"SessionID", "00112233445566778899aabbccddeeff"}, want: "FAIL AGENT_ERROR_SESSION"},

		{name: "transportindex", setup: func(t *testing.T, f *fixtureEnv) {
			if err := f.svc.Login(fixtureAgents[0], "alice", aliceCode("9132", 6)); err != nil {
				t.Fatal(err)
			}
		}, action: "transportindex", pairs: []string{"Username", "alice"}, want: "PASS",
			check: wantElem(func(r *agentxmltest.Response) string { return r.Index }, "7")},
		{name: "transportindex no strings", action: "transportindex", pairs: []string{"Username", "carol"}, want: "FAIL AGENT_ERROR_NO_SECURITY_STRINGS"},
		{name: "transportindex unknown", action: "transportindex", pairs: []string{"Username", "nobody"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
		{name: "ondemandmessage", action: "ondemandmessage", pairs: []string{"Username", "alice"}, want: "PASS",
			check: wantMailTo("alice@example.org", "Your security string 00")},
		{name: "ondemandmessage locked", setup: lockAlice, action: "ondemandmessage", pairs: []string{"Username", "alice"}, want: "FAIL AGENT_ERROR_USER_LOCKED"},
		{name: "ondemandmessage disabled", action: "ondemandmessage", pairs: []string{"Username", "dave"}, want: "FAIL AGENT_ERROR_USER_DISABLED"},
		{name: "ondemandmessage unknown", action: "ondemandmessage", pairs: []string{"Username", "nobody"}, want: "FAIL AGENT_ERROR_NO_USER_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			addGroupAgent(t, f)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			secret := tt.secret
			if secret == "" {
				secret = vpnSecret
			}
			r, err := f.agent(t, secret).Action(tt.action, tt.pairs...)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Result
			if r.Result == "FAIL" {
				got += " " + r.Error
			}
			if got != tt.want {
				t.Fatalf("%s = %q, want %q\n%s", tt.action, got, tt.want, r.Body)
			}
			if tt.check != nil {
				tt.check(t, f, r)
			}
		})
	}
}

func wantElem(get func(*agentxmltest.Response) string, want string) func(*testing.T, *fixtureEnv, *agentxmltest.Response) {
	return func(t *testing.T, _ *fixtureEnv, r *agentxmltest.Response) {
		t.Helper()
		if got := get(r); got != want {
			t.Errorf("got %q, want %q\n%s", got, want, r.Body)
		}
	}
}

func wantMailTo(to, subject string) func(*testing.T, *fixtureEnv, *agentxmltest.Response) {
	return func(t *testing.T, f *fixtureEnv, _ *agentxmltest.Response) {
		t.Helper()
		out, err := f.svc.Outbox()
		if err != nil || len(out) == 0 {
			t.Fatalf("outbox: %v, %d messages", err, len(out))
		}
		if m := out[len(out)-1]; m.To != to || m.Subject != subject || m.State != core.MailQueued {
			t.Errorf("queued %s to %s (%s), want %q to %s", m.Subject, m.To, m.State, subject, to)
		}
	}
}

// Every agent action refuses a wrong secret and the right secret from
// the wrong address, before it looks at anything else.
func TestAgentXML_ActionsNeedAnAgent(t *testing.T) {
	f := newFixture(t)
	actions := []string{"login", "exists", "provisioncode", "changepin", "existsbyattribute", "getuserattribute",
		"getusernamebyattribute", "loginbyattribute", "increaselock", "logevent", "resetcode", "reset",
		"sessionstart", "killsession", "transportindex", "ondemandmessage", "checkpassword", "frobnicate"}
	for _, secret := range []string{"not-the-secret", "remote-secret-1234", ""} {
		c := f.agent(t, secret)
		for _, a := range actions {
			r, err := c.Action(a, "Username", "alice", "OTC", aliceCode("9132", 0), "Message", "x")
			if err != nil {
				t.Fatal(err)
			}
			if r.Result != "FAIL" || r.Error != "AGENT_ERROR_AGENT_ACCESS" {
				t.Errorf("%s with secret %q = %s %s", a, secret, r.Result, r.Error)
			}
		}
	}
	// Nothing happened: alice's first string is still unused.
	if err := f.svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.TokenIndex(nil, "alice", fixtureAliceDevice); err != nil || n != 0 {
		t.Fatalf("next index %d (%v) after refused requests", n, err)
	}
	if out, _ := f.svc.Outbox(); len(out) != 0 {
		t.Fatalf("refused requests queued %d messages", len(out))
	}
}

// A session binds a login to the agent and user it was started for.
func TestAgentXML_SessionLogin(t *testing.T) {
	f := newFixture(t)
	vpn := f.agent(t, vpnSecret)
	start := func() string {
		r, err := vpn.Action("sessionstart", "Username", "alice")
		if err != nil || !r.Pass() {
			t.Fatalf("sessionstart: %v %+v", err, r)
		}
		return r.SessionID
	}
	login := func(c *agentxmltest.AgentClient, user, id string, i int) string {
		r, err := c.Action("login", "Username", user, "SessionID", id, "OTC", aliceCode("9132", i))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(r.Result + " " + r.Error)
	}
	// Another agent can neither use a session nor spend it.
	id := start()
	if got := login(f.agent(t, "helpdesk-secret-1234"), "alice", id, 0); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("another agent's session: %s", got)
	}
	if got := login(vpn, "alice", id, 0); got != "PASS" {
		t.Errorf("own session: %s", got)
	}
	if got := login(vpn, "alice", id, 1); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("a spent session: %s", got)
	}
	// A session for one user does not log in another, and is spent.
	id = start()
	if got := login(vpn, "carol", id, 1); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("another user: %s", got)
	}
	if got := login(vpn, "alice", id, 1); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("after another user: %s", got)
	}
	id = start()
	f.clock.Advance(core.SessionTTL)
	if got := login(vpn, "alice", id, 1); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("expired session: %s", got)
	}
	wantLog(t, f.svc, "Session started for user: alice.",
		"Login failed for user: alice, error: unknown or expired session")
}
