package agentxml_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store/storetest"
)

// The fixed world of docs/api.md: every example there runs against a
// fresh server holding exactly this, at fixtureNow.

var fixtureNow = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// Agents of the fixture, all calling from 127.0.0.1 except "remote".
var fixtureAgents = []core.Agent{
	{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"},
	{Name: "hr", Host: "127.0.0.1", Secret: "hr-secret-1234", Repository: true},
	{Name: "local", Host: "127.0.0.1", Secret: "local-secret-1234", Repository: true},
	{Name: "helpdesk", Host: "127.0.0.1", Secret: "helpdesk-secret-1234", Helpdesk: true},
	{Name: "remote", Host: "10.9.9.9", Secret: "remote-secret-1234"},
}

// fixtureGroupAgent is added by tests of group limits.
var fixtureGroupAgent = core.Agent{Name: "salesonly", Host: "127.0.0.1", Secret: groupSecret, Group: "sales", Helpdesk: true}

// Fixed secrets of the fixture users.
const (
	fixtureAliceDevice = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	fixtureFrankCode   = "ABCD2345" // frank's pending provision code
	fixtureAliceReset  = "K7MPQ2RT" // alice's pending PIN reset code
)

// fixtureStrings are alice's security strings: string i is 0123456789
// turned left by i, so the examples' codes can be checked by hand. With
// PIN 9132, string 0 gives OTC 8021 and the login code 802100.
func fixtureStrings() core.StringSet {
	var ss core.StringSet
	for i := range ss.S {
		for j := 0; j < 10; j++ {
			ss.S[i][j] = byte('0' + (i+j)%10)
		}
	}
	return ss
}

func day(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// fixtureUsers are the users of docs/api.md, "Fixtures".
func fixtureUsers() []core.User {
	return []core.User{
		{Name: "alice", FullName: "Alice Smith", Email: "alice@example.org", Mobile: "+44 20 7946 0001",
			Group: "staff", MobileAllowed: true, PIN: "9132", Created: day(2025, 1, 6, 8, 0),
			LastLogin: day(2025, 2, 28, 17, 30), DeviceID: fixtureAliceDevice, DeviceOS: "iOS 18",
			ProvisionedAt: day(2025, 1, 6, 8, 15), Attributes: map[string]string{"upn": "alice@corp.example.org"},
			PINReset: &core.ProvisionCode{Hash: core.HashCode("pin-reset\x00alice", fixtureAliceReset),
				Created: fixtureNow.Add(-time.Minute), Expires: fixtureNow.Add(9 * time.Minute)}},
		{Name: "bob", Email: "bob@example.org", Group: "staff", MobileAllowed: true, PIN: "2468",
			Locked: true, Failures: 5, Created: day(2025, 1, 6, 8, 5), LastLogin: day(2025, 2, 3, 9, 12)},
		{Name: "carol", FullName: "Carol Jones", Email: "carol@example.org", StringsEmail: "carol.strings@example.org",
			Group: "sales", MobileAllowed: true, PIN: "4821", Repository: "hr", Created: day(2024, 11, 4, 10, 0),
			LastLogin: day(2025, 3, 1, 8, 0), Attributes: map[string]string{"employee": "E1042"}},
		{Name: "dave", Email: "dave@example.org", Group: "sales", MobileAllowed: true, PIN: "7305",
			Disabled: true, Repository: "hr", Created: day(2009, 5, 11, 9, 0), LastLogin: day(2010, 3, 1, 10, 0)},
		{Name: "erin", Email: "erin@example.org", MobileAllowed: true, Repository: "hr",
			Created: day(2024, 2, 1, 9, 0), Deleted: true, DeletedAt: day(2025, 3, 1, 12, 0)},
		{Name: "frank", FullName: "Frank Miller", MobileAllowed: true, PIN: "1357", Created: day(2025, 1, 10, 14, 0)},
	}
}

// fixtureEnv is a running server over the fixture.
type fixtureEnv struct {
	svc   *core.Service
	clock *storetest.Clock
	url   string
	fp    string
}

// fixtureCarolSeed is the secret of carol's OATH token.
const fixtureCarolSeed = "12345678901234567890"

func newFixture(t testing.TB) *fixtureEnv {
	t.Helper()
	clock := storetest.NewClock(fixtureNow)
	st := storetest.MustOpen(t)
	svc, err := core.NewService(st, core.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"server.advertise": "127.0.0.1", "server.siteid": "office-1",
		"policy.selfreset.allow_self_provision": "Yes", "oath.enabled": "Yes",
	} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range fixtureAgents {
		if err := svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	err = st.Update(func(tx core.Tx) error {
		for _, u := range fixtureUsers() {
			if err := tx.PutUser(u); err != nil {
				return err
			}
			// The store keeps the login fields in a record of their own.
			if err := tx.PutLoginState(u.Name, core.LoginState{Failures: u.Failures, Permanent: u.Locked, LastLogin: u.LastLogin}); err != nil {
				return err
			}
		}
		ss := fixtureStrings()
		if err := tx.PutStrings("alice", &ss); err != nil {
			return err
		}
		if err := tx.PutDevice(fixtureAliceDevice, "alice"); err != nil {
			return err
		}
		// carol uses an authenticator app: the RFC 6238 SHA-1 seed.
		if err := tx.PutOATH("carol", core.OATHRecord{Active: &core.OATHToken{
			OATHOptions: core.OATHOptions{Kind: core.OATHTOTP, Algorithm: core.OATHSHA1, Digits: 6, Period: 30},
			Secret:      []byte(fixtureCarolSeed), Created: fixtureNow.Add(-48 * time.Hour), ConfirmedAt: fixtureNow.Add(-47 * time.Hour)}}); err != nil {
			return err
		}
		return tx.PutProvisionCode("frank", core.ProvisionCode{Hash: core.HashCode("frank", fixtureFrankCode),
			Created: fixtureNow.Add(-time.Minute), Expires: fixtureNow.Add(9 * time.Minute)})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, fp := agentxmltest.MustServer(t, svc)
	return &fixtureEnv{svc: svc, clock: clock, url: srv.URL(), fp: fp}
}

func (f *fixtureEnv) agent(t testing.TB, secret string) *agentxmltest.AgentClient {
	t.Helper()
	c, err := agentxmltest.NewAgentClient(f.url, f.fp, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixtureEnv) admin(t testing.TB, secret string) *agentxmltest.AdminClient {
	t.Helper()
	c, err := agentxmltest.NewAdminClient(f.url, f.fp, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
