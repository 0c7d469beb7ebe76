package core_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
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

// logHas reports whether the log has an entry with the message by actor
// (the entry's Actor).
func logHas(tb testing.TB, svc *core.Service, msg, actor string) bool {
	tb.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if e.Message == msg && e.Actor == actor {
			return true
		}
	}
	return false
}

func TestService_ProvisionCodeRules(t *testing.T) {
	const phone, stranger = "192.0.2.10", "198.51.100.7"
	tests := []struct {
		name     string
		attempt  func(svc *core.Service, clock *storetest.Clock, code string) error
		wantCode core.Code
		// wantRefused is the aggregated line a failure leaves, instead of
		// a line of its own.
		wantRefused string
	}{
		{name: "valid", attempt: func(svc *core.Service, _ *storetest.Clock, code string) error {
			_, err := svc.Provision(phone, "alice", code, "")
			return err
		}},
		{name: "expired", attempt: func(svc *core.Service, clock *storetest.Clock, code string) error {
			clock.Advance(600 * time.Second)
			_, err := svc.Provision(phone, "alice", code, "")
			return err
		}, wantCode: core.CodeProvision, wantRefused: "1 refused request from 192.0.2.10 in the last minute: provision attempt with an expired code"},
		{name: "reused", attempt: func(svc *core.Service, _ *storetest.Clock, code string) error {
			if _, err := svc.Provision(phone, "alice", code, ""); err != nil {
				return err
			}
			_, err := svc.Provision(phone, "alice", code, "")
			return err
		}, wantCode: core.CodeProvision, wantRefused: "1 refused request from 192.0.2.10 in the last minute: provision attempt for an unknown user or one without a pending code"},
		{name: "a stranger's wrong code does not burn it", attempt: func(svc *core.Service, _ *storetest.Clock, code string) error {
			if _, err := svc.Provision(stranger, "alice", "WRONGCODE", ""); core.ErrorCode(err) != core.CodeProvision {
				return fmt.Errorf("wrong code: %v", err)
			}
			_, err := svc.Provision(phone, "alice", code, "")
			return err
		}},
		{name: "the phone's own typo costs a short wait", attempt: func(svc *core.Service, clock *storetest.Clock, code string) error {
			if _, err := svc.Provision(phone, "alice", "WRONGCODE", ""); core.ErrorCode(err) != core.CodeProvision {
				return fmt.Errorf("wrong code: %v", err)
			}
			// Inside the delay even the right code is refused unchecked.
			if _, err := svc.Provision(phone, "alice", code, ""); core.ErrorCode(err) != core.CodeProvision {
				return fmt.Errorf("inside the delay: %v", err)
			}
			clock.Advance(2 * time.Second)
			_, err := svc.Provision(phone, "alice", code, "")
			return err
		}},
		{name: "unknown user answers like a wrong code", attempt: func(svc *core.Service, _ *storetest.Clock, code string) error {
			_, err := svc.Provision(phone, "mallory", code, "")
			return err
		}, wantCode: core.CodeProvision, wantRefused: "1 refused request from 192.0.2.10 in the last minute: provision attempt for an unknown user or one without a pending code"},
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
			before := logLen(t, svc)
			err = tt.attempt(svc, clock, ic.Code)
			if got := core.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.wantCode)
			}
			if tt.wantCode == "" {
				if !logContains(t, svc, `User "alice" provisioned successfully`) {
					t.Fatal("success not logged")
				}
				return
			}
			if core.ErrorMessage(err) != "Provision failed: the code is wrong, used or expired, or there is no such user." {
				t.Fatalf("failure says %q", core.ErrorMessage(err))
			}
			// A failure writes nothing of its own; the aggregated line
			// comes with the next flush.
			if n := logLen(t, svc); tt.name != "reused" && n != before {
				t.Fatalf("%d log lines written by a refused attempt", n-before)
			}
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			if !logContains(t, svc, tt.wantRefused) {
				t.Fatalf("no line %q", tt.wantRefused)
			}
		})
	}
}

// logLen is the number of audit log lines.
func logLen(tb testing.TB, svc *core.Service) int {
	tb.Helper()
	entries, err := svc.Logs(0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return len(entries)
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
	// Replays of spent indexes fail but are not counted; a wrong code at
	// an unspent index is.
	if u, _ := svc.User("alice"); u.Failures != 0 || u.LastLogin.IsZero() {
		t.Fatalf("failures %d, last login %v; want replays not counted", u.Failures, u.LastLogin)
	}
	if err := svc.Login(agentAny, "alice", core.MobileCode(core.ExtractOTC(ss.S[9], "1111"), 9)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("wrong code: %v", err)
	}
	if u, _ := svc.User("alice"); u.Failures != 1 {
		t.Fatalf("failures %d after a wrong code, want 1", u.Failures)
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
	// A locked user's right code fails exactly like a wrong one, and is
	// not spent: it works once an administrator unlocks.
	good := core.MobileCode(core.ExtractOTC(ss.S[20], "1234"), 20)
	if err := svc.Login(agentAny, "alice", "000021"); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("wrong code on locked user: %v", err)
	}
	if err := svc.Login(agentAny, "alice", good); core.ErrorCode(err) != core.CodeWrongOTC || core.ErrorMessage(err) != "Login failed." {
		t.Fatalf("right code on locked user: %v", err)
	}
	if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Locked = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, _ := svc.User("alice"); u.Locked || u.Failures != 0 {
		t.Fatalf("after unlock: locked %v, failures %d", u.Locked, u.Failures)
	}
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
	// Bare FAIL like an unknown user: the answer tells nothing about
	// who exists elsewhere.
	if core.ErrorCode(err) != core.CodeWrongOTC {
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

// A download refused for the user's state is decided on a read: 100 of
// them for a disabled, locked or no-right user's device start no write
// transaction and write no log line (the caller counts them with Refuse,
// with the reason SecurityStringsRefused gives), and the error is the one
// the protocol answers. Once the state is fixed, the device downloads.
func TestService_SecurityStringsRefusedOnARead(t *testing.T) {
	tests := []struct {
		name   string
		change func(u *core.User)
		code   core.Code
		reason string
	}{
		{"locked", func(u *core.User) { u.Locked = true }, core.CodeLocked, `security-string download refused: User "alice" is locked.`},
		{"disabled", func(u *core.User) { u.Disabled = true }, core.CodeDisabled, `security-string download refused: User "alice" is disabled.`},
		{"no mobile right", func(u *core.User) { u.MobileAllowed = false }, core.CodeNotInGroup, `security-string download refused: User "alice" may not use the mobile client.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &txCounter{Store: storetest.MustOpen(t)}
			svc := storetest.MustServiceOn(t, st)
			storetest.MustAddUser(t, svc, "alice", "1234")
			dev, _ := mustProvision(t, svc, "alice")
			if _, err := svc.UpdateUser("alice", func(u *core.User) error { tt.change(u); return nil }); err != nil {
				t.Fatal(err)
			}
			writes, logs := st.n.Load(), countLogs(t, svc)
			for i := range 100 {
				_, err := svc.SecurityStrings(dev)
				if core.ErrorCode(err) != tt.code || core.SecurityStringsRefused(err) != tt.reason {
					t.Fatalf("download %d: %v (reason %q), want %s and %q", i, err, core.SecurityStringsRefused(err), tt.code, tt.reason)
				}
			}
			if got := st.n.Load(); got != writes {
				t.Fatalf("%d write transactions for 100 refused downloads", got-writes)
			}
			if got := countLogs(t, svc); got != logs {
				t.Fatalf("%d log lines for 100 refused downloads", got-logs)
			}
			if _, err := svc.UpdateUser("alice", func(u *core.User) error {
				u.Locked, u.Disabled, u.MobileAllowed = false, false, true
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if d, err := svc.SecurityStrings(dev); err != nil || d.User != "alice" {
				t.Fatalf("download after the fix: %+v, %v", d, err)
			}
		})
	}
	// Other refusals have no state reason: the caller counts them its way.
	svc := storetest.MustService(t)
	if _, err := svc.SecurityStrings("00112233445566778899aabbccddeeff"); core.ErrorCode(err) != core.CodeSession || core.SecurityStringsRefused(err) != "" {
		t.Fatalf("unknown device: %v, reason %q", err, core.SecurityStringsRefused(err))
	}
}

// txCounter counts the write transactions that reach a real store.
type txCounter struct {
	*store.Store
	n atomic.Int64
}

func (c *txCounter) Update(fn func(core.Tx) error) error {
	c.n.Add(1)
	return c.Store.Update(fn)
}

func (c *txCounter) Batch(fn func(core.Tx) error) error {
	c.n.Add(1)
	return c.Store.Batch(fn)
}
