package core_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

var (
	agentHR    = core.Agent{Name: "hr", Host: "127.0.0.1", Secret: "hr-secret-1234", Group: core.GroupAny, Repository: true}
	agentLocal = core.Agent{Name: "local", Host: "127.0.0.1", Secret: "local-secret-1234", Group: core.GroupAny, Repository: true}
)

func ptr[T any](v T) *T { return &v }

// codes turns per-user results into codes for one comparison.
func codes(errs []error) []core.Code {
	out := make([]core.Code, len(errs))
	for i, err := range errs {
		out[i] = core.ErrorCode(err)
	}
	return out
}

func sameCodes(a, b []core.Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestService_CreateUsers(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	res, err := svc.CreateUsers("hr", "hr", []core.UserSpec{
		{Name: "carol", PIN: ptr("4821"), Email: ptr("carol@example.org"), Attributes: map[string]string{"Employee": "E1"}},
		{Name: "Carol"},                // the same name in another case, in the same batch
		{Name: "alice"},                // a local user
		{Name: "bad name"},             // invalid
		{Name: "dave", PIN: ptr("12")}, // invalid PIN
		{Name: "erin", MobileAllowed: ptr(false), Mobile: ptr("+44 20 7946 0005")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []core.Code{"", core.CodeConflict, core.CodeConflict, core.CodeInvalid, core.CodeInvalid, ""}
	if got := codes(res); !sameCodes(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	carol, err := svc.User("carol")
	if err != nil || carol.Repository != "hr" || carol.RepositoryName() != "hr" || !carol.MobileAllowed ||
		carol.PIN != "4821" || carol.Attributes["employee"] != "E1" {
		t.Fatalf("carol = %+v, %v", carol, err)
	}
	if erin, _ := svc.User("erin"); erin.MobileAllowed || erin.Mobile == "" {
		t.Fatalf("erin = %+v", erin)
	}
	if _, err := svc.User("dave"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatal("an invalid user was created")
	}
	if !logHas(t, svc, `User "carol" added to repository hr.`, `agent "hr"`) {
		t.Fatal("create not logged")
	}
	// The local repository is "local", and an agent of that name owns it.
	if alice, _ := svc.User("alice"); alice.RepositoryName() != core.LocalRepository {
		t.Fatalf("alice's repository %q", alice.RepositoryName())
	}
	res, _ = svc.CreateUsers("local", "local", []core.UserSpec{{Name: "frank"}})
	if frank, _ := svc.User("frank"); res[0] != nil || frank.Repository != "" {
		t.Fatalf("local create: %v, repository %q", res[0], frank.Repository)
	}
}

func TestService_AdminScope(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	if _, err := svc.CreateUsers("hr", "hr", []core.UserSpec{{Name: "carol", Group: ptr("sales")}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		scope core.Scope
		user  string
		want  core.Code
	}{
		{"own repository", core.AdminScope(agentHR), "carol", ""},
		{"another repository", core.AdminScope(agentHR), "alice", core.CodeNotFound},
		{"local agent, local user", core.AdminScope(agentLocal), "alice", ""},
		{"local agent, hr user", core.AdminScope(agentLocal), "carol", core.CodeNotFound},
		{"helpdesk, any repository", core.HelpdeskScope(agentAny, ""), "carol", ""},
		{"helpdesk, named repository", core.HelpdeskScope(agentAny, "local"), "carol", core.CodeNotFound},
		{"helpdesk, outside its group", core.HelpdeskScope(agentStaff, ""), "carol", core.CodeNotFound},
		{"unknown user", core.HelpdeskScope(agentAny, ""), "nobody", core.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, err := svc.ReadUsers(tt.scope, []string{tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if got := core.ErrorCode(res[0]); got != tt.want {
				t.Fatalf("read %s: %v, want %q", tt.user, res[0], tt.want)
			}
			upd, _ := svc.UpdateUsers(tt.scope, []core.UserSpec{{Name: tt.user, FullName: ptr("X")}})
			if got := core.ErrorCode(upd[0]); got != tt.want {
				t.Fatalf("update %s: %v, want %q", tt.user, upd[0], tt.want)
			}
		})
	}
}

func TestService_DeleteUsers(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	if _, err := svc.CreateUsers("hr", "hr", []core.UserSpec{{Name: "carol", PIN: ptr("4821"), Email: ptr("carol@example.org")}}); err != nil {
		t.Fatal(err)
	}
	deviceID, ss := mustProvision(t, svc, "carol")
	scope := core.AdminScope(agentHR)
	res, err := svc.DeleteUsers(scope, []string{"carol", "carol", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(res); !sameCodes(got, []core.Code{"", "", core.CodeNotFound}) {
		t.Fatalf("results %v", got)
	}
	// Hidden from lists, unknown to the agent API, unable to log in or
	// provision, and the device is gone.
	if users, _ := svc.Users(); len(users) != 0 {
		t.Fatalf("Users lists %v", users)
	}
	if deleted, _ := svc.DeletedUsers(); len(deleted) != 1 || !deleted[0].DeletedAt.Equal(clock.Now()) {
		t.Fatalf("DeletedUsers = %+v", deleted)
	}
	if ok, _ := svc.Exists("carol"); ok {
		t.Fatal("a deleted user exists")
	}
	if err := svc.Login(agentAny, "carol", core.MobileCode(core.ExtractOTC(ss.S[0], "4821"), 0)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("login: %v", err)
	}
	if _, err := svc.SecurityStrings(deviceID); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("strings: %v", err)
	}
	if _, err := svc.CreateProvisionCode("carol"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("provision code: %v", err)
	}
	if _, err := svc.Provision("127.0.0.1", "carol", "ANYCODE2", ""); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("provision: %v", err)
	}
	upd, _ := svc.UpdateUsers(scope, []core.UserSpec{{Name: "carol", FullName: ptr("C")}})
	if core.ErrorCode(upd[0]) != core.CodeDeleted {
		t.Fatalf("update a deleted user: %v", upd[0])
	}
	// Read still shows the record; another repository cannot purge it.
	if users, res, _ := svc.ReadUsers(scope, []string{"carol"}); res[0] != nil || !users[0].Deleted || users[0].DeviceID != "" {
		t.Fatalf("read deleted: %+v %v", users[0], res[0])
	}
	if purged, err := svc.PurgeDeleted(core.AdminScope(agentLocal)); err != nil || len(purged) != 0 {
		t.Fatalf("local purge = %v, %v", purged, err)
	}
	// Creating the name again in its repository replaces the record.
	if res, _ := svc.CreateUsers("hr", "hr", []core.UserSpec{{Name: "carol"}}); res[0] != nil {
		t.Fatalf("re-create: %v", res[0])
	}
	if u, _ := svc.User("carol"); u.Deleted || u.PIN != "" {
		t.Fatalf("re-created %+v", u)
	}
	if _, err := svc.DeleteUsers(scope, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	if purged, err := svc.PurgeDeleted(scope); err != nil || len(purged) != 1 || purged[0] != "carol" {
		t.Fatalf("purge = %v, %v", purged, err)
	}
	if _, err := svc.User("carol"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("after purge: %v", err)
	}
	// A console user may reuse a deleted name too.
	if _, err := svc.CreateUsers("hr", "hr", []core.UserSpec{{Name: "dave"}}); err != nil {
		t.Fatal(err)
	}
	svc.DeleteUsers(scope, []string{"dave"})
	if _, err := svc.AddUser(core.User{Name: "dave"}); err != nil {
		t.Fatalf("console add over a deleted user: %v", err)
	}
	for _, line := range []string{`User "carol" deleted; PurgeDeleted removes the record.`,
		`Deleted user "carol" purged.`} {
		if !logHas(t, svc, line, `agent "hr"`) {
			t.Errorf("log lacks %q by agent \"hr\"", line)
		}
	}
}

func TestService_ResetPINs(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	storetest.MustAddUser(t, svc, "bob", "2468")
	storetest.MustAddUser(t, svc, "dave", "7305")
	if _, err := svc.AddUser(core.User{Name: "frank", PIN: "1357"}); err != nil {
		t.Fatal(err)
	}
	for _, edit := range []struct {
		name string
		fn   func(*core.User)
	}{{"alice", func(u *core.User) { u.Locked, u.Failures = true, 5 }}, {"dave", func(u *core.User) { u.Disabled = true }}} {
		if _, err := svc.UpdateUser(edit.name, func(u *core.User) error { edit.fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	res, err := svc.ResetPINs(core.AdminScope(agentLocal), []string{"alice", "dave", "frank", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	want := []core.Code{"", core.CodeDisabled, core.CodeNoTransport, core.CodeNotFound}
	if got := codes(res); !sameCodes(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	alice, _ := svc.User("alice")
	if alice.PIN == "9132" || len(alice.PIN) != 4 || alice.Locked || alice.Failures != 0 {
		t.Fatalf("alice after reset %+v", alice)
	}
	if m := lastMail(t, svc); m.To != "alice@example.org" || !strings.Contains(m.Text, alice.PIN) {
		t.Fatalf("mail %+v", m)
	}
	if frank, _ := svc.User("frank"); frank.PIN != "1357" {
		t.Fatal("a refused reset changed the PIN")
	}
	if !logHas(t, svc, `PIN reset for user "alice"; the new PIN was queued to the user's email.`, `agent "local"`) {
		t.Fatal("reset not logged")
	}
}

func TestService_Report(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	storetest.MustAddUser(t, svc, "alice", "9132") // created 2026-01-05, never logged in
	clock.Advance(48 * time.Hour)
	if _, err := svc.CreateUsers("hr", "hr", []core.UserSpec{
		{Name: "bob", Locked: ptr(true)}, {Name: "carol", Disabled: ptr(true)}, {Name: "erin"},
	}); err != nil {
		t.Fatal(err)
	}
	svc.DeleteUsers(core.AdminScope(agentHR), []string{"erin"})
	names := func(users []core.User) string {
		var out []string
		for _, u := range users {
			out = append(out, u.Name)
		}
		return strings.Join(out, ",")
	}
	all := core.HelpdeskScope(agentAny, "")
	tests := []struct {
		scope core.Scope
		kind  core.ReportKind
		since time.Time
		want  string
	}{
		{all, core.ReportIdle, time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC), "alice"},
		{all, core.ReportIdle, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), "alice,bob,carol"},
		{core.HelpdeskScope(agentAny, "hr"), core.ReportIdle, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), "bob,carol"},
		{all, core.ReportLocked, time.Time{}, "bob"},
		{all, core.ReportDisabled, time.Time{}, "carol"},
		{core.HelpdeskScope(agentAny, "local"), core.ReportDisabled, time.Time{}, ""},
	}
	for _, tt := range tests {
		users, err := svc.Report(tt.scope, tt.kind, tt.since)
		if err != nil || names(users) != tt.want {
			t.Errorf("%s %s since %s = %q, %v; want %q", tt.scope.Repository, tt.kind, tt.since.Format("2006-01-02"), names(users), err, tt.want)
		}
	}
	if _, err := svc.Report(all, "bogus", time.Time{}); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("unknown report: %v", err)
	}
}
