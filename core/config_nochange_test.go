package core_test

import (
	"testing"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestService_SaveWithoutChangeWritesNothing: a settings save that changes
// nothing (a console's Save pressed twice, a scheduled script setting
// what is set) wrote "Settings saved: no setting changed." every time,
// filling the audit log with lines that record no change. It now commits
// nothing; a real change is logged as before.
func TestService_SaveWithoutChangeWritesNothing(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	if err := svc.SetSetting("server.name", "front-desk"); err != nil {
		t.Fatal(err)
	}
	logLen := func() int {
		t.Helper()
		e, err := svc.LogTail(1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	commits := func() uint64 {
		t.Helper()
		n, err := st.Commits()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lines, before := logLen(), commits()
	for _, save := range []func() error{
		func() error { return svc.SetSetting("server.name", "front-desk") },
		func() error { return svc.ChangeSettings(map[string]string{"server.name": "front-desk"}, "Settings") },
		func() error {
			return svc.EditSettings(func(cur core.Settings) (core.Settings, error) { return cur, nil }, "Settings")
		},
	} {
		if err := save(); err != nil {
			t.Fatal(err)
		}
	}
	if got := logLen(); got != lines {
		t.Errorf("saves without a change added %d log lines", got-lines)
	}
	if got := commits(); got != before {
		t.Errorf("saves without a change committed %d times", got-before)
	}
	if err := svc.SetSetting("server.name", "back-office"); err != nil {
		t.Fatal(err)
	}
	if got := logLen(); got != lines+1 {
		t.Errorf("a real change added %d log lines, want 1", got-lines)
	}
}

// TestService_SaveWithoutChangeLeavesHealth: the rolled-back save above
// went through the store's failure path, so the console's status bar
// turned red with "Server needs attention · Changes cannot be saved: no
// setting changed" after Save was pressed twice (seen in the console's
// screenshots). Saving what is saved is no commit failure.
func TestService_SaveWithoutChangeLeavesHealth(t *testing.T) {
	svc := storetest.MustServiceOn(t, storetest.MustOpen(t))
	for i := 0; i < 2; i++ {
		if err := svc.SetSetting("server.name", "front-desk"); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.ChangeSettings(map[string]string{"server.name": "front-desk"}, "Settings"); err != nil {
		t.Fatal(err)
	}
	if h := svc.Health(); !h.OK() {
		t.Errorf("after saves without a change the server needs attention: %q", h.Message())
	}
}
