package etcdstore_test

import (
	"regexp"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// Codes that work once, on two servers of one site: an OATH code, a PIN
// reset code and a self-service provision code each pass on exactly one
// server, whether the servers see it one after the other or at the same
// moment. Each server checks in its own transaction, and etcd's compare
// of what each read decides which one counts.

// twoServices opens two services on one new site with a shared clock and
// settings stored before the second opens (there is no configuration
// watch at this level, so B loads them at its start).
func twoServices(t *testing.T, clock *storetest.Clock, settings map[string]string) (a, b *core.Service) {
	t.Helper()
	site, key := newSite(), newKey(t)
	opts := []core.Option{core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{})}
	a = storetest.MustServiceOn(t, openSite(t, site, key), opts...)
	for k, v := range settings {
		if err := a.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	b = storetest.MustServiceOn(t, openSite(t, site, key), opts...)
	return a, b
}

// atOnce runs f on both services at the same moment and returns their
// errors, A's first.
func atOnce(a, b *core.Service, f func(svc *core.Service) error) [2]error {
	var res [2]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for n, svc := range []*core.Service{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; res[n] = f(svc) }()
	}
	close(start)
	wg.Wait()
	return res
}

// TestService_OATHCodeOnceAcrossNodes: a TOTP code accepted on A is
// refused on B in the same time step, and of A and B checking one code at
// the same moment exactly one accepts it; the same for HOTP counters.
func TestService_OATHCodeOnceAcrossNodes(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	a, b := twoServices(t, clock, map[string]string{"oath.enabled": "yes", "server.siteid": "office"})
	for _, kind := range []string{core.OATHTOTP, core.OATHHOTP} {
		t.Run(kind, func(t *testing.T) {
			user := "dana-" + kind
			storetest.MustAddUser(t, a, user, "4821")
			is, err := a.IssueOATH(user, core.OATHOptions{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			p, err := oathkey.Parse(is.URI)
			if err != nil {
				t.Fatal(err)
			}
			// code is the i-th code the user's app shows: the i-th time
			// step from now for TOTP, counter i for HOTP.
			code := func(i int) string {
				t.Helper()
				var c string
				var err error
				if kind == core.OATHTOTP {
					c, err = p.TOTP(clock.Now())
				} else {
					c, err = p.HOTP(uint64(i))
				}
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if err := b.ConfirmOATH(user, code(0)); err != nil {
				t.Fatalf("confirm on B: %v", err)
			}
			next := func(i int) string {
				t.Helper()
				if kind == core.OATHTOTP {
					clock.Advance(30 * time.Second)
				}
				return code(i)
			}
			c := next(1)
			if err := a.Login(agentAny, user, c); err != nil {
				t.Fatalf("login on A: %v", err)
			}
			if err := b.Login(agentAny, user, c); core.ErrorCode(err) != core.CodeWrongOTC {
				t.Fatalf("the code A accepted, on B in the same step: %v; want %s", err, core.CodeWrongOTC)
			}
			if err := a.Login(agentAny, user, c); core.ErrorCode(err) != core.CodeWrongOTC {
				t.Fatalf("the code again on A: %v; want %s", err, core.CodeWrongOTC)
			}
			for i := 2; i < 22; i++ {
				c := next(i)
				res := atOnce(a, b, func(svc *core.Service) error { return svc.Login(agentAny, user, c) })
				if (res[0] == nil) == (res[1] == nil) {
					t.Fatalf("code %d on A and B at once: %v, %v; want exactly one accepted", i, res[0], res[1])
				}
				for _, err := range res {
					if err != nil && core.ErrorCode(err) != core.CodeWrongOTC {
						t.Fatalf("code %d: the refusal is %v; want %s", i, err, core.CodeWrongOTC)
					}
				}
			}
			// A replay is not a failure toward the lock, on either server.
			if u, err := b.User(user); err != nil || u.Failures != 0 || u.Locked {
				t.Fatalf("after the replays: %+v %v; want no failures counted", u, err)
			}
		})
	}
}

var codeInMail = regexp.MustCompile(`\n    ([A-Z0-9]+)\n`)

// TestService_PINResetCodeOnceAcrossNodes: a PIN reset code redeemed on A
// is spent on B, and of A and B redeeming one code at the same moment
// exactly one resets the PIN (one new PIN mailed).
func TestService_PINResetCodeOnceAcrossNodes(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	a, b := twoServices(t, clock, nil)
	storetest.MustAddUser(t, a, "dana", "4821")
	request := func(on *core.Service) string {
		t.Helper()
		if err := on.RequestPINReset(agentAny, "dana"); err != nil {
			t.Fatal(err)
		}
		box, err := on.Outbox()
		if err != nil || len(box) == 0 {
			t.Fatalf("outbox: %v, %d messages", err, len(box))
		}
		m := codeInMail.FindStringSubmatch(box[len(box)-1].Text)
		if m == nil {
			t.Fatalf("no code in %q", box[len(box)-1].Text)
		}
		return m[1]
	}
	pin := func() string {
		t.Helper()
		u, err := a.User("dana")
		if err != nil {
			t.Fatal(err)
		}
		return u.PIN
	}

	code := request(b)
	if err := a.RedeemPINReset(agentAny, "dana", code); err != nil {
		t.Fatalf("redeem on A of a code asked for on B: %v", err)
	}
	after := pin()
	if err := b.RedeemPINReset(agentAny, "dana", code); core.ErrorCode(err) != core.CodeSession {
		t.Fatalf("the code A redeemed, on B: %v; want %s", err, core.CodeSession)
	}
	if pin() != after {
		t.Fatal("the spent code changed the PIN again")
	}

	for round := 0; round < 10; round++ {
		code := request([]*core.Service{a, b}[round%2])
		before := pin()
		res := atOnce(a, b, func(svc *core.Service) error { return svc.RedeemPINReset(agentAny, "dana", code) })
		if (res[0] == nil) == (res[1] == nil) {
			t.Fatalf("round %d: one code redeemed on A and B at once: %v, %v; want exactly one reset", round, res[0], res[1])
		}
		for _, err := range res {
			if err != nil && core.ErrorCode(err) != core.CodeSession {
				t.Fatalf("round %d: the refusal is %v; want %s", round, err, core.CodeSession)
			}
		}
		if pin() == before {
			t.Fatalf("round %d: the PIN did not change", round)
		}
	}
}

// TestService_SelfServiceCodeOnceAcrossNodes: a provision code mailed by
// the self-service portal on A sets up one phone, on B, and is spent on A;
// of A and B redeeming one code at the same moment exactly one sets up a
// phone.
func TestService_SelfServiceCodeOnceAcrossNodes(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	a, b := twoServices(t, clock, map[string]string{"policy.selfreset.allow_self_provision": "Yes"})
	storetest.MustAddUser(t, a, "dana", "4821")
	request := func(on *core.Service) string {
		t.Helper()
		if out, err := on.RequestSelfServiceCode("192.0.2.9", "dana"); err != nil || out != core.SelfServiceMailed {
			t.Fatalf("self-service code: %v, %v", out, err)
		}
		box, err := on.Outbox()
		if err != nil || len(box) == 0 {
			t.Fatalf("outbox: %v, %d messages", err, len(box))
		}
		return box[len(box)-1].Code
	}
	code := request(a)
	if _, err := b.Provision("127.0.0.1", "dana", code, "iOS"); err != nil {
		t.Fatalf("provision on B with the code mailed on A: %v", err)
	}
	if _, err := a.Provision("127.0.0.1", "dana", code, "iOS"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("the code B redeemed, on A: %v; want %s", err, core.CodeProvision)
	}
	for round := 0; round < 10; round++ {
		code := request([]*core.Service{a, b}[round%2])
		var got [2]core.Provisioned
		res := atOnce(a, b, func(svc *core.Service) error {
			p, err := svc.Provision("127.0.0.1", "dana", code, "iOS")
			if svc == a {
				got[0] = p
			} else {
				got[1] = p
			}
			return err
		})
		if (res[0] == nil) == (res[1] == nil) {
			t.Fatalf("round %d: one code redeemed on A and B at once: %v, %v; want exactly one phone set up", round, res[0], res[1])
		}
		winner := got[0]
		if res[0] != nil {
			winner = got[1]
		}
		if user, ok, err := a.DeviceUser(winner.DeviceID); err != nil || !ok || user != "dana" {
			t.Fatalf("round %d: the phone set up is not dana's device: %q %v %v", round, user, ok, err)
		}
	}
}
