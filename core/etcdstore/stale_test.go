package etcdstore_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_NewUserOnOtherServerProvisionsHere: an agent asked server A
// about "newhire" before the account existed (a login refused as an
// unknown user), then an administrator added newhire and made a provision
// code on server B. The phone's set-up through A must work: A's answer
// must not come from what it remembered of newhire's record before.
func TestService_NewUserOnOtherServerProvisionsHere(t *testing.T) {
	site, key := newSite(), newKey(t)
	a := storetest.MustServiceOn(t, openSite(t, site, key))
	b := storetest.MustServiceOn(t, openSite(t, site, key))
	if err := a.Login(agentAny, "newhire", "123400"); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("login of an unknown user on A: %v; want %s", err, core.CodeWrongOTC)
	}
	storetest.MustAddUser(t, b, "newhire", "4821")
	ic, err := b.CreateProvisionCode("newhire")
	if err != nil {
		t.Fatal(err)
	}
	for try := 1; try <= 3; try++ {
		if _, err = a.Provision("127.0.0.1", "newhire", ic.Code, "iOS"); err == nil {
			break
		}
		t.Errorf("set-up %d through A of a user added on B: %v", try, err)
	}
}

// TestService_ReAddedUserOnOtherServer: a user deleted on one server and
// added again (same name) on the other is an ordinary user on both at
// once. Each server's answers, the group commit's (a phone's set-up) and
// a single change's (an administrator's), must come from the site's
// records, not from what the server remembers of the record it wrote.
func TestService_ReAddedUserOnOtherServer(t *testing.T) {
	site, key := newSite(), newKey(t)
	a := storetest.MustServiceOn(t, openSite(t, site, key))
	b := storetest.MustServiceOn(t, openSite(t, site, key))
	storetest.MustAddUser(t, a, "dana", "4821")
	if err := a.DeleteUser("dana"); err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, b, "dana", "4821")
	ic, err := b.CreateProvisionCode("dana")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Provision("127.0.0.1", "dana", ic.Code, "iOS"); err != nil {
		t.Errorf("set-up through A of a user deleted on A and added again on B: %v", err)
	}
	// Deleted and added again, each time on the other server: every
	// change must pass the first time.
	servers := []*core.Service{a, b}
	for round := 0; round < 4; round++ {
		del, add := servers[round%2], servers[(round+1)%2]
		if err := del.DeleteUser("dana"); err != nil {
			t.Errorf("round %d: delete dana: %v", round, err)
		}
		if _, err := add.AddUser(core.User{Name: "dana", PIN: "4821", MobileAllowed: true}); err != nil {
			t.Errorf("round %d: add dana again on the other server: %v", round, err)
		}
	}
}
