package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"provisio/core"
)

// The users list says until when a temporary lock runs, and Unlock lifts
// it at once.
func TestUsersScreen_ShowsLockedUntil(t *testing.T) {
	h := newHarness(t)
	h.listUser("gina")
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny}
	for range 5 { // failures an agent reports count like wrong codes
		_ = h.svc.IncreaseLock(agent, "gina")
	}
	want := "locked until " + start.Add(5*time.Minute).Local().Format("15:04")
	s := h.c.users
	h.waitFor(want, func() bool { return len(s.shown) == 1 && accountState(s.shown[0].User) == want })
	selectUser(h, "gina")
	h.waitFor("Unlock offered", func() bool { return s.lock.Text == "Unlock" })
	test.Tap(s.lock)
	h.settle()
	h.waitFor("unlocked", func() bool { return len(s.shown) == 1 && accountState(s.shown[0].User) == "active" })
	if lock, _ := h.svc.Lock("gina"); lock.Locked || lock.Failures != 0 {
		t.Fatalf("after Unlock: %+v", lock)
	}
}
