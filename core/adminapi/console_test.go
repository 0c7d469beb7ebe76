package adminapi_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// TestConsole drives the full console's API (core.ConsoleAPI) over a real
// admin socket: what it changes is what the server stores, secrets do not
// come back, and every change is logged with the operator.
func TestConsole(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	events, stop := k.Subscribe()
	defer stop()

	// Settings: read masked, saved whole, the password kept.
	if err := svc.SetSetting("smtp.password", "hunter2-secret"); err != nil {
		t.Fatal(err)
	}
	set := k.Settings()
	if set.Mail.Password != core.SecretMask {
		t.Fatalf("password over the API: %q", set.Mail.Password)
	}
	set.MaxFailures = 7
	if err := k.SetSettings(set, "PIN & Lockout"); err != nil {
		t.Fatal(err)
	}
	if got := svc.Settings(); got.MaxFailures != 7 || got.Mail.Password != "hunter2-secret" {
		t.Fatalf("stored: max failures %d, password %q", got.MaxFailures, got.Mail.Password)
	}
	if k.Settings().MaxFailures != 7 {
		t.Error("the console still reads the old settings after its own change")
	}
	// A change made elsewhere reaches the console's reads via the stream.
	if err := svc.SetSetting("server.name", "Front office"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, func(e core.Event) bool {
		// Earlier changes' events come first.
		return e.Kind == core.EventConfigChanged && k.Settings().ServerName == "Front office"
	})

	// Users: add with the form's fields, edit only what changed.
	if _, err := k.AddUser(core.User{Name: "alice", Email: "alice@example.org", PIN: "9132", MobileAllowed: true, Group: "staff"}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.UpdateUser("alice", func(u *core.User) error { u.FullName, u.Locked = "Alice Smith", true; return nil }); err != nil {
		t.Fatal(err)
	}
	u, err := svc.User("alice")
	if err != nil || u.FullName != "Alice Smith" || !u.Locked || u.PIN != "9132" || u.Group != "staff" {
		t.Fatalf("stored alice %+v %v", u, err)
	}
	users, err := k.Users()
	if err != nil || len(users) != 1 || users[0].PIN != "" || !users[0].Locked {
		t.Fatalf("users over the API %+v %v", users, err)
	}
	// A field error keeps its field, for the form.
	_, err = k.UpdateUser("alice", func(u *core.User) error { u.Email = "not an address"; return nil })
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Field != "email" {
		t.Errorf("bad email: %#v", err)
	}

	// Agents: the secret never comes back, and is kept on edit.
	if err := k.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Modes: []string{"mobile", "dual"}}); err != nil {
		t.Fatal(err)
	}
	agents := k.Agents()
	if len(agents) != 1 || agents[0].Secret != core.SecretMask || len(agents[0].Modes) != 2 || len(k.AgentAddresses("vpn")) != 1 {
		t.Fatalf("agents over the API %+v", agents)
	}
	a := agents[0]
	a.Host = "127.0.0.2"
	if err := k.PutAgent(a); err != nil {
		t.Fatal(err)
	}
	stored := svc.Agents()
	if len(stored) != 1 || stored[0].Host != "127.0.0.2" || stored[0].Secret == core.SecretMask || stored[0].Secret == "" {
		t.Fatalf("stored agent %+v", stored)
	}

	// Reprovision and mail the code; the outbox shows no code.
	if err := svc.SetSetting("smtp.host", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("smtp.from", "provisio@example.org"); err != nil {
		t.Fatal(err)
	}
	ic, err := k.CreateProvisionCode("alice")
	if err != nil || ic.Code == "" {
		t.Fatalf("code %+v %v", ic, err)
	}
	if _, err := k.MailIssuedCode(ic); err != nil {
		t.Fatal(err)
	}
	msgs, err := k.Outbox()
	if err != nil || len(msgs) != 1 || msgs[0].Code != "" || msgs[0].URL != "" || msgs[0].To != "alice@example.org" {
		t.Fatalf("outbox %+v %v", msgs, err)
	}
	// Failed for good, then Retry all failed: queued again on the server.
	if err := svc.MailFailed(msgs[0].ID, "The mail server refused the sender provisio@example.org.", false); err != nil {
		t.Fatal(err)
	}
	if n, err := k.RetryFailedMail(); err != nil || n != 1 {
		t.Fatalf("retry all failed = %d, %v; want 1", n, err)
	}
	if m, err := svc.OutMessage(msgs[0].ID); err != nil || m.State != core.MailQueued {
		t.Fatalf("after retry all failed: %+v %v", m, err)
	}
	if err := k.DiscardMail(msgs[0].ID); err != nil {
		t.Fatal(err)
	}

	// Profiles.
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(set.MobileClient)}
	p.SupportEmail = "help@example.org"
	if err := k.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := k.AssignProfileToGroup("Sales", "staff"); err != nil {
		t.Fatal(err)
	}
	if n, err := k.ProfileImpact("Sales"); err != nil || n != 1 {
		t.Errorf("impact %d %v", n, err)
	}
	if e, err := k.EffectiveProfileFor(core.User{Group: "staff"}); err != nil || e.Profile.Name != "Sales" {
		t.Errorf("effective %+v %v", e, err)
	}
	// "" returns the group to the Default, as for the Service (it was a
	// request to "/v1/profiles//groups", which no route answers).
	if err := k.AssignProfileToGroup("", "staff"); err != nil {
		t.Fatal(err)
	}
	if e, err := svc.EffectiveProfileFor(core.User{Group: "staff"}); err != nil || e.Profile.Name != core.DefaultProfileName {
		t.Errorf("effective after assigning \"\" %+v %v", e, err)
	}
	if err := k.AssignProfileToGroup("Sales", "staff"); err != nil {
		t.Fatal(err)
	}

	// Import.
	pre, err := k.PreviewImport(strings.NewReader("username,email\nbob,bob@example.org\n"))
	if err != nil || len(pre.Rows) != 1 {
		t.Fatalf("preview %+v %v", pre, err)
	}
	if n, err := k.ImportUsers(pre.Rows, nil); err != nil || n != 1 {
		t.Fatalf("import %d %v", n, err)
	}

	// Log: a note names the operator (its Actor); the chain verifies.
	if err := k.Log(core.LevelWarn, "", "Console note %d", 42); err != nil {
		t.Fatal(err)
	}
	tail, err := k.LogTail(1000)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, l := range tail {
		all.WriteString("[" + l.Actor + "] " + l.Message + "\n")
	}
	op := "[a console or command on this machine (uid "
	// The use cases' own lines name the operator; the admin API adds none.
	for _, want := range []string{op, ")] Console note 42\n", ")] PIN & Lockout saved: ", `)] User "alice" changed: full name "" → Alice Smith, locked.` + "\n",
		`)] Agent "vpn" saved (`, `)] Imported 1 user.` + "\n", `)] 1 failed message queued again.` + "\n"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, all.String())
		}
	}
	if strings.Contains(all.String(), "hunter2") || strings.Contains(all.String(), ic.Code) || strings.Contains(all.String(), "s3cret") {
		t.Errorf("a secret is in the log:\n%s", all.String())
	}
	page, err := k.Logs(0, 3)
	if err != nil || len(page) != 3 || page[0].Seq >= page[2].Seq {
		t.Errorf("log page %+v %v", page, err)
	}
	if v, err := k.VerifyLog(); err != nil || v.Head == "" {
		t.Errorf("verify %+v %v", v, err)
	}
	if !k.Health().OK() {
		t.Errorf("health %+v", k.Health())
	}
}

func waitEvent(t *testing.T, events <-chan core.Event, ok func(core.Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, open := <-events:
			if !open {
				t.Fatal("the event stream closed")
			}
			if ok(e) {
				return
			}
		case <-deadline:
			t.Fatal("the event never came")
		}
	}
}

// TestConsoleRoutes_Roles: every route of the full console refuses a
// helpdesk console, except reading users and profiles and
// reprovisioning, and the refusal is counted in the log.
func TestConsoleRoutes_Roles(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	if _, err := e.admin.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	id := e.pair(t, "desk-2", core.RoleHelpdesk)
	hc := remoteHTTP(t, id)
	tests := []struct {
		method, path, body string
		helpdesk           bool
	}{
		{"GET", "/v1/users?view=full", "", true},
		{"GET", "/v1/users/alice", "", true},
		{"PATCH", "/v1/users/alice", `{"full_name":"X"}`, false},
		{"POST", "/v1/import/preview", "name\nbob\n", false},
		{"POST", "/v1/import", `{"rows":[]}`, false},
		{"GET", "/v1/oath", "", true},
		{"GET", "/v1/users/alice/oath", "", true},
		{"GET", "/v1/profiles?view=full", "", true},
		{"GET", "/v1/profiles/Default", "", true},
		{"GET", "/v1/profiles/Default/impact", "", true},
		{"POST", "/v1/effective-profile", `{}`, true},
		{"POST", "/v1/profiles", `{"name":"X"}`, false},
		{"PUT", "/v1/profiles/Default", `{}`, false},
		{"DELETE", "/v1/profiles/Default", "", false},
		{"POST", "/v1/profiles/Default/groups", `{"group":"g"}`, false},
		{"GET", "/v1/outbox", "", false},
		{"POST", "/v1/outbox/1/retry", "", false},
		{"POST", "/v1/outbox/retry-failed", "", false},
		{"DELETE", "/v1/outbox/1", "", false},
		{"GET", "/v1/log?tail=5", "", false},
		{"GET", "/v1/log/verify", "", false},
		{"POST", "/v1/log", `{"level":"INFO","message":"x"}`, false},
		{"GET", "/v1/config", "", false},
		{"PUT", "/v1/config", `{}`, false},
		{"GET", "/v1/health", "", false},
		{"POST", "/v1/backups/run", "", false},
		{"POST", "/v1/backups/check", `{}`, false},
		{"GET", "/v1/mail/template", "", false},
		{"POST", "/v1/mail/test", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "https://"+e.addr+tt.path, strings.NewReader(tt.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			forbidden := resp.StatusCode == http.StatusForbidden && bytes.Contains(b, []byte(`"forbidden"`))
			if forbidden == tt.helpdesk {
				t.Errorf("helpdesk: %s %s", resp.Status, b)
			}
		})
	}
	if log := e.log(t); !strings.Contains(log, `from console "desk-2" at 127.0.0.1 in the last minute: console role helpdesk may not do outbox.read`) {
		t.Errorf("the refusal is not logged:\n%s", log)
	}
}

// remoteHTTP is an HTTP client with id's certificate, trusting any server
// (the pinning is tested elsewhere).
func remoteHTTP(t *testing.T, id *adminapi.Identity) *http.Client {
	t.Helper()
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}} // #nosec: loopback test
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestConsole_CodesCarryTheServersClock: a console whose clock is not the
// server's (an attached or remote one) gets, with every code and token,
// when the server made it, so it counts the validity down from when the
// answer came instead of comparing its clock with the server's expiry.
// The withdrawal the console makes when the admin turns to the
// authenticator app works over the socket and names the operator.
func TestConsole_CodesCarryTheServersClock(t *testing.T) {
	for _, skew := range []time.Duration{11 * time.Minute, -11 * time.Minute} {
		t.Run("console "+skew.String()+" off", func(t *testing.T) {
			// The server's clock is the console's (time.Now) minus skew.
			clock := storetest.NewClock(time.Now().Add(-skew))
			svc := storetest.MustService(t, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
			if err := svc.SetSetting("oath.enabled", "yes"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.AddUser(core.User{Name: "alice", Email: "alice@example.org", MobileAllowed: true}); err != nil {
				t.Fatal(err)
			}
			dir, err := os.MkdirTemp("", "pv") // short: socket paths are limited
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			srv, err := adminapi.Listen(filepath.Join(dir, adminapi.SocketName), svc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			c, err := adminapi.Dial(filepath.Join(dir, adminapi.SocketName))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			k := adminapi.NewConsole(c)

			made := func(what string, created, expires time.Time) {
				t.Helper()
				if !created.Equal(clock.Now()) || expires.Sub(created) != 600*time.Second {
					t.Errorf("%s: created %v, expires %v; want the server's now and 10 minutes", what, created, expires)
				}
			}
			ic, err := k.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			made("console's code", ic.Created, ic.Expires)
			mailed, err := k.MailIssuedCode(ic)
			if err != nil {
				t.Fatal(err)
			}
			made("mailed code", mailed.Created, mailed.Expires)
			is, err := k.IssueOATH("alice", core.OATHOptions{Kind: core.OATHTOTP})
			if err != nil {
				t.Fatal(err)
			}
			made("OATH token", is.Created, is.Expires)
			hd, err := c.Reprovision("alice", false) // the helpdesk console's call
			if err != nil {
				t.Fatal(err)
			}
			made("helpdesk code", hd.Created, hd.Expires)

			if ok, err := k.WithdrawProvisionCode("alice", ic.Code); ok || err != nil {
				t.Errorf("withdrawing a replaced code: %v %v", ok, err)
			}
			if ok, err := k.WithdrawProvisionCode("alice", hd.Code); !ok || err != nil {
				t.Errorf("withdrawing the pending code: %v %v", ok, err)
			}
			if p, _ := svc.PendingCodes(); len(p) != 0 {
				t.Errorf("codes pending after the withdrawal: %v", p)
			}
			entries, _ := svc.LogTail(20)
			var log strings.Builder
			named := false
			for _, e := range entries {
				log.WriteString("[" + e.Actor + "] " + e.Message + "\n")
				named = named || e.Message == `Provision code for user "alice" withdrawn; it no longer works.` && strings.HasPrefix(e.Actor, "a console or command on this machine (uid ")
			}
			if !named {
				t.Errorf("the withdrawal does not name the operator:\n%s", log.String())
			}
		})
	}
}

// TestConsole_ChangeSettingsSendsOnlyTheChange: the console's
// ChangeSettings saves its keys and nothing else, so settings another
// console saved after this one read them (its cache is stale: nothing
// told it) stay; a key both saved takes the later save; a value cleared
// to nothing (a field the JSON leaves out) is cleared; the password,
// masked over the API, stays.
func TestConsole_ChangeSettingsSendsOnlyTheChange(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	k := adminapi.NewConsole(c)
	pin := strings.Repeat("ab", 32)
	for key, v := range map[string]string{"smtp.password": "hunter2-secret", "smtp.tls_fingerprint": pin} {
		if err := svc.SetSetting(key, v); err != nil {
			t.Fatal(err)
		}
	}
	_ = k.Settings() // read, and cached
	// Another console saves meanwhile.
	for key, v := range map[string]string{"policy.mobile.support_phone": "+44 20 7946 0000", "policy.lockout.max_failures": "9"} {
		if err := svc.SetSetting(key, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.ChangeSettings(map[string]string{
		"policy.lockout.max_failures": "7", "policy.lockout.lock_seconds": "600", "smtp.tls_fingerprint": "",
	}, "Policy PIN and Lockout"); err != nil {
		t.Fatal(err)
	}
	got := svc.Settings()
	if got.MaxFailures != 7 || got.LockSeconds != 600 || got.Mail.TLSFingerprint != "" {
		t.Errorf("this console's change: max failures %d, lock %d s, pin %q", got.MaxFailures, got.LockSeconds, got.Mail.TLSFingerprint)
	}
	if got.MobileClient.SupportPhone != "+44 20 7946 0000" || got.Mail.Password != "hunter2-secret" {
		t.Errorf("the other console's change: support phone %q, password %q", got.MobileClient.SupportPhone, got.Mail.Password)
	}
	// A value that does not parse is refused under its key, before
	// anything is sent.
	err = k.ChangeSettings(map[string]string{"policy.lockout.max_failures": "0"}, "Policy PIN and Lockout")
	if ce := core.FieldErrors(err); len(ce) != 1 || ce[0].Field != "policy.lockout.max_failures" {
		t.Errorf("refusal %v", err)
	}
}

// TestHandler_SetConfigMergesOverTheStoredSettings: PUT /v1/config merges
// the fields it is given over the settings as stored when it saves, not
// over the answering server's snapshot. Two services over one store
// stand for two servers of an etcd site: the second saves server.name,
// which the first's snapshot has not seen; a console attached to the
// first then changes smtp.from_name, and server.name stays.
func TestHandler_SetConfigMergesOverTheStoredSettings(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	sock := filepath.Join(t.TempDir(), adminapi.SocketName)
	srv, err := adminapi.Listen(sock, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	other := storetest.MustServiceOn(t, st)
	if err := other.SetSetting("server.name", "front-desk"); err != nil {
		t.Fatal(err)
	}
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := adminapi.NewConsole(c).ChangeSettings(map[string]string{"smtp.from_name": "Office IT"}, "Mail transport"); err != nil {
		t.Fatal(err)
	}
	got := storetest.MustServiceOn(t, st).Settings()
	if got.ServerName != "front-desk" || got.Mail.FromName != "Office IT" {
		t.Errorf("stored server.name %q, smtp.from_name %q: want both changes kept", got.ServerName, got.Mail.FromName)
	}
	if svc.Settings().ServerName != "front-desk" {
		t.Errorf("the answering server's snapshot has server.name %q, want what it saved", svc.Settings().ServerName)
	}
}
