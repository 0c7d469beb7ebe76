package etcdstore_test

import (
	"sync"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_ReprovisionOnOneLoginOnOther: a phone is set up anew for a
// user through one server while the old phone downloads strings and logs
// in through the other, 10 rounds. Every round ends with one device: the
// new one works on both servers and the old one is refused on both as
// replaced; the log chain verifies on both.
func TestService_ReprovisionOnOneLoginOnOther(t *testing.T) {
	site, key := newSite(), newKey(t)
	sta, stb := openSite(t, site, key), openSite(t, site, key)
	a, b := storetest.MustServiceOn(t, sta), storetest.MustServiceOn(t, stb)
	const pin = "4821"
	storetest.MustAddUser(t, a, "dana", pin)
	provision := func(svc *core.Service) string {
		t.Helper()
		ic, err := svc.CreateProvisionCode("dana")
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Provision("127.0.0.1", "dana", ic.Code, "iOS")
		if err != nil {
			t.Fatal(err)
		}
		return p.DeviceID
	}
	old := provision(b)
	for round := 0; round < 10; round++ {
		var wg sync.WaitGroup
		var fresh string
		wg.Add(2)
		go func() { defer wg.Done(); fresh = provision(a) }()
		go func() {
			defer wg.Done()
			// The old phone, racing the new one: it may win or be
			// refused as replaced, never anything else.
			if _, err := b.SecurityStrings(old); err != nil && core.ErrorCode(err) != core.CodeSession {
				t.Errorf("round %d: old phone's download: %v", round, err)
			}
		}()
		wg.Wait()
		for _, svc := range []*core.Service{a, b} {
			if _, err := svc.SecurityStrings(old); core.ErrorCode(err) != core.CodeSession {
				t.Fatalf("round %d: the replaced phone's download: %v; want refused as replaced", round, err)
			}
			if _, err := svc.SecurityStrings(fresh); err != nil {
				t.Fatalf("round %d: the new phone's download: %v", round, err)
			}
		}
		old = fresh
	}
	for _, svc := range []*core.Service{a, b} {
		u, err := svc.User("dana")
		if err != nil || !u.Provisioned() {
			t.Fatalf("dana: %+v %v", u, err)
		}
	}
	if v, err := sta.VerifyLog(); err != nil {
		t.Fatalf("log chain on a: %+v %v", v, err)
	}
	if v, err := stb.VerifyLog(); err != nil {
		t.Fatalf("log chain on b: %+v %v", v, err)
	}
}
