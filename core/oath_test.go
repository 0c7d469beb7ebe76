package core_test

import (
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// The OATH tests' shared set-up, and the tests of oath.go: the options,
// the settings, OATH turned off. The tests of each oath_*.go file are in
// the oath_*_test.go of the same name.

var agentVPN = core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234", Group: core.GroupAny}

// oathEnv is a service over a real bbolt file with OATH on and a fake clock.
type oathEnv struct {
	svc   *core.Service
	st    *store.Store
	wc    *writeCountingStore // st, with its write transactions counted
	clock *storetest.Clock
}

func newOATHEnv(t *testing.T, at time.Time) *oathEnv {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := storetest.NewClock(at)
	wc := &writeCountingStore{Store: st}
	svc, err := core.NewService(wc, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"server.advertise": "127.0.0.1", "oath.enabled": "yes", "server.siteid": "office"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return &oathEnv{svc: svc, st: st, wc: wc, clock: clock}
}

func (e *oathEnv) failures(t *testing.T, name string) int {
	t.Helper()
	u, err := e.svc.User(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Failures
}

// issue issues a token and parses its URI as an app would.
func (e *oathEnv) issue(t *testing.T, name string, o core.OATHOptions) (core.OATHIssued, oathkey.Parsed) {
	t.Helper()
	is, err := e.svc.IssueOATH(name, o)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	p, err := oathkey.Parse(is.URI)
	if err != nil {
		t.Fatalf("parse %s: %v", is.URI, err)
	}
	return is, p
}

func totpAt(t *testing.T, p oathkey.Parsed, at time.Time) string {
	t.Helper()
	c, err := p.TOTP(at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeCountingStore counts the write transactions that reach the store.
type writeCountingStore struct {
	*store.Store
	n atomic.Int64
}

func (w *writeCountingStore) Update(fn func(core.Tx) error) error {
	w.n.Add(1)
	return w.Store.Update(fn)
}

func (w *writeCountingStore) Batch(fn func(core.Tx) error) error {
	w.n.Add(1)
	return w.Store.Batch(fn)
}

func TestOATH_TurnedOff(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetSetting("oath.enabled", "no"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("login with OATH off: %v", err)
	}
	if _, err := e.svc.IssueOATH("alice", core.OATHOptions{}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("issue with OATH off: %v", err)
	}
}

func TestOATH_OptionsRejected(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	for _, o := range []core.OATHOptions{{Kind: "ocra"}, {Digits: 7}, {Algorithm: "MD5"}, {Period: 5}} {
		if _, err := e.svc.IssueOATH("alice", o); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := e.svc.IssueOATH("nobody", core.OATHOptions{}); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("unknown user: %v", err)
	}
}

// TestOATH_SettingsDefaultsForOldRecords: a settings record from before
// OATH gets the documented window and look-ahead.
func TestOATH_SettingsDefaultsForOldRecords(t *testing.T) {
	var s core.Settings
	if err := s.UnmarshalJSON([]byte(`{"site_id":"x","max_failures":5,"pin_min":4,"pin_max":10}`)); err != nil {
		t.Fatal(err)
	}
	if s.OATH.Window != 1 || s.OATH.LookAhead != 10 || s.OATH.Enabled || s.SiteID != "x" {
		t.Errorf("decoded = %+v", s.OATH)
	}
	if got := core.OATHSecretText([]byte("12345678901234567890")); got != "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ" {
		t.Errorf("secret text = %q", got)
	}
}

// FuzzOATHOptions_Normalize: options from the admin API, the CLI and the
// console never panic, and what passes is something every check accepts.
func FuzzOATHOptions_Normalize(f *testing.F) {
	for _, o := range []core.OATHOptions{{}, {Kind: "HOTP", Digits: 8}, {Kind: "ocra"}, {Algorithm: "sha-256"}, {Period: 5}, {Digits: 7}} {
		f.Add(o.Kind, o.Algorithm, o.Digits, o.Period)
	}
	f.Fuzz(func(t *testing.T, kind, alg string, digits, period int) {
		o := core.OATHOptions{Kind: kind, Algorithm: alg, Digits: digits, Period: period}
		if err := o.Normalize(); err != nil {
			if core.ErrorCode(err) != core.CodeInvalid {
				t.Fatalf("%+v: %v", o, err)
			}
			return
		}
		if o.Kind != core.OATHTOTP && o.Kind != core.OATHHOTP || o.Digits != 6 && o.Digits != 8 ||
			o.Kind == core.OATHTOTP && (o.Period < 15 || o.Period > 300) {
			t.Fatalf("accepted %+v", o)
		}
		if c := core.HOTPCode([]byte("k"), 1, o.Algorithm, o.Digits); len(c) != o.Digits {
			t.Fatalf("code %q for %+v", c, o)
		}
	})
}
