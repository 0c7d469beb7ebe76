package etcdstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core"
	"provisio/core/etcdstore"
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

// mobileCodes provisions user on svc and returns the i-th one-time code
// of the phone's security strings.
func mobileCodes(t *testing.T, svc *core.Service, user, pin string) func(i int) string {
	t.Helper()
	ic, err := svc.CreateProvisionCode(user)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Provision("127.0.0.1", user, ic.Code, "iOS")
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc.SecurityStrings(p.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	strs := strings.Split(d.Strings, ";")
	return func(i int) string {
		var ss [10]byte
		copy(ss[:], strs[i])
		return core.MobileCode(core.ExtractOTC(ss, pin), i)
	}
}

// TestService_SessionsAcrossNodes: a sessionstart session lives in etcd,
// so it works on every node of the site: started on A, it serves one
// login on B and no second anywhere; killsession on B ends one started on
// A; another agent can neither end nor spend it; of two nodes ending one
// session at once exactly one succeeds; it expires after SessionTTL on
// either node's clock; deleting the user on B ends the user's sessions
// started on A.
func TestService_SessionsAcrossNodes(t *testing.T) {
	site, key := newSite(), newKey(t)
	clock := storetest.NewClock(time.Now())
	a := storetest.MustServiceOn(t, openSite(t, site, key), core.WithClock(clock))
	b := storetest.MustServiceOn(t, openSite(t, site, key), core.WithClock(clock))
	const pin = "4821"
	storetest.MustAddUser(t, a, "dana", pin)
	storetest.MustAddUser(t, a, "eli", pin)
	code := mobileCodes(t, a, "dana", pin)
	start := func(svc *core.Service, user string) string {
		t.Helper()
		id, err := svc.StartSession(agentAny, user)
		if err != nil {
			t.Fatalf("sessionstart for %s: %v", user, err)
		}
		return id
	}

	id := start(a, "dana")
	if err := b.SessionLogin(agentAny, id, "dana", code(0)); err != nil {
		t.Fatalf("login on B in a session started on A: %v", err)
	}
	for n, svc := range []*core.Service{a, b} {
		if err := svc.SessionLogin(agentAny, id, "dana", code(1)); core.ErrorCode(err) != core.CodeSession {
			t.Fatalf("the spent session used again on node %d: %v; want %s", n, err, core.CodeSession)
		}
	}

	id = start(a, "dana")
	if err := b.KillSession(agentAny, id); err != nil {
		t.Fatalf("killsession on B of a session started on A: %v", err)
	}
	if err := a.KillSession(agentAny, id); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession again on A: %v; want %s", err, core.CodeSession)
	}
	if err := b.SessionLogin(agentAny, id, "dana", code(1)); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("login in a killed session: %v; want %s", err, core.CodeSession)
	}

	// Another agent neither ends nor spends a session.
	other := core.Agent{Name: "helpdesk", Host: "127.0.0.1", Secret: "helpdesk-secret-1", Group: core.GroupAny}
	id = start(a, "dana")
	if err := b.KillSession(other, id); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession by another agent: %v; want %s", err, core.CodeSession)
	}
	if err := b.SessionLogin(other, id, "dana", code(1)); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("login by another agent: %v; want %s", err, core.CodeSession)
	}
	if err := b.SessionLogin(agentAny, id, "dana", code(1)); err != nil {
		t.Fatalf("login in the session another agent tried: %v", err)
	}

	// Two nodes ending one session at once: exactly one succeeds.
	for round := 0; round < 20; round++ {
		id := start(b, "dana")
		var wg sync.WaitGroup
		res := make([]error, 2)
		for n, svc := range []*core.Service{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); res[n] = svc.KillSession(agentAny, id) }()
		}
		wg.Wait()
		if (res[0] == nil) == (res[1] == nil) {
			t.Fatalf("round %d: one session ended on both nodes at once: %v, %v; want exactly one PASS", round, res[0], res[1])
		}
	}

	// Deleting a user on B ends the user's sessions started on A, and
	// only them.
	gone, kept := start(a, "eli"), start(a, "dana")
	if err := b.DeleteUser("eli"); err != nil {
		t.Fatal(err)
	}
	if err := a.KillSession(agentAny, gone); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("a deleted user's session: %v; want %s", err, core.CodeSession)
	}
	if err := a.KillSession(agentAny, kept); err != nil {
		t.Fatalf("another user's session after the delete: %v", err)
	}

	// Expiry, by the Service's clock.
	id = start(a, "dana")
	id2 := start(a, "dana")
	clock.Advance(core.SessionTTL)
	if err := b.SessionLogin(agentAny, id, "dana", code(2)); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("login in an expired session: %v; want %s", err, core.CodeSession)
	}
	if err := b.KillSession(agentAny, id2); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession of an expired session: %v; want %s", err, core.CodeSession)
	}
}

// TestSessions_InEtcd: what a session leaves in etcd. Its key is the
// SHA-256 of the id, and neither key nor value holds the id (a bearer
// token); the key is on a lease that outlives SessionTTL, so etcd removes
// it; an unknown, foreign or expired id costs no write.
func TestSessions_InEtcd(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	st := openSite(t, newSite(), newKey(t))
	svc := storetest.MustServiceOn(t, st, core.WithClock(clock))
	storetest.MustAddUser(t, svc, "dana", "4821")
	kv := st.Backend().(*etcdstore.KV)
	ctx := context.Background()

	id, err := svc.StartSession(agentAny, "dana")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := kv.Client().Get(ctx, kv.Prefix()+".sessions/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(id))
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Key) != kv.Prefix()+".sessions/"+hex.EncodeToString(h[:]) {
		t.Fatalf("sessions in etcd: %v; want one key, the hash of the id", resp.Kvs)
	}
	k := resp.Kvs[0]
	if strings.Contains(string(k.Key), id) || strings.Contains(string(k.Value), id) {
		t.Fatalf("the session id is in etcd: %s = %s", k.Key, k.Value)
	}
	if k.Lease == 0 {
		t.Fatal("the session key has no lease")
	}
	ttl, err := kv.Client().TimeToLive(ctx, clientv3.LeaseID(k.Lease))
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL < int64(core.SessionTTL/time.Second) || ttl.GrantedTTL > int64((core.SessionTTL+time.Minute)/time.Second) {
		t.Fatalf("the session's lease is granted for %d s; want a little over %v", ttl.GrantedTTL, core.SessionTTL)
	}

	revision := func() int64 {
		t.Helper()
		r, err := kv.Client().Get(ctx, kv.Prefix()+"config/settings")
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	before := revision()
	other := core.Agent{Name: "helpdesk", Host: "127.0.0.1", Secret: "helpdesk-secret-1", Group: core.GroupAny}
	if err := svc.KillSession(agentAny, "00112233445566778899aabbccddeeff"); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession of an unknown id: %v", err)
	}
	if err := svc.KillSession(other, id); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession by another agent: %v", err)
	}
	clock.Advance(core.SessionTTL)
	if err := svc.KillSession(agentAny, id); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("killsession of an expired session: %v", err)
	}
	if after := revision(); after != before {
		t.Fatalf("refused killsessions wrote to etcd: revision %d, then %d", before, after)
	}
}
