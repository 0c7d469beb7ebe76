package ui

import (
	"strings"
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

// The Edit dialog says until when a temporary lock runs, and clearing
// the box lifts it.
func TestUserForm_TemporaryLock(t *testing.T) {
	h := newHarness(t)
	h.listUser("gina")
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Group: core.GroupAny}
	for range 5 {
		_ = h.svc.IncreaseLock(agent, "gina")
	}
	s := h.c.users
	h.waitFor("locked", func() bool { return len(s.shown) == 1 && s.shown[0].Locked })
	selectUser(h, "gina")
	test.Tap(s.edit)
	f := s.form
	if f == nil {
		t.Fatal("no Edit dialog")
	}
	want := "Locked until " + start.Add(5*time.Minute).Local().Format("15:04")
	if !f.locked.Checked || f.locked.Text != want {
		t.Fatalf("lock box %q (checked %v), want %q checked", f.locked.Text, f.locked.Checked, want)
	}
	f.locked.SetChecked(false)
	test.Tap(f.save)
	if lock, _ := h.svc.Lock("gina"); lock.Locked || lock.Failures != 0 {
		t.Fatalf("after clearing the box: %+v", lock)
	}

	// A permanent lock reads "Locked" only.
	if _, err := h.svc.UpdateUser("gina", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	h.waitFor("locked again", func() bool { return len(s.shown) == 1 && accountState(s.shown[0].User) == "locked" })
	selectUser(h, "gina")
	test.Tap(s.edit)
	if f := s.form; f == nil || !f.locked.Checked || f.locked.Text != "Locked" {
		t.Fatalf("permanent lock shown as %+v", f)
	}
}

// The lockout policy's escalation and the provision attempt limit are
// on the policy screens, with core's ranges.
func TestPolicy_LockoutFields(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		form       *settingsForm
		key, saved string
		bad, msg   string
		good       string
		get        func(core.Settings) int
		want       int
	}{
		{h.c.pin, "policy.lockout.lock_seconds", "300", "5", "Enter a whole number from 10 to 86,400.", "600",
			func(s core.Settings) int { return s.LockSeconds }, 600},
		{h.c.pin, "policy.lockout.max_locks", "5", "21", "Enter a whole number from 1 to 20.", "3",
			func(s core.Settings) int { return s.MaxLocks }, 3},
		{h.c.selfReset, "policy.selfreset.max_provision_attempts", "20", "0", "Enter a whole number from 1 to 1,000.", "50",
			func(s core.Settings) int { return s.SelfReset.MaxProvisionAttempts }, 50},
	} {
		t.Run(tc.key, func(t *testing.T) {
			fl := tc.form.entries[tc.key]
			if fl == nil {
				t.Fatalf("%s is not on %s", tc.key, tc.form.spec.title)
			}
			if fl.entry.Text != tc.saved {
				t.Errorf("shows %q, want the default %q", fl.entry.Text, tc.saved)
			}
			fl.entry.SetText(tc.bad)
			test.Tap(tc.form.apply)
			if !fl.msg.Visible() || fl.msg.Text != tc.msg {
				t.Errorf("message %q, want %q", fl.msg.Text, tc.msg)
			}
			fl.entry.SetText(tc.good)
			test.Tap(tc.form.apply)
			if got := tc.get(h.svc.Settings()); got != tc.want || tc.form.result.Text != "Saved." {
				t.Errorf("saved %d (result %q), want %d", got, tc.form.result.Text, tc.want)
			}
		})
	}
	if note := h.c.pin.spec.note; strings.Contains(note, "locked until an admin unlocks them.") ||
		!strings.Contains(note, "twice as long") {
		t.Errorf("intro still describes the old lockout: %q", note)
	}
}
