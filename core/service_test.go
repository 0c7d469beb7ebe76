package core_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

var agentAny = core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny}

// mustProvision creates a code, redeems it and downloads strings.
func mustProvision(tb testing.TB, svc *core.Service, user string) (deviceID string, ss core.StringSet) {
	tb.Helper()
	ic, err := svc.CreateProvisionCode(user)
	if err != nil {
		tb.Fatalf("create code: %v", err)
	}
	p, err := svc.Provision("127.0.0.1", user, ic.Code, "TestOS 1")
	if err != nil {
		tb.Fatalf("provision: %v", err)
	}
	d, err := svc.SecurityStrings(p.DeviceID)
	if err != nil {
		tb.Fatalf("strings: %v", err)
	}
	for i, s := range strings.Split(d.Strings, ";") {
		copy(ss.S[i][:], s)
	}
	return p.DeviceID, ss
}

func logContains(tb testing.TB, svc *core.Service, want string) bool {
	tb.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if e.Message == want {
			return true
		}
	}
	return false
}

func TestService_ProvisionCodeRules(t *testing.T) {
	tests := []struct {
		name     string
		attempt  func(svc *core.Service, clock *storetest.Clock, code string) error
		wantCode core.Code
	}{
		{"valid", func(svc *core.Service, _ *storetest.Clock, code string) error {
			_, err := svc.Provision("127.0.0.1", "alice", code, "")
			return err
		}, ""},
		{"expired", func(svc *core.Service, clock *storetest.Clock, code string) error {
			clock.Advance(600 * time.Second)
			_, err := svc.Provision("127.0.0.1", "alice", code, "")
			return err
		}, core.CodeProvision},
		{"reused", func(svc *core.Service, _ *storetest.Clock, code string) error {
			if _, err := svc.Provision("127.0.0.1", "alice", code, ""); err != nil {
				return err
			}
			_, err := svc.Provision("127.0.0.1", "alice", code, "")
			return err
		}, core.CodeProvision},
		{"wrong burns the code", func(svc *core.Service, _ *storetest.Clock, code string) error {
			svc.Provision("127.0.0.1", "alice", "WRONGCODE", "")
			_, err := svc.Provision("127.0.0.1", "alice", code, "")
			return err
		}, core.CodeProvision},
		{"unknown user", func(svc *core.Service, _ *storetest.Clock, code string) error {
			_, err := svc.Provision("127.0.0.1", "mallory", code, "")
			return err
		}, core.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			storetest.MustAddUser(t, svc, "alice", "1234")
			ic, err := svc.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			if !logContains(t, svc, `Provision code created for user "alice"`) ||
				!logContains(t, svc, `User "alice" can now reprovision their mobile device.`) {
				t.Fatal("code creation not logged with the documented wording")
			}
			err = tt.attempt(svc, clock, ic.Code)
			if got := core.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.wantCode)
			}
			switch tt.wantCode {
			case "":
				if !logContains(t, svc, `User "alice" provisioned successfully`) {
					t.Fatal("success not logged")
				}
			case core.CodeProvision:
				if !logContains(t, svc, `User "alice" provision failed, A valid session could not be loaded or created for the user.`) {
					t.Fatal("failure not logged with the documented wording")
				}
			case core.CodeNotFound:
				if !logContains(t, svc, "Mobile request from unknown user; the user needs to reprovision") {
					t.Fatal("unknown user not logged")
				}
			}
		})
	}
}

func TestService_ProvisionRace(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Provision("127.0.0.1", "alice", ic.Code, ""); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d attempts won, want exactly 1", wins)
	}
}

func TestService_ReprovisionRevokesOldDevice(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	oldID, oldStrings := mustProvision(t, svc, "alice")
	newID, _ := mustProvision(t, svc, "alice")
	if oldID == newID || len(newID) != 32 {
		t.Fatalf("device ids %q then %q", oldID, newID)
	}
	if _, err := svc.SecurityStrings(oldID); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("old device fetched strings: %v", err)
	}
	code := core.MobileCode(core.ExtractOTC(oldStrings.S[0], "1234"), 0)
	if err := svc.Login(agentAny, "alice", code); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("old strings still log in: %v", err)
	}
	u, _ := svc.User("alice")
	if u.DeviceID != newID {
		t.Fatalf("user device %q, want %q", u.DeviceID, newID)
	}
}

func TestService_Login(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")
	code := func(i int) string { return core.MobileCode(core.ExtractOTC(ss.S[i], "9132"), i) }

	if err := svc.Login(agentAny, "alice", code(5)); err != nil {
		t.Fatalf("good code: %v", err)
	}
	if !logContains(t, svc, "Login successful for user: alice.") {
		t.Fatal("login not logged")
	}
	steps := []struct {
		name string
		user string
		otc  string
		want core.Code
	}{
		{"reused index", "alice", code(5), core.CodeWrongOTC},
		{"older index", "alice", code(3), core.CodeWrongOTC},
		{"malformed", "alice", "12ab", core.CodeBadOTC},
		{"missing", "alice", "", core.CodeNoOTC},
		{"unknown user looks like a wrong code", "mallory", code(7), core.CodeWrongOTC},
	}
	for _, st := range steps {
		if err := svc.Login(agentAny, st.user, st.otc); core.ErrorCode(err) != st.want {
			t.Fatalf("%s: error %v, want code %q", st.name, err, st.want)
		}
	}
	if u, _ := svc.User("alice"); u.Failures != 2 || u.LastLogin.IsZero() {
		t.Fatalf("failures %d, last login %v; want 2 counted failures", u.Failures, u.LastLogin)
	}
	// The comma form works and a success clears the failure count.
	if err := svc.Login(agentAny, "alice", code(6)[:4]+",06"); err != nil {
		t.Fatalf("comma form: %v", err)
	}
	if u, _ := svc.User("alice"); u.Failures != 0 {
		t.Fatalf("failures %d after a success", u.Failures)
	}
}

func TestService_LockAfterFiveFailures(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	_, ss := mustProvision(t, svc, "alice")
	for i := 0; i < 5; i++ {
		if err := svc.Login(agentAny, "alice", "000010"); core.ErrorCode(err) != core.CodeWrongOTC {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	u, _ := svc.User("alice")
	if !u.Locked {
		t.Fatal("not locked after 5 failures")
	}
	// A locked user with a correct code learns why; a guesser does not.
	good := core.MobileCode(core.ExtractOTC(ss.S[20], "1234"), 20)
	if err := svc.Login(agentAny, "alice", "000021"); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("wrong code on locked user: %v", err)
	}
	if err := svc.Login(agentAny, "alice", good); core.ErrorCode(err) != core.CodeLocked {
		t.Fatalf("right code on locked user: %v", err)
	}
	if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Locked = false; return nil }); err != nil {
		t.Fatal(err)
	}
	good = core.MobileCode(core.ExtractOTC(ss.S[21], "1234"), 21)
	if err := svc.Login(agentAny, "alice", good); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestService_AgentGroup(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	_, ss := mustProvision(t, svc, "alice")
	sales := core.Agent{Name: "web", Host: "127.0.0.1", Secret: "s3cret-123", Group: "sales"}
	err := svc.Login(sales, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], "1234"), 0))
	if core.ErrorCode(err) != core.CodeNotInGroup {
		t.Fatalf("login through another group's agent: %v", err)
	}
}

func TestService_SecurityStringsNeedsMobileRight(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	ic, _ := svc.CreateProvisionCode("alice")
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "")
	if err != nil {
		t.Fatal(err)
	}
	svc.UpdateUser("alice", func(u *core.User) error { u.MobileAllowed = false; return nil })
	if _, err := svc.SecurityStrings(p.DeviceID); core.ErrorCode(err) != core.CodeNotInGroup {
		t.Fatalf("strings without the mobile right: %v", err)
	}
}

func TestService_Users(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "Alice", "1234")
	if _, err := svc.AddUser(core.User{Name: "alice"}); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("case-insensitive duplicate: %v", err)
	}
	u, err := svc.User("ALICE")
	if err != nil || u.Name != "Alice" {
		t.Fatalf("lookup keeps case: %+v %v", u, err)
	}
	if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Email = "nope"; return nil }); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("invalid edit saved: %v", err)
	}
	if err := svc.DeleteUser("alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser("alice"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
	// Nothing secret reaches the log.
	entries, _ := svc.LogTail(100)
	for _, e := range entries {
		if strings.Contains(e.Message, "1234") {
			t.Fatalf("PIN in log: %q", e.Message)
		}
	}
}

func TestService_CodeNotLogged(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	ic, _ := svc.CreateProvisionCode("alice")
	svc.Provision("127.0.0.1", "alice", ic.Code, "")
	entries, _ := svc.LogTail(100)
	for _, e := range entries {
		if strings.Contains(e.Message, ic.Code) {
			t.Fatalf("provision code in log: %q", e.Message)
		}
	}
}

func TestService_ProvisionURLFollowsURLComplete(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	ic, _ := svc.CreateProvisionCode("alice")
	if !strings.HasPrefix(ic.URL, "https://127.0.0.1:8443/userportal/provision?") {
		t.Fatalf("default URL %s", ic.URL)
	}
	if err := svc.SetSetting("policy.selfreset.url_complete", "https://vpn.example.org/provision"); err != nil {
		t.Fatal(err)
	}
	ic, _ = svc.CreateProvisionCode("alice")
	if !strings.HasPrefix(ic.URL, "https://vpn.example.org/provision?") {
		t.Fatalf("URL complete not used: %s", ic.URL)
	}
	if _, _, _, _, code, err := core.ParseProvisionURL(ic.URL); err != nil || code != ic.Code {
		t.Fatalf("parse: %v", err)
	}
}

func TestService_LoginNeedsMobileMode(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "1234")
	_, ss := mustProvision(t, svc, "alice")
	dualOnly := core.Agent{Name: "radius", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny, Modes: []string{core.AgentModeDual}}
	err := svc.Login(dualOnly, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], "1234"), 0))
	if core.ErrorCode(err) != core.CodeAgentAccess {
		t.Fatalf("mobile login through a dual-only agent: %v", err)
	}
}
