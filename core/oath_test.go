package core_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

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

// TestOATH_RFC6238Vectors runs the RFC 6238 appendix B vectors through
// Service.Login: the path an agent login takes.
func TestOATH_RFC6238Vectors(t *testing.T) {
	seeds := map[string]string{
		core.OATHSHA1:   "12345678901234567890",
		core.OATHSHA256: "12345678901234567890123456789012",
		core.OATHSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	tests := []struct {
		unix int64
		alg  string
		code string
	}{
		{59, core.OATHSHA1, "94287082"}, {59, core.OATHSHA256, "46119246"}, {59, core.OATHSHA512, "90693936"},
		{1111111109, core.OATHSHA1, "07081804"}, {1111111109, core.OATHSHA256, "68084774"}, {1111111109, core.OATHSHA512, "25091201"},
		{1111111111, core.OATHSHA1, "14050471"}, {1111111111, core.OATHSHA256, "67062674"}, {1111111111, core.OATHSHA512, "99943326"},
		{1234567890, core.OATHSHA1, "89005924"}, {1234567890, core.OATHSHA256, "91819424"}, {1234567890, core.OATHSHA512, "93441116"},
		{2000000000, core.OATHSHA1, "69279037"}, {2000000000, core.OATHSHA256, "90698825"}, {2000000000, core.OATHSHA512, "38618901"},
		{20000000000, core.OATHSHA1, "65353130"}, {20000000000, core.OATHSHA256, "77737706"}, {20000000000, core.OATHSHA512, "47863826"},
	}
	for _, tc := range tests {
		t.Run(tc.alg+"@"+time.Unix(tc.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			e := newOATHEnv(t, time.Unix(tc.unix, 0))
			storetest.MustAddUser(t, e.svc, "alice", "9132")
			tok := core.OATHToken{OATHOptions: core.OATHOptions{Kind: core.OATHTOTP, Algorithm: tc.alg, Digits: 8, Period: 30},
				Secret: []byte(seeds[tc.alg])}
			if err := e.svc.InstallOATHForTest("alice", tok); err != nil {
				t.Fatal(err)
			}
			if got := core.TOTPCode(tok.Secret, time.Unix(tc.unix, 0), tc.alg, 8, 30); got != tc.code {
				t.Errorf("TOTPCode = %s, want %s", got, tc.code)
			}
			if err := e.svc.Login(agentVPN, "alice", tc.code); err != nil {
				t.Fatalf("login with the RFC code: %v", err)
			}
			// The same step again is a replay.
			if err := e.svc.Login(agentVPN, "alice", tc.code); core.ErrorCode(err) != core.CodeWrongOTC {
				t.Fatalf("replay: %v, want wrong OTC", err)
			}
		})
	}
}

// TestOATH_RFC4226Vectors runs the RFC 4226 appendix D values through
// Service.Login, counter by counter.
func TestOATH_RFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	tok := core.OATHToken{OATHOptions: core.OATHOptions{Kind: core.OATHHOTP, Algorithm: core.OATHSHA1, Digits: 6},
		Secret: []byte("12345678901234567890")}
	if err := e.svc.InstallOATHForTest("alice", tok); err != nil {
		t.Fatal(err)
	}
	for i, code := range want {
		if got := core.HOTPCode(tok.Secret, uint64(i), core.OATHSHA1, 6); got != code {
			t.Errorf("HOTPCode(%d) = %s, want %s", i, got, code)
		}
		if err := e.svc.Login(agentVPN, "alice", code); err != nil {
			t.Fatalf("login with counter %d: %v", i, err)
		}
	}
	// A spent counter is a replay: refused, not counted.
	if err := e.svc.Login(agentVPN, "alice", want[9]); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("replay: %v", err)
	}
	if n := e.failures(t, "alice"); n != 0 {
		t.Errorf("failures after a replay = %d, want 0", n)
	}
}

func TestOATH_IssueConfirmLogin(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 10, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	is, p := e.issue(t, "alice", core.OATHOptions{})
	if p.Kind != "totp" || p.Issuer != "office" || p.Account != "alice" || p.Digits != 6 || p.Period != 30 || p.Algorithm != "SHA1" {
		t.Fatalf("parsed URI = %+v", p)
	}
	if !strings.HasPrefix(is.URI, "otpauth://totp/office:alice?") {
		t.Errorf("URI = %s", is.URI)
	}
	if st, _ := e.svc.OATHStatus("alice"); st.State != core.OATHStatePending || !st.Expires.Equal(e.clock.Now().Add(600*time.Second)) {
		t.Errorf("status after issue = %+v", st)
	}
	// Before confirmation the token does not log in: alice has no strings,
	// so the code goes to the strings path and fails there.
	if err := e.svc.ConfirmOATH("alice", "000000x"); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("confirm with a malformed code: %v", err)
	}
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now().Add(-90*time.Second))); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("confirm with an old code: %v", err)
	}
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if st, _ := e.svc.OATHStatus("alice"); st.State != core.OATHStateConfirmed || st.Kind != core.OATHTOTP {
		t.Errorf("status after confirm = %+v", st)
	}
	// The confirming step is spent: logging in with it is a replay.
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("login with the confirming code: %v", err)
	}
	if n := e.failures(t, "alice"); n != 0 {
		t.Errorf("a replay counted as a failure: %d", n)
	}
	e.clock.Advance(30 * time.Second)
	code := totpAt(t, p, e.clock.Now())
	if err := e.svc.Login(agentVPN, "alice", code); err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", code); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("replay in the same step: %v", err)
	}
	if n := e.failures(t, "alice"); n != 0 {
		t.Errorf("a replay counted as a failure: %d", n)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now().Add(-60*time.Second))); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("code from two steps back: %v", err)
	}
	if n := e.failures(t, "alice"); n != 1 {
		t.Errorf("failures after a wrong code = %d, want 1", n)
	}
	// One step back is inside the window (and not spent yet).
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now().Add(30*time.Second))); err != nil {
		t.Fatalf("code from one step ahead: %v", err)
	}
	for _, want := range []string{
		`OATH token (TOTP, SHA1, 6 digits) issued for user "alice"; it expires unless confirmed by ` + e.clock.Now().Add(-60*time.Second+600*time.Second).Local().Format("15:04") + ".",
		`OATH token for user "alice" confirmed in the console.`,
		`Login failed for user: alice, error: OATH code already used (replay; not counted as a failure)`,
		`Login failed for user: alice, error: wrong OATH code`,
		`Login successful for user: alice.`,
	} {
		if !logContains(t, e.svc, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	assertNoSecretInLog(t, e.svc, p)
}

func assertNoSecretInLog(t *testing.T, svc *core.Service, p oathkey.Parsed) {
	t.Helper()
	logs, err := svc.LogTail(1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		if strings.Contains(strings.ReplaceAll(l.Message, " ", ""), p.Secret[:16]) {
			t.Errorf("log line carries the secret: %s", l.Message)
		}
	}
}

func TestOATH_LockoutCountsWithStrings(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{Digits: 8, Algorithm: "sha256"})
	if p.Digits != 8 || p.Algorithm != "SHA256" {
		t.Fatalf("parsed = %+v", p)
	}
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		err := e.svc.Login(agentVPN, "alice", "12345678")
		if core.ErrorCode(err) != core.CodeWrongOTC {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	u, _ := e.svc.User("alice")
	if !u.Locked || u.Failures != 5 {
		t.Fatalf("after 5 wrong codes: locked %v failures %d", u.Locked, u.Failures)
	}
	e.clock.Advance(30 * time.Second)
	// A locked account answers a right code exactly like a wrong one (#9).
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("right code while locked: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", "1234"); core.ErrorCode(err) != core.CodeBadOTC {
		t.Errorf("malformed code: %v", err)
	}
}

// TestOATH_ReprovisionKeepsOldDevice: a strings device keeps working
// while an OATH token is pending; the first login with the token confirms
// it and revokes the device in the same transaction.
func TestOATH_ReprovisionKeepsOldDevice(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	dev, ss := mustProvision(t, e.svc, "alice")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if st, _ := e.svc.OATHStatus("alice"); st.Kind != "strings" || st.Pending != core.OATHTOTP {
		t.Errorf("status with a device and a pending token = %+v", st)
	}
	if err := e.svc.Login(agentVPN, "alice", core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0)); err != nil {
		t.Fatalf("old device while the token is pending: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("first login with the token: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", core.MobileCode(core.ExtractOTC(ss.S[1], "9132"), 1)); err == nil {
		t.Fatal("old device still works after confirmation")
	}
	if _, err := e.svc.SecurityStrings(dev); core.ErrorCode(err) != core.CodeSession {
		t.Errorf("old device fetches strings: %v", err)
	}
	if !logContains(t, e.svc, `OATH token for user "alice" confirmed by the user's first login; the previous device was revoked.`) {
		t.Error("no confirmation log line")
	}
	// A new device replaces the token in turn.
	mustProvision(t, e.svc, "alice")
	if st, _ := e.svc.OATHStatus("alice"); st.Kind != "strings" || st.State != core.OATHStateConfirmed {
		t.Errorf("status after a new device = %+v", st)
	}
}

// scanFile reports whether the data file holds secret in raw, base64 or
// base32 form.
func scanFile(t *testing.T, path string, secret []byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)[:24]),
		[]byte(base32.StdEncoding.EncodeToString(secret)[:24])} {
		if bytes.Contains(data, form) {
			return true
		}
	}
	return false
}

func TestOATH_ExpiresUnconfirmedAndLeavesNoSecret(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	storetest.MustAddUser(t, e.svc, "bob", "4821")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	// A second token, issued and confirmed later, must survive.
	_, pb := e.issue(t, "bob", core.OATHOptions{Kind: core.OATHHOTP})
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(p.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// Many writes so the record moves between pages, leaving copies.
	for i := 0; i < 20; i++ {
		storetest.MustAddUser(t, e.svc, "user"+string(rune('a'+i)), "4821")
	}
	if !scanFile(t, e.st.Path(), secret) {
		t.Fatal("the secret is not in the file before expiry: the scan cannot find it")
	}
	e.clock.Advance(599 * time.Second)
	if n, err := e.svc.ExpireOATH(); err != nil || n != 0 {
		t.Fatalf("before the deadline: %d expired, %v", n, err)
	}
	hb, _ := pb.HOTP(0)
	if err := e.svc.ConfirmOATH("bob", hb); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if n, err := e.svc.ExpireOATH(); err != nil || n != 1 {
		t.Fatalf("at the deadline: %d expired, %v", n, err)
	}
	if !logContains(t, e.svc, `OATH token for user "alice" expired unconfirmed`) {
		t.Error("no expiry log line")
	}
	if st, _ := e.svc.OATHStatus("alice"); st.State != core.OATHStateNone {
		t.Errorf("status after expiry = %+v", st)
	}
	if scanFile(t, e.st.Path(), secret) {
		t.Fatal("the expired token's secret is still in the data file")
	}
	if st, _ := e.svc.OATHStatus("bob"); st.State != core.OATHStateConfirmed {
		t.Errorf("bob's confirmed token after the sweep: %+v", st)
	}
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); core.ErrorCode(err) != core.CodeSession {
		t.Errorf("confirm after expiry: %v", err)
	}
}

func TestOATH_SyncRecoversDrift(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	phone := func() time.Time { return e.clock.Now().Add(-150 * time.Second) } // 5 steps slow
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("drifted code logs in: %v", err)
	}
	if err := e.svc.OATHSync(agentVPN, "alice", totpAt(t, p, phone()), totpAt(t, p, phone().Add(time.Minute))); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("sync with codes that are not consecutive: %v", err)
	}
	// The user reads two codes 30 s apart.
	c1 := totpAt(t, p, phone())
	e.clock.Advance(30 * time.Second)
	c2 := totpAt(t, p, phone())
	if err := e.svc.OATHSync(agentVPN, "alice", c1, c2); err != nil {
		t.Fatalf("sync: %v", err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, phone())); err != nil {
		t.Fatalf("login after sync: %v", err)
	}
	if !logContains(t, e.svc, `OATH token of user "alice" resynchronised by agent "vpn".`) {
		t.Error("no sync log line")
	}
}

func TestOATH_HOTPLookAhead(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	_, p := e.issue(t, "alice", core.OATHOptions{Kind: "HOTP"})
	if p.Kind != core.OATHHOTP || !strings.Contains(mustURI(t, e, "alice"), "counter=0") {
		t.Fatalf("parsed = %+v", p)
	}
	c, _ := p.HOTP(0)
	if err := e.svc.ConfirmOATH("alice", c); err != nil {
		t.Fatal(err)
	}
	c, _ = p.HOTP(10) // 9 presses lost: still within the look-ahead of 10
	if err := e.svc.Login(agentVPN, "alice", c); err != nil {
		t.Fatalf("counter 10: %v", err)
	}
	c, _ = p.HOTP(22) // beyond the look-ahead
	if err := e.svc.Login(agentVPN, "alice", c); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("counter 22: %v", err)
	}
	c1, _ := p.HOTP(30)
	c2, _ := p.HOTP(31)
	if err := e.svc.OATHSync(agentVPN, "alice", c1, c2); err != nil {
		t.Fatalf("sync: %v", err)
	}
	c, _ = p.HOTP(32)
	if err := e.svc.Login(agentVPN, "alice", c); err != nil {
		t.Fatalf("counter 32 after sync: %v", err)
	}
}

// mustURI issues a fresh pending token for a second user and returns its
// URI, to look at the HOTP form.
func mustURI(t *testing.T, e *oathEnv, _ string) string {
	t.Helper()
	storetest.MustAddUser(t, e.svc, "hotpuser", "4821")
	is, err := e.svc.IssueOATH("hotpuser", core.OATHOptions{Kind: core.OATHHOTP})
	if err != nil {
		t.Fatal(err)
	}
	return is.URI
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

// TestOATH_MailAndRedeem: the mail carries the usual Provision URL and no
// secret; redeeming the code reveals the otpauth URI once; the mobile
// client cannot use such a code.
func TestOATH_MailAndRedeem(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := lastMail(t, e.svc)
	if m.URL != ic.URL || !strings.Contains(m.URL, "/userportal/provision?") || strings.Contains(m.URL, "otpauth") {
		t.Errorf("mail URL = %q", m.URL)
	}
	if _, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("mobile provision with an OATH code: %v", err)
	}
	// That attempt spent the code; a fresh one is redeemed on the web.
	ic, err = e.svc.MailOATHProvisionCode("alice", core.OATHOptions{Digits: 8})
	if err != nil {
		t.Fatal(err)
	}
	is, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code)
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	p, err := oathkey.Parse(is.URI)
	if err != nil || p.Digits != 8 {
		t.Fatalf("redeemed URI %q: %+v %v", is.URI, p, err)
	}
	if out, _ := e.svc.Outbox(); strings.Contains(out[len(out)-1].Text+out[len(out)-1].URL, p.Secret) {
		t.Error("the secret is in a message")
	}
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("second redeem: %v", err)
	}
	if err := e.svc.Login(agentVPN, "alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("login confirms the redeemed token: %v", err)
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

// TestOATH_RedeemRefusals: a right code meant for the mobile client is not
// spent; an unknown user writes nothing.
func TestOATH_RedeemRefusals(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	ic, err := e.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("mobile code redeemed as OATH: %v", err)
	}
	if _, err := e.svc.Provision("127.0.0.1", "alice", ic.Code, "TestOS"); err != nil {
		t.Fatalf("the mobile code was spent: %v", err)
	}
	before, _ := e.svc.LogTail(1000)
	if _, err := e.svc.RedeemOATHProvision("127.0.0.1", "nobody", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("unknown user: %v", err)
	}
	if after, _ := e.svc.LogTail(1000); len(after) != len(before) {
		t.Errorf("an unknown user cost %d log writes", len(after)-len(before))
	}
}

// TestOATH_LoginByAttribute: loginbyattribute reaches the OATH check.
func TestOATH_LoginByAttribute(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	if _, err := e.svc.UpdateUser("alice", func(u *core.User) error {
		u.Attributes = map[string]string{"upn": "alice@corp.example.org"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, p := e.issue(t, "alice", core.OATHOptions{})
	if err := e.svc.ConfirmOATH("alice", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if err := e.svc.LoginByAttribute(agentVPN, "upn", "alice@corp.example.org", totpAt(t, p, e.clock.Now())); err != nil {
		t.Fatalf("loginbyattribute with the app's code: %v", err)
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

// TestOATH_RedeemWrongCodeKeepsTheCode: anyone can post to the set-up
// page, so a stranger's wrong code must neither cancel the pending code
// (of either kind) nor cost a durable write; the phone's right code still
// works afterwards.
func TestOATH_RedeemWrongCodeKeepsTheCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(*core.Service) (core.IssuedCode, error)
		redeem func(*core.Service, string) error
	}{
		{"mobile-client code",
			func(s *core.Service) (core.IssuedCode, error) { return s.CreateProvisionCode("alice") },
			func(s *core.Service, code string) error {
				_, err := s.Provision("127.0.0.1", "alice", code, "TestOS")
				return err
			}},
		{"authenticator code",
			func(s *core.Service) (core.IssuedCode, error) {
				return s.MailOATHProvisionCode("alice", core.OATHOptions{})
			},
			func(s *core.Service, code string) error {
				_, err := s.RedeemOATHProvision("127.0.0.1", "alice", code)
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			svc, wc := e.svc, e.wc
			storetest.MustAddUser(t, svc, "alice", "9132")
			ic, err := tc.create(svc)
			if err != nil {
				t.Fatal(err)
			}
			before := wc.n.Load()
			for _, wrong := range []string{"ABCD2345", strings.ToLower(ic.Code) + "X", ""} {
				if _, err := svc.RedeemOATHProvision("192.0.2.7", "alice", wrong); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("wrong code %q: %v", wrong, err)
				}
				e.clock.Advance(time.Minute) // past the source's delay
			}
			if n := wc.n.Load() - before; n != 0 {
				t.Errorf("three wrong codes cost %d write transactions", n)
			}
			if err := tc.redeem(svc, ic.Code); err != nil {
				t.Fatalf("the right code after a stranger's wrong ones: %v", err)
			}
		})
	}
}

// TestOATH_RedeemWrongCodesKillTheCode: wrong codes are throttled per
// source (a second try at once is refused unchecked, even a right one)
// and the code dies after MaxProvisionAttempts wrong ones in all, with
// one write.
func TestOATH_RedeemWrongCodesKillTheCode(t *testing.T) {
	e := newOATHEnv(t, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	storetest.MustAddUser(t, e.svc, "alice", "9132")
	if err := e.svc.SetSetting("policy.selfreset.max_provision_attempts", "3"); err != nil {
		t.Fatal(err)
	}
	ic, err := e.svc.MailOATHProvisionCode("alice", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.1", "alice", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
		t.Fatal(err)
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.1", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("a right code inside the delay after a wrong one was checked: %v", err)
	}
	for _, src := range []string{"192.0.2.2", "192.0.2.3"} {
		if _, err := e.svc.RedeemOATHProvision(src, "alice", "ABCD2345"); core.ErrorCode(err) != core.CodeProvision {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.RedeemOATHProvision("192.0.2.9", "alice", ic.Code); core.ErrorCode(err) != core.CodeProvision {
		t.Fatalf("the code still works after %d wrong attempts: %v", 3, err)
	}
	if !logContains(t, e.svc, `User "alice" provision failed, A valid session could not be loaded or created for the user. (the provision code stopped working after 3 wrong attempts; make a new one)`) {
		t.Error("the dead code is not in the log")
	}
}
