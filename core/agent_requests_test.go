package core_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

var agentStaff = core.Agent{Name: "portal", Host: "127.0.0.1", Secret: "s3cret-123", Group: "staff"}

// authEnv is a service at a fixed time with alice provisioned (PIN 9132)
// and her downloaded strings.
type authEnv struct {
	svc   *core.Service
	clock *storetest.Clock
	ss    core.StringSet
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")
	return &authEnv{svc: svc, clock: clock, ss: ss}
}

func (e *authEnv) code(pin string, i int) string {
	return core.MobileCode(core.ExtractOTC(e.ss.S[i], pin), i)
}

// lastMail returns the newest outbox message.
func lastMail(t *testing.T, svc *core.Service) core.OutMessage {
	t.Helper()
	out, err := svc.Outbox()
	if err != nil || len(out) == 0 {
		t.Fatalf("outbox: %v, %d messages", err, len(out))
	}
	return out[len(out)-1]
}

func TestService_ChangePIN(t *testing.T) {
	tests := []struct {
		name string
		// otc and newOTC build the request from alice's strings.
		otc, newOTC func(e *authEnv) string
		setup       func(t *testing.T, e *authEnv)
		want        core.Code
		wantPIN     string // alice's PIN afterwards
		wantNext    int    // alice's next unused index afterwards
	}{
		{name: "bare new OTC",
			otc:     func(e *authEnv) string { return e.code("9132", 2) },
			newOTC:  func(e *authEnv) string { return core.ExtractOTC(e.ss.S[2], "4321") },
			wantPIN: "4321", wantNext: 3},
		{name: "new OTC with the same index",
			otc:     func(e *authEnv) string { return e.code("9132", 0) },
			newOTC:  func(e *authEnv) string { return core.ExtractOTC(e.ss.S[0], "246801") + ",00" },
			wantPIN: "246801", wantNext: 1},
		{name: "new OTC with another index",
			otc:    func(e *authEnv) string { return e.code("9132", 0) },
			newOTC: func(e *authEnv) string { return core.ExtractOTC(e.ss.S[0], "4321") + ",01" },
			want:   core.CodeBadOTC, wantPIN: "9132", wantNext: 0},
		{name: "new PIN too short spends nothing",
			otc:    func(e *authEnv) string { return e.code("9132", 0) },
			newOTC: func(e *authEnv) string { return "123" },
			want:   core.CodeBadOTC, wantPIN: "9132", wantNext: 0},
		{name: "wrong OTC counts a failure",
			otc:    func(e *authEnv) string { return e.code("1111", 0) },
			newOTC: func(e *authEnv) string { return "5432" },
			want:   core.CodeWrongOTC, wantPIN: "9132", wantNext: 0},
		{name: "missing OTC",
			otc:    func(e *authEnv) string { return "" },
			newOTC: func(e *authEnv) string { return "5432" },
			want:   core.CodeNoOTC, wantPIN: "9132"},
		{name: "locked user with a right code",
			otc:    func(e *authEnv) string { return e.code("9132", 0) },
			newOTC: func(e *authEnv) string { return "5432" },
			setup: func(t *testing.T, e *authEnv) {
				if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
					t.Fatal(err)
				}
			},
			// A locked user's right code fails like a wrong one and is
			// not spent.
			want: core.CodeWrongOTC, wantPIN: "9132", wantNext: 0},
		{name: "deleted user is unknown",
			otc:    func(e *authEnv) string { return e.code("9132", 0) },
			newOTC: func(e *authEnv) string { return "5432" },
			setup: func(t *testing.T, e *authEnv) {
				if _, err := e.svc.DeleteUsers(core.HelpdeskScope(agentAny, ""), []string{"alice"}); err != nil {
					t.Fatal(err)
				}
			},
			want: core.CodeWrongOTC, wantPIN: "9132", wantNext: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAuthEnv(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			err := e.svc.ChangePIN(agentAny, "alice", tt.otc(e), tt.newOTC(e))
			if got := core.ErrorCode(err); got != tt.want {
				t.Fatalf("ChangePIN: %v (code %q), want %q", err, got, tt.want)
			}
			// ReadUsers sees a deleted user's record too (User does not).
			us, _, _ := e.svc.ReadUsers(core.HelpdeskScope(agentAny, ""), []string{"alice"})
			u := us[0]
			if u.PIN != tt.wantPIN {
				t.Errorf("PIN %q, want %q", u.PIN, tt.wantPIN)
			}
			if next, err := nextIndex(t, e.svc, "alice"); tt.wantNext >= 0 && (err != nil || next != tt.wantNext) {
				t.Errorf("next index %d (%v), want %d", next, err, tt.wantNext)
			}
			if tt.name == "wrong OTC counts a failure" && u.Failures != 1 {
				t.Errorf("failures %d, want 1", u.Failures)
			}
		})
	}
	// After a change the new PIN logs in and the old one does not.
	e := newAuthEnv(t)
	if err := e.svc.ChangePIN(agentAny, "alice", e.code("9132", 0), core.ExtractOTC(e.ss.S[0], "4321")); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Login(agentAny, "alice", e.code("9132", 1)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("old PIN: %v", err)
	}
	if err := e.svc.Login(agentAny, "alice", e.code("4321", 2)); err != nil {
		t.Fatalf("new PIN: %v", err)
	}
	if !logContains(t, e.svc, "PIN changed for user: alice.") {
		t.Fatal("PIN change not logged")
	}
}

func TestService_IncreaseLock(t *testing.T) {
	e := newAuthEnv(t)
	for i := 1; i < 5; i++ {
		if err := e.svc.IncreaseLock(agentAny, "alice"); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if err := e.svc.IncreaseLock(agentAny, "alice"); core.ErrorCode(err) != core.CodeTriesExceeded {
		t.Fatalf("fifth failure: %v, want tries exceeded", err)
	}
	if err := e.svc.IncreaseLock(agentAny, "alice"); core.ErrorCode(err) != core.CodeLocked {
		t.Fatalf("when locked: %v, want locked", err)
	}
	// Failures go on counting while locked.
	if u, _ := e.svc.User("alice"); !u.Locked || u.Failures != 6 {
		t.Fatalf("locked %v failures %d, want locked with 6", u.Locked, u.Failures)
	}
	if !logContains(t, e.svc, `Lock count increased for user: alice; 5 failures in a row, lock 1: locked until 2026-01-05T09:05:00Z.`) {
		t.Fatal("lock not logged")
	}
	for _, tt := range []struct {
		user  string
		agent core.Agent
		want  core.Code
	}{
		{"nobody", agentAny, core.CodeNotFound},
		{"alice", agentStaff, core.CodeNotInGroup},
	} {
		if err := e.svc.IncreaseLock(tt.agent, tt.user); core.ErrorCode(err) != tt.want {
			t.Errorf("%s via %s: %v, want %q", tt.user, tt.agent.Name, err, tt.want)
		}
	}
}

func TestService_LogEvent(t *testing.T) {
	svc := storetest.MustService(t)
	tests := []struct {
		level, text string
		want        string // the log message; "" for a refusal
		wantLevel   core.Level
	}{
		{"", "hello", `Agent "vpn" event: hello`, core.LevelInfo},
		{"warning", " two\nlines\x00 ", `Agent "vpn" event: two lines`, core.LevelWarn},
		{"ERROR", "bad \xff byte\u2028", `Agent "vpn" event: bad ` + "\uFFFD" + ` byte`, core.LevelError},
		{"", strings.Repeat("é", 200), `Agent "vpn" event: ` + strings.Repeat("é", 128) + "...", core.LevelInfo},
		{"DEBUG", "x", "", ""},
		{"", " \t ", "", ""},
	}
	for _, tt := range tests {
		err := svc.LogEvent(agentAny, "alice\n", tt.level, tt.text)
		if tt.want == "" {
			if core.ErrorCode(err) != core.CodeInvalid {
				t.Errorf("LogEvent(%q, %q) = %v, want invalid", tt.level, tt.text, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		tail, _ := svc.LogTail(1)
		if got := tail[0]; got.Message != tt.want || got.Level != tt.wantLevel || got.User != "alice" {
			t.Errorf("logged %+v, want %q at %s", got, tt.want, tt.wantLevel)
		}
	}
}

var codeInMail = regexp.MustCompile(`\n    ([A-Z0-9]+)\n`)

func TestService_PINReset(t *testing.T) {
	e := newAuthEnv(t)
	request := func() string {
		t.Helper()
		if err := e.svc.RequestPINReset(agentAny, "alice"); err != nil {
			t.Fatal(err)
		}
		m := codeInMail.FindStringSubmatch(lastMail(t, e.svc).Text)
		if m == nil {
			t.Fatalf("no code in %q", lastMail(t, e.svc).Text)
		}
		return m[1]
	}
	if err := e.svc.RedeemPINReset(agentAny, "alice", "WHATEVER"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("no pending code: %v", err)
	}
	// A wrong guess spends the code.
	code := request()
	if err := e.svc.RedeemPINReset(agentAny, "alice", "WRONG234"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("wrong code: %v", err)
	}
	if err := e.svc.RedeemPINReset(agentAny, "alice", code); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("right code after a wrong guess: %v", err)
	}
	// A late code fails.
	code = request()
	e.clock.Advance(601 * time.Second)
	if err := e.svc.RedeemPINReset(agentAny, "alice", code); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("expired code: %v", err)
	}
	// A right code, typed loosely, resets the PIN and mails it.
	code = request()
	if err := e.svc.RedeemPINReset(agentAny, "alice", strings.ToLower(code[:4]+"-"+code[4:])); err != nil {
		t.Fatalf("right code: %v", err)
	}
	u, _ := e.svc.User("alice")
	if u.PIN == "9132" || len(u.PIN) != 4 || u.PINReset != nil {
		t.Fatalf("after reset PIN %q, pending %v", u.PIN, u.PINReset)
	}
	if m := lastMail(t, e.svc); !strings.Contains(m.Text, "\n    "+u.PIN+"\n") || m.To != "alice@example.org" {
		t.Fatalf("PIN mail %+v", m)
	}
	for _, line := range []string{`PIN reset code created for user "alice".`,
		`PIN reset for user "alice" with a reset code; the new PIN was queued to the user's email.`} {
		if !logHas(t, e.svc, line, `agent "vpn"`) {
			t.Errorf("log lacks %q by agent \"vpn\"", line)
		}
	}
	entries, _ := e.svc.LogTail(100)
	for _, le := range entries {
		if strings.Contains(le.Message, u.PIN) || strings.Contains(le.Message, code) {
			t.Fatalf("a secret reached the log: %q", le.Message)
		}
	}

	// No address, disabled and unknown users are refused.
	storetest.MustAddUser(t, e.svc, "bob", "2468")
	if _, err := e.svc.UpdateUser("bob", func(u *core.User) error { u.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RequestPINReset(agentAny, "bob"); core.ErrorCode(err) != core.CodeNoTransport {
		t.Errorf("no email: %v", err)
	}
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RequestPINReset(agentAny, "alice"); core.ErrorCode(err) != core.CodeDisabled {
		t.Errorf("disabled: %v", err)
	}
	if err := e.svc.RequestPINReset(agentAny, "nobody"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("unknown: %v", err)
	}
}

func TestService_Sessions(t *testing.T) {
	e := newAuthEnv(t)
	other := core.Agent{Name: "web", Host: "127.0.0.1", Secret: "another-1234", Group: core.GroupAny}
	id, err := e.svc.StartSession(agentAny, "alice")
	if err != nil || len(id) != 32 {
		t.Fatalf("StartSession = %q, %v", id, err)
	}
	steps := []struct {
		name  string
		agent core.Agent
		user  string
		want  core.Code
	}{
		{"another agent", other, "alice", core.CodeSession},
		{"another user", agentAny, "bob", core.CodeSession},
	}
	for _, st := range steps {
		id, _ := e.svc.StartSession(agentAny, "alice")
		if err := e.svc.UseSession(st.agent, id, st.user); core.ErrorCode(err) != st.want {
			t.Errorf("%s: %v, want %q", st.name, err, st.want)
		}
	}
	if err := e.svc.UseSession(agentAny, id, "ALICE"); err != nil {
		t.Fatalf("use: %v", err)
	}
	if err := e.svc.UseSession(agentAny, id, "alice"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("second use: %v", err)
	}
	// Sessions expire.
	id, _ = e.svc.StartSession(agentAny, "alice")
	e.clock.Advance(core.SessionTTL)
	if err := e.svc.UseSession(agentAny, id, "alice"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("expired: %v", err)
	}
	// killsession ends the agent's own sessions only.
	id, _ = e.svc.StartSession(agentAny, "alice")
	if err := e.svc.KillSession(other, id); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("kill by another agent: %v", err)
	}
	if err := e.svc.KillSession(agentAny, id); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := e.svc.UseSession(agentAny, id, "alice"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("use after kill: %v", err)
	}
	// Deleting a user ends their sessions; locked users get none.
	id, _ = e.svc.StartSession(agentAny, "alice")
	if _, err := e.svc.DeleteUsers(core.HelpdeskScope(agentAny, ""), []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UseSession(agentAny, id, "alice"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("session of a deleted user: %v", err)
	}
	storetest.MustAddUser(t, e.svc, "bob", "2468")
	if _, err := e.svc.UpdateUser("bob", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartSession(agentAny, "bob"); core.ErrorCode(err) != core.CodeLocked {
		t.Fatalf("locked user: %v", err)
	}
	if _, err := e.svc.StartSession(agentAny, "alice"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("deleted user: %v", err)
	}
}

func TestService_OnDemandMessage(t *testing.T) {
	e := newAuthEnv(t)
	if n, err := e.svc.TokenIndex(&agentAny, "alice", ""); err != nil || n != 0 {
		t.Fatalf("TokenIndex for the agent = %d, %v", n, err)
	}
	n, err := e.svc.OnDemandMessage(agentAny, "alice")
	if err != nil || n != 0 {
		t.Fatalf("OnDemandMessage = %d, %v", n, err)
	}
	m := lastMail(t, e.svc)
	if !strings.Contains(m.Text, string(e.ss.S[0][:])) || !strings.Contains(m.Subject, "00") {
		t.Fatalf("mail %q does not carry string 00", m.Text)
	}
	// The mailed string logs in like one from the phone and spends it.
	if err := e.svc.Login(agentAny, "alice", e.code("9132", 0)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.svc.TokenIndex(&agentAny, "alice", ""); n != 1 {
		t.Fatalf("index after login %d, want 1", n)
	}
	storetest.MustAddUser(t, e.svc, "bob", "2468")
	if _, err := e.svc.OnDemandMessage(agentAny, "bob"); core.ErrorCode(err) != core.CodeNoStrings {
		t.Fatalf("no strings: %v", err)
	}
	if _, err := e.svc.OnDemandMessage(agentStaff, "alice"); core.ErrorCode(err) != core.CodeNotInGroup {
		t.Fatalf("not in group: %v", err)
	}
}

func TestService_LoginByAttribute(t *testing.T) {
	e := newAuthEnv(t)
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error {
		u.Attributes = map[string]string{"upn": "alice@corp"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LoginByAttribute(agentAny, "UPN", "Alice@Corp", e.code("9132", 0)); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := e.svc.LoginByAttribute(agentAny, "upn", "nobody@corp", e.code("9132", 1)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("unknown value: %v", err)
	}
	if err := e.svc.LoginByAttribute(agentAny, "upn", "nobody@corp", "12ab"); core.ErrorCode(err) != core.CodeBadOTC {
		t.Fatalf("malformed code: %v", err)
	}
	// A value two users share logs nobody in.
	storetest.MustAddUser(t, e.svc, "alice2", "1234")
	if _, err := e.svc.UpdateUser("alice2", func(u *core.User) error { u.Email = "alice@example.org"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LoginByAttribute(agentAny, "email", "alice@example.org", e.code("9132", 1)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("shared value: %v", err)
	}
	if _, err := e.svc.UserByAttribute("email", "alice@example.org"); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("UserByAttribute of a shared value: %v", err)
	}
}

// ChangePIN checks the OTC with Login's rules (checkOTC mirrors the code
// in Service.Login): both must answer alike in every state of the user.
func TestService_ChangePINMatchesLogin(t *testing.T) {
	states := []struct {
		name  string
		user  string
		agent core.Agent
		pin   string // the PIN the code is made with
		index int
		setup func(*core.User)
		wrong int // wrong logins before the attempt
	}{
		{name: "right", user: "alice", agent: agentAny, pin: "9132", index: 3},
		{name: "wrong", user: "alice", agent: agentAny, pin: "1111", index: 3},
		{name: "spent index", user: "alice", agent: agentAny, pin: "9132", index: 0},
		{name: "unknown", user: "nobody", agent: agentAny, pin: "9132", index: 3},
		{name: "not in group", user: "alice", agent: agentStaff, pin: "9132", index: 3},
		{name: "no PIN", user: "alice", agent: agentAny, pin: "9132", index: 3, setup: func(u *core.User) { u.PIN = "" }},
		{name: "locked, right", user: "alice", agent: agentAny, pin: "9132", index: 3, setup: func(u *core.User) { u.Locked = true }},
		{name: "locked, wrong", user: "alice", agent: agentAny, pin: "1111", index: 3, setup: func(u *core.User) { u.Locked = true }},
		{name: "disabled, right", user: "alice", agent: agentAny, pin: "9132", index: 3, setup: func(u *core.User) { u.Disabled = true }},
		{name: "disabled, wrong", user: "alice", agent: agentAny, pin: "1111", index: 3, setup: func(u *core.User) { u.Disabled = true }},
		{name: "four failures, wrong", user: "alice", agent: agentAny, pin: "1111", index: 3, wrong: 4},
		{name: "four failures, right", user: "alice", agent: agentAny, pin: "9132", index: 3, wrong: 4},
		{name: "temporarily locked, right", user: "alice", agent: agentAny, pin: "9132", index: 3, wrong: 5},
		{name: "temporarily locked, wrong", user: "alice", agent: agentAny, pin: "1111", index: 3, wrong: 5},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			var got [2]core.Code
			var after [2]core.User
			for i, change := range []bool{false, true} {
				e := newAuthEnv(t)
				if err := e.svc.Login(agentAny, "alice", e.code("9132", 1)); err != nil {
					t.Fatal(err) // spends indexes 0 and 1
				}
				if st.setup != nil {
					if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { st.setup(u); return nil }); err != nil {
						t.Fatal(err)
					}
				}
				for range st.wrong {
					if err := e.svc.Login(agentAny, "alice", e.code("1111", 4)); core.ErrorCode(err) != core.CodeWrongOTC {
						t.Fatal(err)
					}
				}
				code := e.code(st.pin, st.index)
				var err error
				if change {
					err = e.svc.ChangePIN(st.agent, st.user, code, core.ExtractOTC(e.ss.S[st.index], "9132"))
				} else {
					err = e.svc.Login(st.agent, st.user, code)
				}
				got[i] = core.ErrorCode(err)
				after[i], _ = e.svc.User("alice")
			}
			if got[0] != got[1] {
				t.Fatalf("login %q, changepin %q", got[0], got[1])
			}
			if after[0].Failures != after[1].Failures || after[0].Locked != after[1].Locked || !after[0].LockedUntil.Equal(after[1].LockedUntil) {
				t.Fatalf("after login %d/%v, after changepin %d/%v (failures/locked)",
					after[0].Failures, after[0].Locked, after[1].Failures, after[1].Locked)
			}
		})
	}
}
