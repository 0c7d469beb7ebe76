package agentxml_test

import (
	"regexp"
	"sort"
	"testing"

	"provisio/core"
)

var deviceIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestServer_EndToEnd(t *testing.T) {
	e := newEnv(t)
	m := e.provisioned(t, "alice", "9132")

	if !deviceIDRe.MatchString(m.DeviceID()) {
		t.Errorf("device id %q is not 32 lower-case hex characters", m.DeviceID())
	}
	strs := m.Strings()
	if len(strs) != core.StringsPerDownload {
		t.Fatalf("got %d strings, want %d", len(strs), core.StringsPerDownload)
	}
	for i, s := range strs {
		b := s[:]
		sorted := append([]byte(nil), b...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		if string(sorted) != "0123456789" {
			t.Errorf("string %d %q is not a permutation of 0-9", i, b)
		}
	}

	code, index := m.OTC("9132")
	if index != 0 || len(code) != 6 {
		t.Fatalf("first OTC = %q at index %d, want 6 digits at index 0", code, index)
	}
	login := func(code, wantResult, wantErr string) {
		t.Helper()
		res, errCode, err := e.agent.Login("alice", code)
		if err != nil {
			t.Fatal(err)
		}
		if res != wantResult || errCode != wantErr {
			t.Errorf("login %s = %s %q, want %s %q", code, res, errCode, wantResult, wantErr)
		}
	}
	login(code, "PASS", "")
	login(code, "FAIL", "") // the index is spent: a replay is a bare FAIL
	wrong, _ := m.OTC("9132")
	wrong = string(rune('0'+(wrong[0]-'0'+1)%10)) + wrong[1:]
	login(wrong, "FAIL", "") // a wrong OTC is a bare FAIL
	wantLog(t, e.svc,
		`Provision code created for user "alice"`,
		`User "alice" can now reprovision their mobile device.`,
		`User "alice" provisioned successfully`,
		"Security strings fetched for user: alice",
		"Login successful for user: alice.",
		"Login failed for user: alice, error: ",
	)

	// With a comma, as people type it from some clients.
	good, _ := m.OTC("9132")
	login(good[:4]+","+good[4:], "PASS", "")

	// Five wrong codes in a row lock the user; then even a right code
	// gets a bare FAIL, exactly like a wrong one.
	for i := 0; i < 5; i++ {
		c, _ := m.OTC("9132")
		login(c[:3]+string(rune('0'+(c[3]-'0'+1)%10))+c[4:], "FAIL", "")
	}
	u, err := e.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Locked {
		t.Fatalf("alice is not locked after 5 wrong codes (failures %d)", u.Failures)
	}
	c, _ := m.OTC("9132")
	login(c, "FAIL", "")

	// Malformed and missing codes have their own errors.
	login("12ab", "FAIL", "AGENT_ERROR_BAD_OTC")
	login("", "FAIL", "AGENT_ERROR_NO_OTC")
}

func TestServer_ReprovisionRevokesOldDevice(t *testing.T) {
	e := newEnv(t)
	old := e.provisioned(t, "bob", "2468")
	login := func(code, want string) {
		t.Helper()
		res, errCode, err := e.agent.Login("bob", code)
		if err != nil {
			t.Fatal(err)
		}
		if got := res + " " + errCode; got != want {
			t.Errorf("login = %q, want %q", got, want)
		}
	}
	c, _ := old.OTC("2468")
	login(c, "PASS ")

	// A pending code does not disturb the current device.
	fresh := e.phone(t, "bob")
	c, _ = old.OTC("2468")
	login(c, "PASS ")

	if err := fresh.Provision("iOS 18"); err != nil {
		t.Fatal(err)
	}
	if fresh.DeviceID() == old.DeviceID() {
		t.Fatal("reprovision reused the device id")
	}
	// The old device is gone and so are its strings.
	if got := failCode(old.DownloadStrings()); got != "FAIL AGENT_ERROR_SESSION" {
		t.Errorf("old device download = %s, want FAIL AGENT_ERROR_SESSION", got)
	}
	c, _ = old.OTC("2468")
	login(c, "FAIL ")
	wantRefused(t, e.svc, "Mobile request from unknown user; the user needs to reprovision")

	if err := fresh.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	c, _ = old.OTC("2468")
	login(c, "FAIL ")
	c, _ = fresh.OTC("2468")
	login(c, "PASS ")
}
