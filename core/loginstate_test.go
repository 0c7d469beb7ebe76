package core_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// writeLog records which Tx writes a store's transactions make. It wraps
// a real bbolt store, so every write still happens.
type writeLog struct {
	core.Store
	mu     sync.Mutex
	writes []string
}

func (w *writeLog) wrap(fn func(core.Tx) error) func(core.Tx) error {
	return func(tx core.Tx) error { return fn(recordingTx{Tx: tx, w: w}) }
}

func (w *writeLog) Update(fn func(core.Tx) error) error { return w.Store.Update(w.wrap(fn)) }
func (w *writeLog) Batch(fn func(core.Tx) error) error  { return w.Store.Batch(w.wrap(fn)) }

func (w *writeLog) add(s string) {
	w.mu.Lock()
	w.writes = append(w.writes, s)
	w.mu.Unlock()
}

// take returns the writes recorded since the last take.
func (w *writeLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.writes
	w.writes = nil
	return out
}

type recordingTx struct {
	core.Tx
	w *writeLog
}

func (t recordingTx) PutUser(u core.User) error {
	t.w.add("user")
	return t.Tx.PutUser(u)
}

func (t recordingTx) PutStrings(name string, ss *core.StringSet) error {
	t.w.add("strings")
	return t.Tx.PutStrings(name, ss)
}

func (t recordingTx) PutLoginState(name string, ls core.LoginState) error {
	t.w.add("login")
	return t.Tx.PutLoginState(name, ls)
}

func (t recordingTx) AppendLog(e core.LogEntry) (core.LogEntry, error) {
	t.w.add("log")
	return t.Tx.AppendLog(e)
}

func (t recordingTx) PutProvisionCode(name string, c core.ProvisionCode) error {
	t.w.add("code")
	return t.Tx.PutProvisionCode(name, c)
}

func (t recordingTx) DeleteProvisionCode(name string) error {
	t.w.add("delete code")
	return t.Tx.DeleteProvisionCode(name)
}

// A successful login writes the user's login record and one log line,
// and neither the JSON user record nor the 1 KiB strings record.
func TestService_LoginWritesOnlyTheLoginRecord(t *testing.T) {
	w := &writeLog{Store: storetest.MustOpen(t)}
	svc, err := core.NewService(w)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")
	tests := []struct {
		name string
		otc  string
		want []string
	}{
		{"right code", core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0), []string{"login", "log"}},
		{"wrong code", core.MobileCode(core.ExtractOTC(ss.S[1], "1111"), 1), []string{"login", "log"}},
		{"replay", core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0), []string{"log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.take()
			_ = svc.Login(agentAny, "alice", tt.otc)
			if got := w.take(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("writes %v, want %v", got, tt.want)
			}
		})
	}
}

// A retrying agent resending an accepted code is refused each time but
// never locks the user.
func TestService_ReplaysDoNotLock(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")
	accepted := core.MobileCode(core.ExtractOTC(ss.S[0], "9132"), 0)
	if err := svc.Login(agentAny, "alice", accepted); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := svc.Login(agentAny, "alice", accepted); core.ErrorCode(err) != core.CodeWrongOTC {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	if u, _ := svc.User("alice"); u.Locked || u.Failures != 0 {
		t.Fatalf("after 50 replays: locked %v, failures %d", u.Locked, u.Failures)
	}
	if !logContains(t, svc, "Login failed for user: alice, error: string index already used (a replay; not counted as a failure)") {
		t.Fatal("replay not logged with its reason")
	}
	if err := svc.Login(agentAny, "alice", core.MobileCode(core.ExtractOTC(ss.S[1], "9132"), 1)); err != nil {
		t.Fatalf("next code after the replays: %v", err)
	}
}

// Locks escalate: each lock in a row lasts twice as long as the one
// before, runs out on its own, and the policy's last lock is permanent.
// Wrong codes go on counting while locked; a right code while locked
// fails like a wrong one and is not spent.
func TestService_LockEscalation(t *testing.T) {
	tests := []struct {
		name        string
		settings    map[string]string
		wantLocks   []time.Duration // temporary locks in order; then permanent
		lockedWrong bool            // make the failures while locked, not after the lock ran out
	}{
		{name: "defaults", wantLocks: []time.Duration{300 * time.Second, 600 * time.Second, 1200 * time.Second, 2400 * time.Second}},
		{name: "failures while locked count", lockedWrong: true,
			wantLocks: []time.Duration{300 * time.Second, 600 * time.Second, 1200 * time.Second, 2400 * time.Second}},
		{name: "policy", settings: map[string]string{"policy.lockout.max_failures": "3", "policy.lockout.lock_seconds": "60", "policy.lockout.max_locks": "3"},
			wantLocks: []time.Duration{time.Minute, 2 * time.Minute}},
		{name: "first lock permanent", settings: map[string]string{"policy.lockout.max_locks": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			for k, v := range tt.settings {
				if err := svc.SetSetting(k, v); err != nil {
					t.Fatal(err)
				}
			}
			maxFailures := svc.Settings().MaxFailures
			storetest.MustAddUser(t, svc, "alice", "9132")
			_, ss := mustProvision(t, svc, "alice")
			right := core.MobileCode(core.ExtractOTC(ss.S[10], "9132"), 10)
			wrong := core.MobileCode(core.ExtractOTC(ss.S[11], "5555"), 11)
			login := func(otc string) error { return svc.Login(agentAny, "alice", otc) }
			fail := func(n int) {
				t.Helper()
				for range n {
					if err := login(wrong); core.ErrorCode(err) != core.CodeWrongOTC {
						t.Fatalf("wrong code: %v", err)
					}
				}
			}
			for i, d := range tt.wantLocks {
				fail(maxFailures)
				lock, err := svc.Lock("alice")
				if err != nil || !lock.Locked || lock.Permanent || !lock.Until.Equal(clock.Now().Add(d)) {
					t.Fatalf("lock %d: %+v (%v), want until now+%v", i+1, lock, err, d)
				}
				if u, _ := svc.User("alice"); !u.Locked || !u.LockedUntil.Equal(lock.Until) {
					t.Fatalf("lock %d: user shows locked %v until %v", i+1, u.Locked, u.LockedUntil)
				}
				if want := "locked until " + lock.Until.Local().Format("15:04"); lock.String() != want {
					t.Fatalf("lock reads %q, want %q", lock.String(), want)
				}
				if err := login(right); core.ErrorCode(err) != core.CodeWrongOTC || core.ErrorMessage(err) != "Login failed." {
					t.Fatalf("lock %d: right code while locked: %v", i+1, err)
				}
				if tt.lockedWrong {
					continue // the next failures happen while this lock runs
				}
				clock.Advance(d - time.Second)
				if lock, _ := svc.Lock("alice"); !lock.Locked {
					t.Fatalf("lock %d ran out a second early", i+1)
				}
				clock.Advance(time.Second)
				if lock, _ := svc.Lock("alice"); lock.Locked || lock.String() != "" {
					t.Fatalf("lock %d did not run out: %+v", i+1, lock)
				}
			}
			fail(maxFailures)
			lock, _ := svc.Lock("alice")
			if !lock.Locked || !lock.Permanent || lock.String() != "locked" {
				t.Fatalf("last lock: %+v, want permanent", lock)
			}
			clock.Advance(10 * 365 * 24 * time.Hour)
			if err := login(right); core.ErrorCode(err) != core.CodeWrongOTC {
				t.Fatalf("right code while permanently locked: %v", err)
			}
			// Only an administrator lifts it; the code was never spent.
			if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Locked = false; return nil }); err != nil {
				t.Fatal(err)
			}
			if lock, _ := svc.Lock("alice"); lock != (core.LockState{}) {
				t.Fatalf("after unlock: %+v", lock)
			}
			if err := login(right); err != nil {
				t.Fatalf("right code after unlock: %v", err)
			}
		})
	}
}

// A lock set by an administrator is permanent; a success resets the
// failures and the lock count, so locks start short again.
func TestService_AdminLockAndSuccessReset(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	svc := storetest.MustService(t, core.WithClock(clock))
	storetest.MustAddUser(t, svc, "alice", "9132")
	_, ss := mustProvision(t, svc, "alice")
	code := func(pin string, i int) string { return core.MobileCode(core.ExtractOTC(ss.S[i], pin), i) }
	for range 5 {
		_ = svc.Login(agentAny, "alice", code("5555", 1))
	}
	clock.Advance(300 * time.Second)
	if err := svc.Login(agentAny, "alice", code("9132", 1)); err != nil {
		t.Fatalf("after the lock ran out: %v", err)
	}
	for range 5 {
		_ = svc.Login(agentAny, "alice", code("5555", 2))
	}
	if lock, _ := svc.Lock("alice"); lock.Locks != 1 || !lock.Until.Equal(clock.Now().Add(300*time.Second)) {
		t.Fatalf("after a success the next lock is the first again: %+v", lock)
	}
	if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Locked = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser("alice", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	clock.Advance(365 * 24 * time.Hour)
	if lock, _ := svc.Lock("alice"); !lock.Permanent {
		t.Fatalf("an administrator's lock: %+v", lock)
	}
	if u, _ := svc.User("alice"); !u.Locked {
		t.Fatal("an administrator's lock does not show")
	}
	if err := svc.Login(agentAny, "alice", code("9132", 2)); core.ErrorCode(err) != core.CodeWrongOTC {
		t.Fatalf("right code while locked by an administrator: %v", err)
	}
}

// Junk provision attempts from one address do not make the code unusable
// for the phone on another address within the code's validity, even when
// the attacker tries exactly when each delay ends and in between.
func TestService_ProvisionJunkFromOneAddress(t *testing.T) {
	tests := []struct {
		validity    int
		wantChecked int // attempts the server checked: 2 s, doubling
	}{
		{600, 9},        // at 0, 2, 6, 14, 30, 62, 126, 254 and 510 s
		{1_000_000, 19}, // the 20th would come at 1,048,574 s
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.validity), func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			if err := svc.SetSetting("policy.selfreset.code_validity", fmt.Sprint(tt.validity)); err != nil {
				t.Fatal(err)
			}
			storetest.MustAddUser(t, svc, "alice", "9132")
			ic, err := svc.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			try := func() {
				t.Helper()
				if _, err := svc.Provision("198.51.100.7", "alice", "JUNKJUNK", ""); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("junk attempt: %v", err)
				}
			}
			last := ic.Expires.Add(-time.Second) // when the phone comes
			for delay := 2 * time.Second; ; delay *= 2 {
				try()
				if !clock.Now().Add(delay).Before(last) {
					break
				}
				clock.Advance(delay / 2)
				try() // inside the delay: refused unchecked
				clock.Advance(delay / 2)
			}
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			var checked int
			entries, _ := svc.LogTail(5)
			for _, e := range entries {
				fmt.Sscanf(e.Message, "%d refused requests from 198.51.100.7 in the last minute: wrong provision code", &checked)
			}
			if checked != tt.wantChecked {
				t.Fatalf("%d attempts checked, want %d: %v", checked, tt.wantChecked, entries)
			}
			// The phone, a second before expiry, from its own address.
			clock.Advance(last.Sub(clock.Now()))
			if _, err := svc.Provision("192.0.2.10", "alice", ic.Code, "iOS 18"); err != nil {
				t.Fatalf("the phone's code after junk: %v", err)
			}
		})
	}
}

// An IPv6 /64 is one source for the doubling delay, as for the rate
// limits: nineteen wrong attempts at once from nineteen addresses of one
// /64 get one checked attempt, not nineteen (one more would kill the
// code), while each other /64 and each IPv4 address gets its own.
func TestService_ProvisionDelayPerIPv6Slash64(t *testing.T) {
	tests := []struct {
		name        string
		source      func(i int) string
		wantChecked int
	}{
		{"addresses of one /64", func(i int) string { return fmt.Sprintf("2001:db8:7:7::%x", i+1) }, 1},
		{"one address in each of 19 /64s", func(i int) string { return fmt.Sprintf("2001:db8:7:%x::1", i+1) }, 19},
		{"19 IPv4 addresses", func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
			svc := storetest.MustService(t, core.WithClock(clock))
			storetest.MustAddUser(t, svc, "alice", "9132")
			ic, err := svc.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			// Nineteen: twenty checked ones (the default maximum) would
			// kill the code.
			for i := range 19 {
				if _, err := svc.Provision(tt.source(i), "alice", "JUNKJUNK", ""); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("junk attempt %d: %v", i, err)
				}
			}
			if err := svc.FlushRefused(); err != nil {
				t.Fatal(err)
			}
			entries, err := svc.LogTail(100)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, e := range entries {
				var n int
				if _, err := fmt.Sscanf(e.Message, "%d refused request", &n); err == nil && strings.HasSuffix(e.Message, ": wrong provision code") {
					checked += n
				}
			}
			if checked != tt.wantChecked {
				t.Fatalf("%d attempts checked, want %d", checked, tt.wantChecked)
			}
			// The phone on its own address still provisions.
			if _, err := svc.Provision("192.0.2.10", "alice", ic.Code, "iOS 18"); err != nil {
				t.Fatalf("the phone's code after junk: %v", err)
			}
		})
	}
}

// After the policy's number of wrong attempts from all addresses
// together the code dies, with one log line; before, it works.
func TestService_ProvisionCodeDiesAfterWrongAttempts(t *testing.T) {
	tests := []struct {
		name     string
		max      string
		wrong    int
		wantDead bool
	}{
		{"19 of 20", "", 19, false},
		{"20 of 20", "", 20, true},
		{"3 of 3", "3", 3, true},
		{"2 of 3", "3", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
			w := &writeLog{Store: storetest.MustOpen(t)}
			svc, err := core.NewService(w, core.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			if tt.max != "" {
				if err := svc.SetSetting("policy.selfreset.max_provision_attempts", tt.max); err != nil {
					t.Fatal(err)
				}
			}
			storetest.MustAddUser(t, svc, "alice", "9132")
			ic, err := svc.CreateProvisionCode("alice")
			if err != nil {
				t.Fatal(err)
			}
			events, stop := svc.Events().Subscribe()
			defer stop()
			w.take()
			for i := range tt.wrong {
				if _, err := svc.Provision(fmt.Sprintf("198.51.100.%d", i+1), "alice", "WRONG"+fmt.Sprint(i), ""); core.ErrorCode(err) != core.CodeProvision {
					t.Fatalf("wrong attempt %d: %v", i, err)
				}
			}
			writes := w.take()
			_, err = svc.Provision("192.0.2.10", "alice", ic.Code, "")
			if !tt.wantDead {
				if err != nil || len(writes) != 0 {
					t.Fatalf("after %d wrong attempts: %v; writes %v, want none", tt.wrong, err, writes)
				}
				return
			}
			if core.ErrorCode(err) != core.CodeProvision {
				t.Fatalf("dead code: %v", err)
			}
			if fmt.Sprint(writes) != "[delete code log]" {
				t.Fatalf("writes %v, want the one that kills the code", writes)
			}
			want := fmt.Sprintf(`User "alice" provision failed, A valid session could not be loaded or created for the user. (the provision code stopped working after %d wrong attempts; make a new one)`, tt.wrong)
			if !logContains(t, svc, want) {
				t.Fatalf("no line %q", want)
			}
			for {
				select {
				case e := <-events:
					if e.Kind == core.EventProvisionFailed {
						return
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no provision-failed event for the console")
				}
			}
		})
	}
}

// A settings record from before the lockout and provision-attempt
// policies existed gets their defaults, and stays valid to change.
func TestNewService_FillsNewPolicyDefaults(t *testing.T) {
	st := storetest.MustOpen(t)
	old := core.DefaultSettings()
	old.LockSeconds, old.MaxLocks, old.SelfReset.MaxProvisionAttempts = 0, 0, 0
	if err := st.Update(func(tx core.Tx) error { return tx.PutSettings(old) }); err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"policy.lockout.lock_seconds":             "300",
		"policy.lockout.max_locks":                "5",
		"policy.selfreset.max_provision_attempts": "20",
	} {
		set := svc.Settings()
		if got, _ := set.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if err := svc.SetSetting("policy.lockout.max_failures", "3"); err != nil {
		t.Fatalf("changing a setting of the old record: %v", err)
	}
}
