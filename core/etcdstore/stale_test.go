package etcdstore_test

import (
	"context"
	"sync"
	"testing"

	"provisio/core"
	"provisio/core/etcdstore"
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
	sta := openSite(t, site, key)
	a := storetest.MustServiceOn(t, sta)
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
	// A refusal that checks what A remembered writes nothing: the check
	// is a read.
	kv := sta.Backend().(*etcdstore.KV)
	revision := func() int64 {
		t.Helper()
		r, err := kv.Client().Get(context.Background(), kv.Prefix()+"config/settings")
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	before := revision()
	for _, svc := range servers {
		if _, err := svc.AddUser(core.User{Name: "dana", PIN: "4821", MobileAllowed: true}); core.ErrorCode(err) != core.CodeConflict {
			t.Fatalf("dana added twice: %v; want %s", err, core.CodeConflict)
		}
	}
	if after := revision(); after != before {
		t.Fatalf("refused adds wrote to etcd: revision %d, then %d", before, after)
	}
}

// TestService_TwoNodesProvisionAtOnce: one provision code redeemed on
// both servers at the same moment sets up exactly one phone, 10 times
// over, and the user ends with that one device on both servers.
func TestService_TwoNodesProvisionAtOnce(t *testing.T) {
	site, key := newSite(), newKey(t)
	a := storetest.MustServiceOn(t, openSite(t, site, key))
	b := storetest.MustServiceOn(t, openSite(t, site, key))
	storetest.MustAddUser(t, a, "dana", "4821")
	for round := 0; round < 10; round++ {
		ic, err := []*core.Service{a, b}[round%2].CreateProvisionCode("dana")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		res := make([]core.Provisioned, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for n, svc := range []*core.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res[n], errs[n] = svc.Provision("127.0.0.1", "dana", ic.Code, "iOS")
			}()
		}
		close(start)
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: one code on both servers at once: %v, %v; want exactly one phone", round, errs[0], errs[1])
		}
		won := res[0].DeviceID + res[1].DeviceID
		for n, svc := range []*core.Service{a, b} {
			if _, err := svc.SecurityStrings(won); err != nil {
				t.Fatalf("round %d: the phone set up, on server %d: %v", round, n, err)
			}
		}
	}
}

// TestService_AdminChangeOnOneServerStopsLoginsOnOther: a user disabled,
// locked or deleted through server B is refused at once on server A,
// which had just logged them in (and so remembers their records), with a
// right code each time; enabled or unlocked on B, they log in on A at
// once.
func TestService_AdminChangeOnOneServerStopsLoginsOnOther(t *testing.T) {
	site, key := newSite(), newKey(t)
	a := storetest.MustServiceOn(t, openSite(t, site, key))
	b := storetest.MustServiceOn(t, openSite(t, site, key))
	const pin = "4821"
	storetest.MustAddUser(t, a, "dana", pin)
	code := mobileCodes(t, a, "dana", pin)
	i := 0
	login := func(want core.Code, what string) {
		t.Helper()
		err := a.Login(agentAny, "dana", code(i))
		i++
		if want == "" && err != nil || want != "" && core.ErrorCode(err) != want {
			t.Fatalf("login on A %s: %v; want %q", what, err, want)
		}
	}
	login("", "before")
	change := func(what string, fn func(*core.User)) {
		t.Helper()
		if _, err := b.UpdateUser("dana", func(u *core.User) error { fn(u); return nil }); err != nil {
			t.Fatalf("%s on B: %v", what, err)
		}
	}
	change("disable", func(u *core.User) { u.Disabled = true })
	login(core.CodeWrongOTC, "after B disabled her")
	change("enable", func(u *core.User) { u.Disabled = false })
	login("", "after B enabled her again")
	change("lock", func(u *core.User) { u.Locked = true })
	login(core.CodeWrongOTC, "after B locked her")
	change("unlock", func(u *core.User) { u.Locked = false })
	login("", "after B unlocked her")
	if err := b.DeleteUser("dana"); err != nil {
		t.Fatal(err)
	}
	login(core.CodeWrongOTC, "after B deleted her")
}
