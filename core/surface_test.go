package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// nextIndex is the precise next string index of a user, as a client that
// holds the device Id sees it.
func nextIndex(t *testing.T, svc *core.Service, name string) (int, error) {
	t.Helper()
	if !svc.Settings().MobileClient.SyncIndex {
		if err := svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
			t.Fatal(err)
		}
	}
	u, err := svc.User(name)
	if err != nil {
		return 0, err
	}
	return svc.TokenIndex(nil, name, u.DeviceID)
}

func TestService_TokenIndex(t *testing.T) {
	svc := storetest.MustService(t)
	storetest.MustAddUser(t, svc, "alice", "9132")
	storetest.MustAddUser(t, svc, "dave", "1234") // no strings
	dev, ss := mustProvision(t, svc, "alice")
	storetest.MustAddUser(t, svc, "bob", "2468")
	bobDev, _ := mustProvision(t, svc, "bob")
	// Spend two of alice's and bob's strings.
	for i := 0; i < 2; i++ {
		if err := svc.Login(agentAny, "alice", core.MobileCode(core.ExtractOTC(ss.S[i], "9132"), i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.TokenIndex(nil, "alice", ""); !errors.Is(err, core.ErrSyncIndexOff) {
		t.Fatalf("Sync Index off: %v, want ErrSyncIndexOff", err)
	}
	if err := svc.SetSetting("policy.mobile.sync_index", "Yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser("bob", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	before := countLogs(t, svc)
	tests := []struct {
		name, user, id string
		want           int
	}{
		{"user with strings", "alice", "", 2},
		{"device id", "alice", dev, 2},
		{"another user's device id", "alice", "00000000000000000000000000000000", 2},
		{"unknown user", "nobody", "", 0},
		{"no strings", "dave", "", 0},
		{"locked", "bob", "", 0},
		{"locked, with its device id", "bob", bobDev, 0},
		{"empty", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.TokenIndex(nil, tt.user, tt.id)
			if err != nil || got != tt.want {
				t.Errorf("TokenIndex(%q, %q) = %d, %v; want %d", tt.user, tt.id, got, err, tt.want)
			}
		})
	}
	if n := countLogs(t, svc); n != before {
		t.Errorf("TokenIndex wrote %d log lines", n-before)
	}
}

func TestService_TrimLog(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	st := storetest.MustOpen(t)
	svc, err := core.NewService(st, core.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	// fill appends entries in one transaction (one fsync, not thousands).
	fill := func(n int, msg func(i int) string) {
		t.Helper()
		err := st.Update(func(tx core.Tx) error {
			for i := 0; i < n; i++ {
				if _, err := tx.AppendLog(core.LogEntry{Time: clock.Now(), Level: core.LevelInfo, Message: msg(i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// 30 entries a day for 100 days.
	for d := 0; d < 100; d++ {
		fill(30, func(i int) string { return fmt.Sprintf("day %d entry %d", d, i) })
		clock.Advance(24 * time.Hour)
	}
	total := countLogs(t, svc)
	n, err := svc.TrimLog()
	if err != nil {
		t.Fatal(err)
	}
	// Days 0..9 and part of day 10 are older than 90 days.
	if n < 300 || n > 330 {
		t.Fatalf("trimmed %d entries, want about 300", n)
	}
	logs, _ := svc.Logs(0, 1<<30)
	if len(logs) != total-n+1 {
		t.Fatalf("%d entries left of %d after trimming %d", len(logs), total, n)
	}
	cutoff := clock.Now().AddDate(0, 0, -90)
	for _, e := range logs {
		if e.Time.Before(cutoff) {
			t.Fatalf("entry %q from %s survived the trim", e.Message, e.Time)
		}
	}
	if last := logs[len(logs)-1].Message; !strings.HasPrefix(last, "Audit log trimmed: ") {
		t.Errorf("the trim is not logged: last entry %q", last)
	}
	// Nothing more to trim: nothing written.
	before := countLogs(t, svc)
	if n, err := svc.TrimLog(); err != nil || n != 0 || countLogs(t, svc) != before {
		t.Errorf("second trim: %d, %v", n, err)
	}

	// The size bound: 1 MB, past which the oldest go, in batches.
	if err := svc.SetSetting("log.max_mb", "1"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 900)
	fill(3000, func(i int) string { return fmt.Sprintf("filler %d %s", i, big) })
	if n, err = svc.TrimLog(); err != nil || n < 1500 {
		t.Fatalf("size trim removed %d (%v)", n, err)
	}
	logs, _ = svc.Logs(0, 1<<30)
	var size int
	for _, e := range logs {
		size += len(e.Message) + 60
	}
	if size > 1<<20 {
		t.Errorf("%d bytes left after the size trim, want at most 1 MB", size)
	}
	if !strings.Contains(logs[len(logs)-1].Message, "removed") || !strings.Contains(logs[len(logs)-2].Message, "filler 2999") {
		t.Errorf("the newest entries must survive: %q, %q", logs[len(logs)-2].Message[:20], logs[len(logs)-1].Message)
	}
}

func TestService_HealthFreeSpace(t *testing.T) {
	var mu sync.Mutex
	free := uint64(10 << 30)
	probe := func() (uint64, error) { mu.Lock(); defer mu.Unlock(); return free, nil }
	svc := storetest.MustService(t, core.WithFreeSpace(probe))
	var reports []string
	svc.SetReport(func(msg string) { mu.Lock(); reports = append(reports, msg); mu.Unlock() })
	events, cancel := svc.Events().Subscribe()
	defer cancel()

	svc.CheckFreeSpace()
	if h := svc.Health(); !h.OK() || svc.LowDisk() {
		t.Fatalf("10 GB free: %+v", h)
	}
	mu.Lock()
	free = 50 << 20 // under the default 100 MB
	mu.Unlock()
	svc.CheckFreeSpace()
	h := svc.Health()
	if h.OK() || !svc.LowDisk() || !strings.Contains(h.Message(), "almost full (50 MB free)") {
		t.Fatalf("50 MB free: %+v %q", h, h.Message())
	}
	waitEvent(t, events, core.EventHealth)
	mu.Lock()
	if len(reports) != 1 || !strings.Contains(reports[0], "almost full") {
		t.Errorf("reports %q", reports)
	}
	free = 10 << 30
	mu.Unlock()
	svc.CheckFreeSpace()
	if !svc.Health().OK() || svc.LowDisk() {
		t.Fatalf("after recovery: %+v", svc.Health())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 2 || !strings.Contains(reports[1], "healthy again") {
		t.Errorf("reports %q", reports)
	}
}

func waitEvent(t *testing.T, events <-chan core.Event, kind core.EventKind) core.Event {
	t.Helper()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no event of kind %d", kind)
		}
	}
}

// A commit that fails (here: the store is closed under the service) is
// reported for a person to see, since the log cannot hold it.
func TestService_CommitFailureReported(t *testing.T) {
	st := storetest.MustOpen(t)
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	var reports []string
	svc.SetReport(func(msg string) { reports = append(reports, msg) })
	st.Close()
	if err := svc.Log(core.LevelInfo, "", "lost"); err == nil {
		t.Fatal("a write to a closed store succeeded")
	}
	h := svc.Health()
	if h.CommitError == "" || len(reports) != 1 || !strings.HasPrefix(reports[0], "Changes cannot be saved. ") {
		t.Fatalf("health %+v, reports %q", h, reports)
	}
	// Repeats within commitReportEvery are not reported again.
	_ = svc.Log(core.LevelInfo, "", "lost")
	if len(reports) != 1 {
		t.Errorf("repeated failure reported %d times", len(reports))
	}
}

// Agents named by host name are accepted from the addresses the name
// resolves to, at start and whenever agents change.
func TestService_AgentHostName(t *testing.T) {
	table := map[string][]netip.Addr{"vpn.office.lan": {netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("::ffff:10.1.2.4")}}
	var mu sync.Mutex
	resolver := func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := table[host]; ok {
			return a, nil
		}
		return nil, errors.New("no such host")
	}
	st := storetest.MustOpen(t)
	svc, err := core.NewService(st, core.WithResolver(resolver))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []core.Agent{
		{Name: "vpn", Host: "VPN.office.lan", Secret: "vpn-secret-1"},
		{Name: "gone", Host: "gone.office.lan", Secret: "gone-secret-1"},
	} {
		if err := svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.PutAgent(core.Agent{Name: "bad", Host: "not a host!", Secret: "bad-secret-1"}); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("a host with spaces: %v", err)
	}
	tests := []struct {
		addr, secret string
		want         string
	}{
		{"10.1.2.3", "vpn-secret-1", "vpn"},
		{"10.1.2.4", "vpn-secret-1", "vpn"},
		{"10.1.2.5", "vpn-secret-1", ""},
		{"10.1.2.3", "wrong-secret", ""},
		{"10.1.2.3", "gone-secret-1", ""},
	}
	for _, tt := range tests {
		a, ok := svc.AuthorizeAgent(netip.MustParseAddr(tt.addr), tt.secret)
		if (tt.want == "") == ok || a.Name != tt.want {
			t.Errorf("AuthorizeAgent(%s) = %q %v, want %q", tt.addr, a.Name, ok, tt.want)
		}
	}
	if got := svc.AgentAddresses("vpn"); len(got) != 2 || got[0].String() != "10.1.2.3/32" {
		t.Errorf("AgentAddresses(vpn) = %v", got)
	}
	if got := svc.AgentAddresses("gone"); len(got) != 0 {
		t.Errorf("AgentAddresses(gone) = %v", got)
	}
	// The name moves; a new resolution follows it, and a restart keeps it.
	mu.Lock()
	table["vpn.office.lan"] = []netip.Addr{netip.MustParseAddr("10.1.2.9")}
	mu.Unlock()
	svc.ResolveAgents()
	if _, ok := svc.AuthorizeAgent(netip.MustParseAddr("10.1.2.9"), "vpn-secret-1"); !ok {
		t.Error("not accepted from the new address")
	}
	if _, ok := svc.AuthorizeAgent(netip.MustParseAddr("10.1.2.3"), "vpn-secret-1"); ok {
		t.Error("still accepted from the old address")
	}
	again, err := core.NewService(st, core.WithResolver(resolver))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.AuthorizeAgent(netip.MustParseAddr("10.1.2.9"), "vpn-secret-1"); !ok {
		t.Error("not resolved at start")
	}
}

// A data file from before agent rights: its agents keep authenticate and
// (for repositories) admin, get no helpdesk right, and the change is
// logged once; the new settings get their defaults.
func TestService_AgentRightsMigration(t *testing.T) {
	st := storetest.MustOpen(t)
	err := st.Update(func(tx core.Tx) error {
		set := core.DefaultSettings()
		set.Hardened, set.LogMaxAgeDays, set.LogMaxMB, set.MinFreeMB = false, 0, 0, 0
		if err := tx.PutSettings(set); err != nil {
			return err
		}
		if err := tx.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1", Group: core.GroupAny}); err != nil {
			return err
		}
		return tx.PutAgent(core.Agent{Name: "hr", Host: "10.0.0.2", Secret: "hr-secret-12", Group: core.GroupAny, Repository: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		svc, err := core.NewService(st)
		if err != nil {
			t.Fatal(err)
		}
		set := svc.Settings()
		if !set.Hardened || set.LogMaxAgeDays != 90 || set.LogMaxMB != 200 || set.MinFreeMB != 100 {
			t.Fatalf("settings after migration: %+v", set)
		}
		for _, a := range svc.Agents() {
			if a.Helpdesk || a.Repository != (a.Name == "hr") {
				t.Errorf("agent %+v after migration", a)
			}
		}
		logs, _ := svc.Logs(0, 100)
		n := 0
		for _, e := range logs {
			if strings.HasPrefix(e.Message, "Agents now have explicit rights") {
				n++
				if !strings.Contains(e.Message, `"hr" (authenticate, admin)`) || !strings.Contains(e.Message, `"vpn" (authenticate)`) {
					t.Errorf("migration line %q", e.Message)
				}
			}
		}
		if n != 1 {
			t.Errorf("run %d: migration logged %d times, want once", run, n)
		}
	}
}
