package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The use cases that used to exist twice (#12): each rule now holds for
// every caller. These tables drive one rule from each caller that reaches
// it and expect the same outcome.

// TestService_EditDescribedAlike: an edit is described in the audit log
// the same way from the console and from the admin API, the strings email
// and attributes included (the console's edits of the strings email used
// to be left out of the log).
func TestService_EditDescribedAlike(t *testing.T) {
	agent := core.Agent{Name: "local", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny, Repository: true}
	for _, tc := range []struct {
		caller string
		edit   func(svc *core.Service) error
		want   string
	}{
		{"console", func(svc *core.Service) error {
			_, err := svc.UpdateUser("alice", func(u *core.User) error {
				u.StringsEmail = "strings@example.org"
				return nil
			})
			return err
		}, `User "alice" changed: strings email "" → strings@example.org.`},
		{"console attributes", func(svc *core.Service) error {
			_, err := svc.UpdateUser("alice", func(u *core.User) error {
				u.StringsEmail = "strings@example.org"
				u.Attributes = map[string]string{"upn": "alice@corp"}
				return nil
			})
			return err
		}, `User "alice" changed: strings email "" → strings@example.org, attributes upn.`},
		{"admin API", func(svc *core.Service) error {
			_, err := svc.UpdateUsers(core.AdminScope(agent), []core.UserSpec{{Name: "alice", StringsEmail: ptr("strings@example.org")}})
			return err
		}, `User "alice" changed: strings email "" → strings@example.org.`},
	} {
		t.Run(tc.caller, func(t *testing.T) {
			svc := storetest.MustService(t)
			storetest.MustAddUser(t, svc, "alice", "1357")
			if err := tc.edit(svc); err != nil {
				t.Fatal(err)
			}
			if !logContains(t, svc, tc.want) {
				tail, _ := svc.LogTail(3)
				t.Errorf("log lacks %q; tail %v", tc.want, tail)
			}
		})
	}
}

func logLines(t *testing.T, svc *core.Service) string {
	t.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// TestService_DeleteAlike: the console and the admin API delete by one
// rule. Either way the device and code go at once, the user is gone from
// every lookup, the record is a tombstone the admin API can read and
// purge, and a new user may take the name again.
func TestService_DeleteAlike(t *testing.T) {
	for _, tc := range []struct {
		caller  string
		del     func(svc *core.Service) error
		wantLog string
	}{
		{"console", func(svc *core.Service) error { return svc.DeleteUser("alice") }, `User "alice" deleted.`},
		{"admin API", func(svc *core.Service) error {
			res, err := svc.DeleteUsers(core.AdminScope(agentLocal), []string{"alice"})
			if err == nil {
				err = res[0]
			}
			return err
		}, `User "alice" deleted; PurgeDeleted removes the record.`},
	} {
		t.Run(tc.caller, func(t *testing.T) {
			svc := storetest.MustService(t)
			storetest.MustAddUser(t, svc, "alice", "1357")
			deviceID, _ := mustProvision(t, svc, "alice")
			if _, err := svc.CreateProvisionCode("alice"); err != nil {
				t.Fatal(err)
			}
			if err := tc.del(svc); err != nil {
				t.Fatal(err)
			}
			if !logContains(t, svc, tc.wantLog) {
				t.Errorf("log lacks %q", tc.wantLog)
			}
			if _, err := svc.SecurityStrings(deviceID); core.ErrorCode(err) != core.CodeSession {
				t.Errorf("the device still downloads: %v", err)
			}
			if p, _ := svc.PendingCodes(); len(p) != 0 {
				t.Errorf("pending codes %v", p)
			}
			// Gone for every caller's lookup.
			if _, err := svc.User("alice"); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("User: %v", err)
			}
			if _, err := svc.UpdateUser("alice", func(*core.User) error { return nil }); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("UpdateUser: %v", err)
			}
			if _, err := svc.ResetPIN("alice", false); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("ResetPIN: %v", err)
			}
			if err := svc.DeleteUser("alice"); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("second console delete: %v", err)
			}
			if _, err := svc.UserAttribute("alice", "email"); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("UserAttribute: %v", err)
			}
			// A tombstone the admin API reads and purges.
			if d, _ := svc.DeletedUsers(); len(d) != 1 || d[0].DeviceID != "" {
				t.Fatalf("DeletedUsers %+v", d)
			}
			// The console may take the name again, also by import.
			pv, err := svc.PreviewImport(strings.NewReader("username,email\nalice,alice@example.org\n"))
			if err != nil || !pv.OK() {
				t.Fatalf("import preview: %+v %v", pv, err)
			}
			if _, err := svc.ImportUsers(pv.Rows, nil); err != nil {
				t.Fatalf("import over the deleted user: %v", err)
			}
			if u, err := svc.User("alice"); err != nil || u.Deleted || u.Provisioned() {
				t.Errorf("re-added %+v %v", u, err)
			}
		})
	}
}

// TestService_ResetPINAlike: one PIN-reset rule for the console (shown or
// mailed), the admin API and the self-service reset code. A disabled user
// is refused with the same code and sentence from each, the PIN staying;
// a reset clears the failure count; an administrator's reset lifts a lock,
// the user's own does not; a mailed PIN has one wording.
func TestService_ResetPINAlike(t *testing.T) {
	reset := map[string]func(svc *core.Service) error{
		"console shown":  func(svc *core.Service) error { _, err := svc.ResetPIN("alice", false); return err },
		"console mailed": func(svc *core.Service) error { _, err := svc.ResetPIN("alice", true); return err },
		"admin API": func(svc *core.Service) error {
			res, err := svc.ResetPINs(core.AdminScope(agentLocal), []string{"alice"})
			if err == nil {
				err = res[0]
			}
			return err
		},
		"self-service": func(svc *core.Service) error {
			// The reset code is asked for before the user is disabled or
			// locked (the request refuses a disabled user itself).
			m := codeInMail.FindStringSubmatch(lastMail(t, svc).Text)
			return svc.RedeemPINReset(agentAny, "alice", m[1])
		},
	}
	for _, tc := range []struct {
		caller  string
		mailed  bool
		lifts   bool // an administrator's reset unlocks
		selfAsk bool
	}{
		{caller: "console shown", lifts: true},
		{caller: "console mailed", mailed: true, lifts: true},
		{caller: "admin API", mailed: true, lifts: true},
		{caller: "self-service", mailed: true, selfAsk: true},
	} {
		setup := func(t *testing.T, edit func(u *core.User)) *core.Service {
			svc := storetest.MustService(t)
			storetest.MustAddUser(t, svc, "alice", "9132")
			if tc.selfAsk {
				if err := svc.RequestPINReset(agentAny, "alice"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.UpdateUser("alice", func(u *core.User) error { edit(u); return nil }); err != nil {
				t.Fatal(err)
			}
			return svc
		}
		t.Run(tc.caller+"/disabled", func(t *testing.T) {
			svc := setup(t, func(u *core.User) { u.Disabled = true })
			err := reset[tc.caller](svc)
			if core.ErrorCode(err) != core.CodeDisabled {
				t.Fatalf("a disabled user's PIN reset: %v, want %s", err, core.CodeDisabled)
			}
			if tc.caller != "self-service" && core.ErrorMessage(err) != `User "alice" is disabled; enable them before resetting their PIN.` {
				t.Errorf("sentence %q", core.ErrorMessage(err))
			}
			if u, _ := svc.User("alice"); u.PIN != "9132" {
				t.Errorf("the PIN changed to %q", u.PIN)
			}
		})
		t.Run(tc.caller+"/locked", func(t *testing.T) {
			svc := setup(t, func(u *core.User) { u.Locked, u.Failures = true, 5 })
			if err := reset[tc.caller](svc); err != nil {
				t.Fatal(err)
			}
			u, _ := svc.User("alice")
			if u.PIN == "9132" || u.Failures != 0 || u.PINReset != nil {
				t.Errorf("after reset PIN %q, failures %d, pending %v", u.PIN, u.Failures, u.PINReset)
			}
			if u.Locked == tc.lifts {
				t.Errorf("locked %v after a reset by %s", u.Locked, tc.caller)
			}
			if tc.mailed {
				m := lastMail(t, svc)
				if m.Subject != "Your new PIN" || !strings.Contains(m.Text, "Your new PIN is:\n\n    "+u.PIN+"\n") ||
					!strings.Contains(m.Text, "nobody, not even the helpdesk, will ever ask you for it") {
					t.Errorf("mail %q: %q", m.Subject, m.Text)
				}
			}
			if strings.Contains(logLines(t, svc), u.PIN) {
				t.Error("the PIN reached the log")
			}
		})
	}
}

// TestEvent_Origin: every event of a change says who made it, whichever
// way it came in.
func TestEvent_Origin(t *testing.T) {
	helpdesk := core.Agent{Name: "desk", Host: "127.0.0.1", Secret: "desk-secret-1234", Group: core.GroupAny, Helpdesk: true}
	for _, tc := range []struct {
		name string
		act  func(t *testing.T, svc *core.Service)
		kind core.EventKind
		want core.Actor
	}{
		{"console edit", func(t *testing.T, svc *core.Service) {
			if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.FullName = "Alice"; return nil }); err != nil {
				t.Fatal(err)
			}
		}, core.EventUsersChanged, core.ConsoleActor},
		{"console code", func(t *testing.T, svc *core.Service) {
			if _, err := svc.CreateProvisionCode("alice"); err != nil {
				t.Fatal(err)
			}
		}, core.EventCodeCreated, core.ConsoleActor},
		{"operator code", func(t *testing.T, svc *core.Service) {
			if _, err := (core.LocalAdmin{Svc: svc, Operator: "ops (uid 1000)"}).Reprovision("alice", false); err != nil {
				t.Fatal(err)
			}
		}, core.EventCodeCreated, core.OperatorActor("ops (uid 1000)")},
		{"command line", func(t *testing.T, svc *core.Service) {
			if err := (core.LocalAdmin{Svc: svc}).DeleteUser("alice"); err != nil {
				t.Fatal(err)
			}
		}, core.EventUsersChanged, core.OperatorActor("the command line")},
		{"agent login", func(t *testing.T, svc *core.Service) {
			_ = svc.Login(agentAny, "alice", "000000")
		}, core.EventLog, core.AgentActor(agentAny)},
		{"agent code", func(t *testing.T, svc *core.Service) {
			if err := svc.SetSetting("policy.selfreset.allow_self_provision", "true"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.RequestProvisionCode(agentAny, "alice"); err != nil {
				t.Fatal(err)
			}
		}, core.EventCodeCreated, core.AgentActor(agentAny)},
		{"helpdesk reset", func(t *testing.T, svc *core.Service) {
			if _, err := svc.ResetPINs(core.HelpdeskScope(helpdesk, ""), []string{"alice"}); err != nil {
				t.Fatal(err)
			}
		}, core.EventOutboxChanged, core.Actor{Kind: core.ActorHelpdesk, Name: "desk"}},
		{"phone provision", func(t *testing.T, svc *core.Service) {
			ic, err := svc.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Provision("192.0.2.7", "alice", ic.Code, "TestOS"); err != nil {
				t.Fatal(err)
			}
		}, core.EventProvisioned, core.PhoneActor("192.0.2.7")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := storetest.MustService(t)
			storetest.MustAddUser(t, svc, "alice", "1357")
			events, cancel := svc.Events().Subscribe()
			defer cancel()
			tc.act(t, svc)
			var got []core.Event
			for len(events) > 0 {
				e := <-events
				if e.Kind == tc.kind {
					got = append(got, e)
				}
			}
			if len(got) == 0 {
				t.Fatalf("no event of kind %d", tc.kind)
			}
			if e := got[len(got)-1]; e.Origin != tc.want {
				t.Errorf("origin %+v, want %+v", e.Origin, tc.want)
			}
		})
	}
}

// TestService_TokenIndexAlike: one index lookup for the agent's
// transportindex and the phone's TokenIndex page. Both read the same
// index; the agent is told why there is none and is held to its group,
// the anonymous phone is told 0.
func TestService_TokenIndexAlike(t *testing.T) {
	sales := core.Agent{Name: "sales-vpn", Host: "127.0.0.1", Secret: "s3cret-456", Group: "sales"}
	svc := storetest.MustService(t)
	if err := svc.SetSetting("policy.mobile.sync_index", "true"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	storetest.MustAddUser(t, svc, "bob", "2468") // no strings
	_, ss := mustProvision(t, svc, "alice")
	if err := svc.Login(agentAny, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who   string
		agent *core.Agent
		user  string
		want  int
		code  core.Code
	}{
		{"agent", &agentAny, "alice", 1, ""},
		{"phone", nil, "alice", 1, ""},
		{"agent", &agentAny, "bob", 0, core.CodeNoStrings},
		{"phone", nil, "bob", 0, ""},
		{"agent", &agentAny, "nobody", 0, core.CodeNotFound},
		{"phone", nil, "nobody", 0, ""},
		{"agent outside the group", &sales, "alice", 0, core.CodeNotInGroup},
	} {
		t.Run(tc.who+"/"+tc.user, func(t *testing.T) {
			n, err := svc.TokenIndex(tc.agent, tc.user, "")
			if n != tc.want || core.ErrorCode(err) != tc.code {
				t.Errorf("TokenIndex = %d, %v; want %d, %q", n, err, tc.want, tc.code)
			}
		})
	}
}

// TestService_AgentRulesInCore: the rules that lived in the AgentXML
// adapter (the self-provision gate, the agent's group, the session around
// a login) hold when core is called directly.
func TestService_AgentRulesInCore(t *testing.T) {
	sales := core.Agent{Name: "sales-vpn", Host: "127.0.0.1", Secret: "s3cret-456", Group: "sales"}
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")

	// The self-provision gate comes before the user is looked up.
	for _, user := range []string{"alice", "nobody"} {
		if _, err := svc.RequestProvisionCode(agentAny, user); err != core.ErrSelfProvisionOff {
			t.Fatalf("policy off, %s: %v", user, err)
		}
	}
	if !strings.Contains(logLines(t, svc), `Provision code request for user "nobody" refused: the Self-Reset policy does not allow user self-provision.`) {
		t.Error("refusal not logged")
	}
	if err := svc.SetSetting("policy.selfreset.allow_self_provision", "true"); err != nil {
		t.Fatal(err)
	}
	// The group check, in the transaction that would make the code.
	if _, err := svc.RequestProvisionCode(sales, "alice"); core.ErrorCode(err) != core.CodeNotInGroup {
		t.Fatalf("outside the group: %v", err)
	}
	if p, _ := svc.PendingCodes(); len(p) != 0 {
		t.Fatalf("a refused request made a code: %v", p)
	}
	if !strings.Contains(logLines(t, svc), `Provision code request for user "alice" refused: User "alice" is not in the agent's group sales.`) {
		t.Error("group refusal not logged")
	}
	ic, err := svc.RequestProvisionCode(agentAny, "alice")
	if err != nil || ic.MailID == 0 {
		t.Fatalf("agent code: %+v %v", ic, err)
	}

	// A session serves one login, of its own agent and user.
	otc := core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0)
	id, err := svc.StartSession(agentAny, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SessionLogin(sales, id, "alice", otc); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("another agent's session: %v", err)
	}
	id, _ = svc.StartSession(agentAny, "alice")
	if err := svc.SessionLogin(agentAny, id, "alice", otc); err != nil {
		t.Fatalf("session login: %v", err)
	}
	if err := svc.SessionLogin(agentAny, id, "alice", core.MobileCode(core.ExtractOTC(ss.S[1], "9132"), 1)); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("a spent session: %v", err)
	}
}

// TestService_IssuedCodeCarriesWhatTheConsoleShows: a code comes with the
// manual-entry server and Site ID, whether it replaces a device, and
// where its message went, so the console neither parses the URL nor
// reads the outbox back.
func TestService_IssuedCodeCarriesWhatTheConsoleShows(t *testing.T) {
	svc := storetest.MustService(t)
	if err := svc.SetSetting("server.advertise", "vpn.example.org"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "1357")
	set := svc.Settings()
	wantServer := "vpn.example.org:" + set.ListenPort()
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if ic.Server != wantServer || ic.SiteID != set.SiteID || ic.ReplacesDevice || ic.MailID != 0 || ic.MailTo != "" {
		t.Errorf("console code %+v, want server %s, Site ID %s, nothing mailed", ic, wantServer, set.SiteID)
	}
	if _, _, site, user, code, err := core.ParseProvisionURL(ic.URL); err != nil || site != ic.SiteID || user != "alice" || code != ic.Code {
		t.Errorf("URL %q does not carry the code", ic.URL)
	}
	// Send by email: the same code, with its address; mail is not set up.
	mailed, err := svc.MailIssuedCode(ic)
	if err != nil {
		t.Fatal(err)
	}
	if mailed.Code != ic.Code || mailed.MailID == 0 || mailed.MailTo != "alice@example.org" || !mailed.MailHeld {
		t.Errorf("mailed %+v", mailed)
	}
	mustProvision(t, svc, "alice")
	if err := svc.SetSetting("smtp.host", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("smtp.from", "provisio@example.org"); err != nil {
		t.Fatal(err)
	}
	ic, err = svc.MailProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !ic.ReplacesDevice || ic.MailTo != "alice@example.org" || ic.MailHeld {
		t.Errorf("reprovision by mail %+v", ic)
	}
}
