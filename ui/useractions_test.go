package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

// listUser adds a user and selects them in User Management.
func (h *harness) listUser(name string) userRow {
	h.t.Helper()
	storetest.MustAddUser(h.t, h.svc, name, "1357")
	s := h.c.users
	h.waitFor(name+" listed", func() bool {
		for _, r := range s.shown {
			if r.Name == name {
				return true
			}
		}
		return false
	})
	selectUser(h, name)
	r, _ := s.selectedRow()
	return r
}

func TestUsersScreen_SortByColumns(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"carol", "alice", "bob", "dave"} {
		storetest.MustAddUser(t, h.svc, n, "1357")
	}
	// bob logged in last, alice before him; carol has a device and dave
	// a code waiting.
	for n, ago := range map[string]time.Duration{"alice": 2 * time.Hour, "bob": time.Hour} {
		storetest.SetLastLogin(t, h.st, n, start.Add(-ago))
	}
	ic, _ := h.svc.CreateProvisionCode("carol")
	if _, err := h.svc.Provision("127.0.0.1", "carol", ic.Code, "iOS 17"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateProvisionCode("dave"); err != nil {
		t.Fatal(err)
	}
	s := h.c.users
	h.waitFor("four users", func() bool { return len(s.shown) == 4 })

	steps := []struct {
		tap    userSort
		want   string
		header string
	}{
		{sortByName, "dave,carol,bob,alice", "Username  ▼"}, // already by name: reverses
		{sortByLastLogin, "bob,alice,carol,dave", "Last login  ▼"},
		{sortByLastLogin, "carol,dave,alice,bob", "Last login  ▲"},
		{sortByDevice, "carol,dave,alice,bob", "Device  ▼"},
		{sortByName, "alice,bob,carol,dave", "Username  ▲"},
	}
	for _, st := range steps {
		test.Tap(s.sortBtns[st.tap])
		if got := strings.Join(shownNames(s), ","); got != st.want || s.sortBtns[st.tap].Text != st.header {
			t.Errorf("after tapping %q: %s, want %s", s.sortBtns[st.tap].Text, got, st.want)
		}
	}
	// The order survives a search and a refresh.
	test.Tap(s.sortBtns[sortByLastLogin])
	test.Type(s.search, "e@")
	if got := strings.Join(shownNames(s), ","); got != "alice,dave" {
		t.Errorf("search in last-login order: %s", got)
	}
	storetest.MustAddUser(t, h.svc, "eve", "1357")
	h.waitFor("eve listed", func() bool { return len(s.shown) == 3 })
	if got := strings.Join(shownNames(s), ","); got != "alice,dave,eve" {
		t.Errorf("after refresh: %s", got)
	}
}

func TestUsersScreen_RowShowsWhatTheHelpdeskNeeds(t *testing.T) {
	h := newHarness(t)
	r := h.listUser("erin")
	if lastLogin(r.User) != "never" {
		t.Errorf("last login %q", lastLogin(r.User))
	}
	storetest.SetLastLogin(t, h.st, "erin", start)
	h.c.users.refresh()
	h.waitFor("last login shown", func() bool { return lastLogin(h.c.users.shown[0].User) == "2025-06-02 09:00" })
	if got := h.c.users.selInfo.Text; got != "erin" {
		t.Errorf("selection line %q", got)
	}
}

func TestUsersScreen_DisableEnable(t *testing.T) {
	h := newHarness(t)
	h.listUser("fay")
	s := h.c.users
	test.Tap(s.disable)
	if u, _ := h.svc.User("fay"); !u.Disabled {
		t.Fatal("Disable did not disable")
	}
	if s.disable.Text != "Enable" || !s.reprovision.Disabled() || accountState(s.shown[0].User) != "disabled" {
		t.Errorf("button %q, reprovision disabled %v, state %q", s.disable.Text, s.reprovision.Disabled(), accountState(s.shown[0].User))
	}
	test.Tap(s.disable)
	if u, _ := h.svc.User("fay"); u.Disabled || s.disable.Text != "Disable" {
		t.Error("Enable did not enable")
	}
}

func TestUsersScreen_ResetPINShown(t *testing.T) {
	h := newHarness(t)
	h.listUser("gus")
	s := h.c.users
	test.Tap(s.resetPIN)
	p := s.pinReset
	if p == nil {
		t.Fatal("Reset PIN opened nothing")
	}
	if u, _ := h.svc.User("gus"); u.PIN != "1357" {
		t.Fatal("the PIN changed before the helpdesk chose")
	}
	test.Tap(p.show)
	u, _ := h.svc.User("gus")
	if u.PIN == "1357" || p.pin.Text != u.PIN || !p.pin.Visible() {
		t.Errorf("shown %q, stored %q", p.pin.Text, u.PIN)
	}
	if len(u.PIN) != h.svc.Settings().PINMin {
		t.Errorf("PIN %q is not %d digits", u.PIN, h.svc.Settings().PINMin)
	}
	if p.show.Visible() || p.send.Visible() || p.cancel.Text != "Close" {
		t.Error("the dialog still offers a second reset")
	}
	test.Tap(p.cancel)
	if s.pinReset != nil {
		t.Error("dialog still open")
	}
}

func TestUsersScreen_ResetPINMailed(t *testing.T) {
	h := newHarness(t)
	h.listUser("hal")
	s := h.c.users
	test.Tap(s.resetPIN)
	p := s.pinReset
	test.Tap(p.send)
	out, _ := h.svc.Outbox()
	if len(out) != 1 || out[0].To != "hal@example.org" {
		t.Fatalf("outbox %v", out)
	}
	want := "The new PIN is queued for hal@example.org. It goes out once mail is set up in Mail Transport."
	if p.result.Text != want || p.pin.Visible() {
		t.Errorf("result %q (PIN visible %v), want %q", p.result.Text, p.pin.Visible(), want)
	}
}

func TestUsersScreen_ResetPINWithoutEmail(t *testing.T) {
	h := newHarness(t)
	h.listUser("ida")
	if _, err := h.svc.UpdateUser("ida", func(u *core.User) error { u.Email = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	h.settle()
	test.Tap(h.c.users.resetPIN)
	p := h.c.users.pinReset
	if !p.send.Disabled() {
		t.Error("Send by email offered for a user without an address")
	}
	if !contains(visibleTexts(h.win.Canvas().Overlays().Top()), "ida has no email address, so the PIN can only be shown.") {
		t.Error("no reason given")
	}
}

func TestUsersScreen_RevokeDevice(t *testing.T) {
	h := newHarness(t)
	h.listUser("jo")
	s := h.c.users
	if !s.revoke.Disabled() {
		t.Error("Revoke offered for a user without a device")
	}
	ic, _ := h.svc.CreateProvisionCode("jo")
	if _, err := h.svc.Provision("127.0.0.1", "jo", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("device shown", func() bool { return s.shown[0].Provisioned() && !s.revoke.Disabled() })
	test.Tap(s.revoke)
	if s.confirm == nil {
		t.Fatal("Revoke did not ask")
	}
	want := "Revoke jo's device (Android 15)? The phone stops working at once and its security strings are deleted; jo must reprovision to sign in again."
	if !contains(visibleTexts(h.win.Canvas().Overlays().Top()), want) {
		t.Errorf("confirmation reads %q", visibleTexts(h.win.Canvas().Overlays().Top()))
	}
	s.confirm.Confirm()
	if u, _ := h.svc.User("jo"); u.Provisioned() {
		t.Error("device still there")
	}
	if deviceState(*s.shown[0], h.svc.Now()) != "none" || !s.revoke.Disabled() {
		t.Errorf("device column %q", deviceState(*s.shown[0], h.svc.Now()))
	}
}

func TestUsersScreen_EnterInSearchSelectsFirstMatch(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"kate", "kim", "lou"} {
		storetest.MustAddUser(t, h.svc, n, "1357")
	}
	s := h.c.users
	h.waitFor("three users", func() bool { return len(s.shown) == 3 })
	test.Type(s.search, "k")
	s.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if s.selected != "kate" || s.reprovision.Disabled() {
		t.Errorf("selected %q", s.selected)
	}
}
