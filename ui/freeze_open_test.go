package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console's screens and dialogs that read the service before
// they open, or as the person types, do so off the UI thread
// (request.go, latest): the same silent network as freeze_test.go.

// overlayText is the text of the top dialog, "" when none is open.
func (h *harness) overlayText() string {
	top := h.win.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	return strings.Join(visibleTexts(top), "\n")
}

// TestAttachedFreeze_ServerApply: Apply on the Server screen comes back
// at once over a silent network, Apply and Reset wait disabled with the
// value as typed, and "Saved." shows once the network carries.
func TestAttachedFreeze_ServerApply(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.server
	s.name.entry.SetText("hq")
	h.tapWhileHeld(g, s.apply, "Apply")
	if !s.reset.Disabled() || s.name.entry.Text != "hq" {
		t.Errorf("while saving: Reset disabled %v, name %q", s.reset.Disabled(), s.name.entry.Text)
	}
	g.release()
	h.waitFor("Saved.", func() bool { return strings.HasPrefix(s.result.Text, "Saved.") })
	if got := h.svc.Settings().ServerName; got != "hq" {
		t.Errorf("the service stores server name %q, want hq", got)
	}
	if s.apply.Disabled() || s.reset.Disabled() {
		t.Error("Apply or Reset stays disabled after the answer")
	}
}

// TestAttachedFreeze_OpenUserForm: Add user and Edit come back at once
// over a silent network, wait disabled with no form open, a second ask
// (the Ctrl+N shortcut) opens nothing more, and the form opens once the
// network carries, with what it reads: the user's values, the effective
// profile and, for Edit, the client log. Typing a group asks for the
// effective profile off the UI thread too, and the newest text wins.
func TestAttachedFreeze_OpenUserForm(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   bool
		button func(s *usersScreen) *widget.Button
	}{
		{"add", false, func(s *usersScreen) *widget.Button { return s.add }},
		{"edit", true, func(s *usersScreen) *widget.Button { return s.edit }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			p := core.Profile{Name: "Sales phones", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
			p.SupportEmail = "sales@example.org"
			if err := h.svc.AddProfile(p); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.AssignProfileToGroup("Sales phones", "sales"); err != nil {
				t.Fatal(err)
			}
			h.settle()
			s := h.c.users
			if tt.edit {
				h.selectListed("bob")
			}
			h.tapWhileHeld(g, tt.button(s), tt.name)
			if s.form != nil {
				t.Fatal("the form opened before what it shows was read")
			}
			if !s.add.Disabled() || !s.edit.Disabled() {
				t.Errorf("while reading: Add user disabled %v, Edit disabled %v", s.add.Disabled(), s.edit.Disabled())
			}
			s.openForm(nil) // Ctrl+N
			g.release()
			h.waitFor("the form", func() bool { return s.form != nil })
			h.answered()
			f := s.form
			if n := len(h.c.modals); n != 1 {
				t.Errorf("%d dialogs open, want the one form", n)
			}
			if !strings.HasPrefix(f.effective.Text, "Profile Default") {
				t.Errorf("effective profile %q", f.effective.Text)
			}
			if tt.edit && (f.email.entry.Text != "bob@example.org" || !strings.HasPrefix(f.clientLog.Text, "Client log: ")) {
				t.Errorf("Edit shows email %q, client log %q", f.email.entry.Text, f.clientLog.Text)
			}
			if !slices.Contains(f.profile.Options, "Sales phones") {
				t.Errorf("Profile offers %q", f.profile.Options)
			}

			g.hold()
			test.Type(f.group.entry, "sa")
			test.Type(f.group.entry, "les")
			if !g.holding() {
				t.Fatal("typing a group held the window until the service answered")
			}
			// One question on its way, not one a keystroke.
			if h.c.requests != 1 {
				t.Errorf("%d requests on their way for five keystrokes, want 1", h.c.requests)
			}
			g.release()
			h.answered()
			if !strings.HasPrefix(f.effective.Text, "Profile Sales phones") {
				t.Errorf("with group sales the effective profile is %q", f.effective.Text)
			}
		})
	}
}

// TestAttachedFreeze_OpenProfileForm: New profile comes back at once
// over a silent network, waits disabled with no form open, and the form
// opens with the Default's values once the network carries; Edit reads
// nothing and opens at once.
func TestAttachedFreeze_OpenProfileForm(t *testing.T) {
	h, g := frozenHarness(t)
	def, err := h.svc.Profile(core.DefaultProfileName)
	if err != nil {
		t.Fatal(err)
	}
	def.PINCacheTimeout = 777
	if err := h.svc.SaveProfile(def); err != nil {
		t.Fatal(err)
	}
	s := h.c.profiles
	h.waitFor("the Default listed", func() bool { return len(s.profiles) == 1 })
	h.tapWhileHeld(g, s.add, "New profile")
	if s.form != nil {
		t.Fatal("the form opened before the Default was read")
	}
	test.Tap(s.add)
	g.release()
	h.waitFor("the form", func() bool { return s.form != nil })
	h.answered()
	if n := len(h.c.modals); n != 1 {
		t.Errorf("%d dialogs open, want the one form", n)
	}
	if v := s.form.entries["pin_cache_timeout"].entry.Text; v != "777" {
		t.Errorf("New profile starts with PIN cache timeout %q, want the Default's 777", v)
	}
	s.form.dlg.Hide()

	s.list.Select(0)
	g.hold()
	test.Tap(s.edit)
	if !g.holding() || s.form == nil {
		t.Fatalf("Edit: held %v, form open %v; it reads nothing and opens at once", g.holding(), s.form != nil)
	}
}

// TestAttachedFreeze_PairedConsoles: Paired consoles… comes back at once
// over a silent network, waits disabled with nothing open, and the list
// opens once the network carries, once.
func TestAttachedFreeze_PairedConsoles(t *testing.T) {
	h, g := frozenHarness(t)
	if _, err := (core.LocalAdmin{Svc: h.svc}).PairConsole("desk-2", core.RoleHelpdesk); err != nil {
		t.Fatal(err)
	}
	s := h.c.server
	h.tapWhileHeld(g, s.consolesBtn, "Paired consoles…")
	if top := h.overlayText(); top != "" {
		t.Fatalf("a dialog opened before the list was read: %q", top)
	}
	test.Tap(s.consolesBtn)
	g.release()
	h.waitFor("the list", func() bool { return strings.Contains(h.overlayText(), "desk-2 · helpdesk") })
	h.answered()
	if n := len(h.c.modals); n != 1 {
		t.Errorf("%d dialogs open, want the one list", n)
	}
	if s.consolesBtn.Disabled() {
		t.Error("Paired consoles… stays disabled after the answer")
	}
}

// TestAttachedFreeze_Assign: Assign to group… comes back at once over a
// silent network and the dialog opens once the groups are read; the
// count of users a typed group reaches is asked off the UI thread, and
// the answer for the newest text is the one shown.
func TestAttachedFreeze_Assign(t *testing.T) {
	h, g := frozenHarness(t)
	for _, u := range []core.User{{Name: "carol", Group: "sales"}, {Name: "dan", Group: "sa"}, {Name: "erin", Group: "sa"}} {
		if _, err := h.svc.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	p := core.Profile{Name: "Sales phones", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	p.SupportEmail = "sales@example.org"
	if err := h.svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	s := h.c.profiles
	h.waitFor("Sales phones listed", func() bool { return len(s.profiles) == 2 })
	for i, p := range s.profiles {
		if p.Name == "Sales phones" {
			s.list.Select(i)
		}
	}
	h.tapWhileHeld(g, s.assign, "Assign to group…")
	if top := h.overlayText(); top != "" {
		t.Fatalf("a dialog opened before the groups were read: %q", top)
	}
	g.release()
	h.waitFor("the Assign dialog", func() bool { return strings.Contains(h.overlayText(), "Assign profile Sales phones") })
	h.answered()

	g.hold()
	test.Type(s.assignTo, "sa")
	test.Type(s.assignTo, "les")
	if !g.holding() {
		t.Fatal("typing a group held the window until the service answered")
	}
	// One count on its way, not one a keystroke.
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way for five keystrokes, want 1", h.c.requests)
	}
	g.release()
	h.answered()
	text := h.overlayText()
	if !strings.Contains(text, "1 user of group sales without a profile of their own gets this profile") || strings.Contains(text, "group sa ") {
		t.Errorf("the note for sales reads:\n%s", text)
	}
}

// TestAttachedFreeze_ReprovisionOATH: choosing the authenticator app in
// the Reprovision dialog comes back at once over a silent network, with
// Reprovision disabled and no dialog until the token comes; in its
// dialog New token, Confirm and Send by email come back at once too and
// wait disabled, and their answers show once the network carries.
func TestAttachedFreeze_ReprovisionOATH(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{oath: true})
	h.openReprovisionFor("bob")
	radio := findRadio(h.win.Canvas().Overlays().Top())
	if radio == nil {
		t.Fatal("the Reprovision dialog offers no token choice")
	}
	g.hold()
	radio.SetSelected(choiceOATH)
	if !g.holding() {
		t.Fatal("choosing the authenticator app held the window until the service answered")
	}
	if h.c.oath != nil || !h.c.users.reprovision.Disabled() {
		t.Errorf("while issuing: dialog open %v, Reprovision disabled %v", h.c.oath != nil, h.c.users.reprovision.Disabled())
	}
	g.release()
	h.waitFor("the authenticator-app dialog", func() bool { return h.c.oath != nil })
	d := h.c.oath
	first := d.issued
	if first.User != "bob" || d.secret.Text != first.SecretText || d.status.Text != oathWaiting {
		t.Errorf("the dialog shows user %q, secret %q, status %q", first.User, d.secret.Text, d.status.Text)
	}

	h.tapWhileHeld(g, &d.newToken.Button, "New token")
	if d.issued.ID != first.ID {
		t.Error("the token changed before the service answered")
	}
	g.release()
	h.waitFor("the new token", func() bool { return d.issued.ID != first.ID })
	if st, err := h.svc.OATHStatus("bob"); err != nil || st.PendingID != d.issued.ID {
		t.Errorf("pending on the service %+v (%v), shown %q", st, err, d.issued.ID)
	}

	test.Type(d.appCode, "000000")
	h.tapWhileHeld(g, &d.confirm.Button, "Confirm")
	if d.appCode.Text != "000000" {
		t.Errorf("the typed code is gone: %q", d.appCode.Text)
	}
	g.release()
	h.waitFor("the refusal", func() bool { return d.status.Importance == widget.DangerImportance })
	if d.confirm.Disabled() || d.appCode.Text != "000000" {
		t.Errorf("after the refusal: Confirm disabled %v, code %q", d.confirm.Disabled(), d.appCode.Text)
	}

	h.tapWhileHeld(g, &d.sendMail.Button, "Send by email")
	g.release()
	h.waitFor("the set-up link queued", func() bool { return strings.Contains(d.status.Text, "Set-up link queued") })
	if msgs, err := h.svc.Outbox(); err != nil || len(msgs) != 1 || msgs[0].To != "bob@example.org" {
		t.Errorf("outbox %+v, %v", msgs, err)
	}
}

// TestAttachedFreeze_TurnOnOATH: with authenticator apps turned off,
// choosing one asks to turn them on; Turn on comes back at once over a
// silent network, Reprovision waits disabled, and once the network
// carries they are on and the authenticator-app dialog opens.
func TestAttachedFreeze_TurnOnOATH(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{oath: true})
	if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.openReprovisionFor("bob")
	findRadio(h.win.Canvas().Overlays().Top()).SetSelected(choiceOATH)
	h.answered()
	if !strings.Contains(h.overlayText(), "Turn on authenticator apps?") {
		t.Fatalf("no question; the top dialog reads:\n%s", h.overlayText())
	}
	g.hold()
	tapDialogButton(t, h.win, "Turn on")
	if !g.holding() {
		t.Fatal("Turn on held the window until the service answered")
	}
	if !h.c.users.reprovision.Disabled() || h.c.oath != nil {
		t.Errorf("while turning on: Reprovision disabled %v, dialog open %v", h.c.users.reprovision.Disabled(), h.c.oath != nil)
	}
	g.release()
	h.waitFor("the authenticator-app dialog", func() bool { return h.c.oath != nil })
	if !h.svc.Settings().OATH.Enabled || h.c.oath.issued.User != "bob" {
		t.Errorf("enabled %v, the dialog is for %q", h.svc.Settings().OATH.Enabled, h.c.oath.issued.User)
	}
}
