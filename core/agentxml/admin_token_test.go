package agentxml_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// TestAdmin_StringsTokenWithoutTheMobileRight: a Token of kind strings
// for a user whose account does not allow the mobile client makes no code
// (core refuses it), and the user's result says why with
// ADMIN_ERROR_INVALID, not ADMIN_ERROR_NO_USER: the user is in the
// agent's reach, and the rest of the Update was saved. An integrator
// told "no such user" would add the user again and be told it exists.
func TestAdmin_StringsTokenWithoutTheMobileRight(t *testing.T) {
	e, _ := newOATHEnv(t)
	if err := e.svc.PutAgent(core.Agent{Name: "local", Host: "127.0.0.1", Secret: "local-secret-1234", Repository: true, Helpdesk: true}); err != nil {
		t.Fatal(err)
	}
	ac, err := agentxmltest.NewAdminClient(e.srv.URL(), e.fp, "local-secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error { u.MobileAllowed = false; return nil }); err != nil {
		t.Fatal(err)
	}
	r, err := ac.Helpdesk(`<Update><User name="alice"><Policies><Policy name="locked">true</Policy></Policies><Token kind="strings"/></User></Update>`)
	if err != nil {
		t.Fatal(err)
	}
	u := r.Op("Update", 0).User("alice")
	if u.Pass() || u.Error != "ADMIN_ERROR_INVALID" || !strings.Contains(u.Message, "may not use the mobile client") {
		t.Errorf("strings token for a user without the mobile right: %s %s %q, want FAIL ADMIN_ERROR_INVALID with core's sentence\n%s",
			u.Result, u.Error, u.Message, r.Body)
	}
	if got, err := e.svc.User("alice"); err != nil || !got.Locked {
		t.Errorf("the Update itself was not saved: %+v %v", got, err)
	}
	if p, _ := e.svc.PendingCodes(); len(p) != 0 {
		t.Errorf("a code was made: %v", p)
	}
}
