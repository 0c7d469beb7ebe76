package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// shownNames returns the usernames the list shows, in order.
func shownNames(s *usersScreen) []string {
	var out []string
	for _, r := range s.shown {
		out = append(out, r.Name)
	}
	return out
}

// formErrors returns the messages the form shows, by core field name.
func formErrors(f *userForm) map[string]string {
	out := map[string]string{}
	for name, fl := range f.fields() {
		if fl.msg.Visible() {
			out[name] = fl.msg.Text
		}
	}
	if f.general.Visible() {
		out[""] = f.general.Text
	}
	return out
}

func TestUsersScreen_AddThroughDialog(t *testing.T) {
	h := newHarness(t)
	s := h.c.users

	test.Tap(s.add)
	f := s.form
	if f == nil {
		t.Fatal("Add did not open the user form")
	}
	if !f.mobileAllowed.Checked {
		t.Error("Mobile client allowed should be on for a new user")
	}
	test.Type(f.name.entry, "alice")
	test.Type(f.fullName.entry, "Alice Liddell")
	test.Type(f.email.entry, "alice@example.org")
	test.Type(f.mobile.entry, "+44 20 7946 0001")
	test.Type(f.pin.entry, "1234")
	test.Tap(f.save)

	if s.form != nil {
		t.Fatalf("form still open, showing %q", formErrors(f))
	}
	if got := shownNames(s); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("list shows %q, want [alice]", got)
	}
	if s.selected != "alice" {
		t.Errorf("selected %q, want the new user", s.selected)
	}
	u, err := h.svc.User("alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.FullName != "Alice Liddell" || u.PIN != "1234" || !u.MobileAllowed || u.Mobile != "+44 20 7946 0001" {
		t.Errorf("stored user %+v", u)
	}
	if got := deviceState(*s.shown[0], h.svc.Now()); got != "none" {
		t.Errorf("device state %q, want none", got)
	}
	if got := accountState(s.shown[0].User); got != "active" {
		t.Errorf("account state %q, want active", got)
	}
}

func TestUsersScreen_SearchFilters(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"alice", "bob", "carol"} {
		storetest.MustAddUser(t, h.svc, n, "1234")
	}
	if _, err := h.svc.UpdateUser("bob", func(u *core.User) error { u.FullName = "Robert Tables"; return nil }); err != nil {
		t.Fatal(err)
	}
	s := h.c.users
	h.waitFor("three users listed", func() bool { return len(s.shown) == 3 })

	tests := []struct {
		query string
		want  string
	}{
		{"", "alice,bob,carol"},
		{"ali", "alice"},
		{"TABLES", "bob"},          // full name, any case
		{"carol@example", "carol"}, // email
		{"example.org", "alice,bob,carol"},
		{"nobody", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s.search.SetText("")
			test.Type(s.search, tt.query)
			if got := strings.Join(shownNames(s), ","); got != tt.want {
				t.Errorf("search %q shows %q, want %q", tt.query, got, tt.want)
			}
			if tt.want == "" && (!s.empty.Visible() || !strings.Contains(s.empty.Text, tt.query)) {
				t.Errorf("no-match message %q (visible %v)", s.empty.Text, s.empty.Visible())
			}
		})
	}
}

func TestUserForm_InvalidEmailKeepsInput(t *testing.T) {
	h := newHarness(t)
	s := h.c.users

	test.Tap(s.add)
	f := s.form
	test.Type(f.name.entry, "dave")
	test.Type(f.fullName.entry, "Dave Bowman")
	test.Type(f.email.entry, "dave-at-example")
	test.Type(f.group.entry, "crew")
	test.Type(f.pin.entry, "4321")
	test.Tap(f.save)

	if s.form != f {
		t.Fatal("the form closed on an invalid email")
	}
	want := `"dave-at-example" is not an email address like name@example.org.`
	if got := formErrors(f); got["email"] != want || len(got) != 1 {
		t.Errorf("errors %q, want only email: %q", got, want)
	}
	for e, v := range map[*field]string{f.name: "dave", f.fullName: "Dave Bowman", f.email: "dave-at-example", f.group: "crew", f.pin: "4321"} {
		if e.entry.Text != v {
			t.Errorf("entry lost its text: %q, want %q", e.entry.Text, v)
		}
	}
	if _, err := h.svc.User("dave"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("user saved despite the error: %v", err)
	}

	// Fixing the field clears its message and Save goes through.
	f.email.entry.SetText("")
	if f.email.msg.Visible() {
		t.Error("editing the email did not clear its message")
	}
	test.Type(f.email.entry, "dave@example.org")
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open, showing %q", formErrors(f))
	}
	if got := shownNames(s); len(got) != 1 || got[0] != "dave" {
		t.Errorf("list shows %q", got)
	}
}

func TestUserForm_DuplicateNameShownAtUsername(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "erin", "1234")
	test.Tap(h.c.users.add)
	f := h.c.users.form
	test.Type(f.name.entry, "Erin")
	test.Tap(f.save)
	if got := formErrors(f)["name"]; got != `A user called "Erin" already exists.` {
		t.Errorf("username error %q", got)
	}
}

func TestUserForm_EditKeepsPINWhenEmpty(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "frank", "1234")
	s := h.c.users
	h.waitFor("frank listed", func() bool { return len(s.shown) == 1 })
	s.list.Select(0)

	test.Tap(s.edit)
	f := s.form
	if !f.name.entry.Disabled() || f.name.entry.Text != "frank" {
		t.Errorf("username entry %q disabled=%v, want read-only frank", f.name.entry.Text, f.name.entry.Disabled())
	}
	test.Type(f.fullName.entry, "Frank Poole")
	f.disabled.SetChecked(true)
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open, showing %q", formErrors(f))
	}
	u, _ := h.svc.User("frank")
	if u.FullName != "Frank Poole" || u.PIN != "1234" || !u.Disabled {
		t.Errorf("after edit: %+v", u)
	}
	if got := accountState(s.shown[0].User); got != "disabled" {
		t.Errorf("account state %q", got)
	}
}

func TestUsersScreen_LockUnlockDelete(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "gina", "1234")
	s := h.c.users
	h.waitFor("gina listed", func() bool { return len(s.shown) == 1 })
	if !s.del.Disabled() {
		t.Error("Delete enabled with nothing selected")
	}
	s.list.Select(0)

	test.Tap(s.lock)
	if u, _ := h.svc.User("gina"); !u.Locked {
		t.Fatal("Lock did not lock")
	}
	if s.lock.Text != "Unlock" {
		t.Errorf("button reads %q after locking", s.lock.Text)
	}
	test.Tap(s.lock)
	if u, _ := h.svc.User("gina"); u.Locked {
		t.Fatal("Unlock did not unlock")
	}

	test.Tap(s.del)
	if s.confirm == nil {
		t.Fatal("Delete did not ask for confirmation")
	}
	s.confirm.Confirm()
	if _, err := h.svc.User("gina"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("user still there: %v", err)
	}
	if len(s.shown) != 0 || !s.empty.Visible() {
		t.Errorf("list shows %q", shownNames(s))
	}
}

// Changes made elsewhere (an agent, the CLI) arrive through the bridge.
func TestUsersScreen_FollowsOutsideChanges(t *testing.T) {
	h := newHarness(t)
	s := h.c.users
	storetest.MustAddUser(t, h.svc, "hank", "1234")
	h.waitFor("hank listed", func() bool { return len(s.shown) == 1 })

	ic, err := h.svc.CreateProvisionCode("hank")
	if err != nil {
		t.Fatal(err)
	}
	want := "pending code until " + ic.Expires.Local().Format("15:04")
	h.waitFor("pending code shown", func() bool { return deviceState(*s.shown[0], h.svc.Now()) == want })

	if _, err := h.svc.Provision("127.0.0.1", "hank", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	want = "provisioned at " + start.Local().Format(dateTimeFormat) + " (Android 15)"
	h.waitFor("provisioned device shown", func() bool { return deviceState(*s.shown[0], h.svc.Now()) == want })
}

// A code an agent created is shown to the admin while mail cannot carry
// it; one the console made is not. The event's origin tells them apart.
func TestConsole_NoticeForAgentCode(t *testing.T) {
	h := newHarness(t)
	storetest.MustAddUser(t, h.svc, "ivy", "1234")
	if err := h.svc.SetSetting("policy.selfreset.allow_self_provision", "true"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("ivy listed", func() bool { return len(h.c.users.shown) == 1 })

	test.AssertNotificationSent(t, nil, func() {
		h.c.openReprovision("ivy")
		h.settle()
	})
	if h.c.notice != nil {
		t.Fatal("a code made in the console raised an agent-code notice")
	}
	h.c.reprov.dlg.Hide()

	var ic core.IssuedCode
	test.AssertNotificationSent(t, &fyne.Notification{
		Title:   "Provision code for ivy",
		Content: "An agent created a provision code. Open Provisio to pass it on.",
	}, func() {
		var err error
		agent := core.Agent{Name: "portal", Host: "127.0.0.1", Secret: "portal-secret-1", Group: core.GroupAny}
		ic, err = h.svc.RequestProvisionCode(agent, "ivy") // the AgentXML provisioncode action
		if err != nil {
			t.Fatal(err)
		}
		h.waitFor("agent code notice", func() bool { return h.c.notice != nil })
	})
	n := h.c.notice
	if n.user.Text != "ivy" || strings.ReplaceAll(n.code.Text, " ", "") != ic.Code {
		t.Errorf("notice shows user %q code %q, want ivy %q", n.user.Text, n.code.Text, ic.Code)
	}
	if want := ic.Expires.Local().Format(dateTimeFormat) + " (in 10:00)"; n.expires.Text != want {
		t.Errorf("notice expiry %q, want %q", n.expires.Text, want)
	}
	// It opens by itself over whatever the admin was typing: Enter alone
	// does not close it unread; Escape and its button do.
	top := h.win.Canvas().Overlays().Top()
	h.win.Canvas().Unfocus()
	pressIn(h.win, fyne.KeyEnter)
	if top == nil || h.win.Canvas().Overlays().Top() != top {
		t.Error("Enter closed the agent-code notice unread")
	}
	pressIn(h.win, fyne.KeyEscape)
	if h.win.Canvas().Overlays().Top() == top {
		t.Error("Escape did not close the agent-code notice")
	}
}

// TestUsersScreen_DeviceColumnFits: a user who has a phone and is
// being reprovisioned reads in full at 1920×1080 and at 1280×800: the
// old phone and when the new code ends. With the date in both the end time was cut off
// ("…; pending code until 202…"), and at 1280×800 the old wording
// ("provisioned at 2025-06-02 09:00 (Android 15); pending code until
// 09:10") needed 480 px of the column's 320. A code that ends another day
// keeps its date.
func TestUsersScreen_DeviceColumnFits(t *testing.T) {
	h := newHarness(t)
	s := h.c.users
	storetest.MustAddUser(t, h.svc, "erin", "1357")
	ic, err := h.svc.CreateProvisionCode("erin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "erin", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	if ic, err = h.svc.CreateProvisionCode("erin"); err != nil {
		t.Fatal(err)
	}
	var want string
	h.waitFor("the pending code listed", func() bool {
		if len(s.shown) == 1 {
			want = deviceState(*s.shown[0], h.svc.Now())
		}
		return strings.HasPrefix(want, "new code until ")
	})

	for _, size := range []fyne.Size{{Width: 1920, Height: 1080}, {Width: 1280, Height: 800}} {
		h.win.Resize(size)
		h.c.showScreen(s.content)
		h.settle()
		var cell *widget.Label
		walk(s.list, func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.Label); ok && l.Text == want {
				cell = l
			}
		})
		if cell == nil {
			t.Fatalf("no cell of the list reads %q", want)
		}
		need := fyne.MeasureText(want, theme.TextSize(), cell.TextStyle).Width + 2*theme.InnerPadding()
		if got := cell.Size().Width; got < need {
			t.Errorf("%q is cut at %.0f×%.0f: the Device column is %.0f px wide, the text needs %.0f", want, size.Width, size.Height, got, need)
		}
	}
	if full := "new code until " + ic.Expires.Local().Format("15:04") + "; provisioned (Android 15)"; want != full {
		t.Errorf("device state %q, want %q", want, full)
	}

	// A code valid past midnight says which day it ends.
	r := *s.shown[0]
	r.pending = time.Date(2025, 6, 3, 8, 30, 0, 0, time.Local)
	if got, want := deviceState(r, time.Date(2025, 6, 2, 23, 50, 0, 0, time.Local)), "new code until 2025-06-03 08:30; provisioned (Android 15)"; got != want {
		t.Errorf("device state %q, want %q", got, want)
	}
}
