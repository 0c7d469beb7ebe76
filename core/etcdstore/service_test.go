package etcdstore_test

import (
	"strings"
	"sync"
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

var agentAny = core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny}

// TestService_TwoNodes runs the service's rules on two nodes of one site:
// provision on one, download and log in on the other; a replayed code
// fails on either; a code spent twice at once passes once; a provision
// code works once across nodes; wrong codes lock the user for both.
func TestService_TwoNodes(t *testing.T) {
	site, key := newSite(), newKey(t)
	a := storetest.MustServiceOn(t, openSite(t, site, key))
	b := storetest.MustServiceOn(t, openSite(t, site, key))
	const pin = "4821"
	storetest.MustAddUser(t, a, "dana", pin)
	ic, err := a.CreateProvisionCode("dana")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Provision("127.0.0.1", "dana", ic.Code, "iOS")
	if err != nil {
		t.Fatalf("provision on b: %v", err)
	}
	if _, err := a.Provision("127.0.0.1", "dana", ic.Code, "iOS"); err == nil {
		t.Fatal("the provision code worked twice across nodes")
	}
	d, err := b.SecurityStrings(p.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	strs := strings.Split(d.Strings, ";")
	code := func(i int) string {
		var ss [10]byte
		copy(ss[:], strs[i])
		return core.MobileCode(core.ExtractOTC(ss, pin), i)
	}
	if err := a.Login(agentAny, "dana", code(0)); err != nil {
		t.Fatalf("login on a: %v", err)
	}
	if err := b.Login(agentAny, "dana", code(0)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("replay on b: %v", err)
	}
	for i := 1; i <= 20; i++ {
		var wg sync.WaitGroup
		res := make([]error, 2)
		for n, svc := range []*core.Service{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); res[n] = svc.Login(agentAny, "dana", code(i)) }()
		}
		wg.Wait()
		if (res[0] == nil) == (res[1] == nil) {
			t.Fatalf("code %d on both nodes at once: %v, %v; want exactly one PASS", i, res[0], res[1])
		}
	}
	set := a.Settings()
	right := code(30)
	wrong := string(rune('0'+(right[0]-'0'+1)%10)) + right[1:]
	for i := 0; i < set.MaxFailures; i++ {
		_ = []*core.Service{a, b}[i%2].Login(agentAny, "dana", wrong)
	}
	for _, svc := range []*core.Service{a, b} {
		ls, err := svc.Lock("dana")
		if err != nil || !ls.Locked {
			t.Fatalf("after %d wrong codes on two nodes: %+v %v; want locked", set.MaxFailures, ls, err)
		}
	}
}
