package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The RFC 4226 and RFC 6238 test vectors (oath_otp.go) through
// Service.Login; the shared set-up (oathEnv) is in oath_test.go.

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
