package core_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// Issuing, confirming and expiring tokens (oath_issue.go); the shared
// set-up (oathEnv) is in oath_test.go.

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
