package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

// seedProfiles gives the office a Sales profile for group sales and a
// VIP profile for bob; it is a no-op when they exist (the screenshot
// scenes run once per window size).
func seedProfiles(t *testing.T, svc *core.Service) {
	t.Helper()
	if _, err := svc.Profile("Sales"); err == nil {
		return
	}
	for _, p := range []struct{ name, email string }{{"Sales", "sales-help@example.org"}, {"VIP", "vip@example.org"}} {
		pr := core.Profile{Name: p.name, ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: p.email})}
		if err := svc.AddProfile(pr); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range [][3]string{{"Sales", "pin_cache_timeout", "600"}, {"VIP", "pin_mode", "mandatory"}} {
		if err := svc.SetProfileValue(kv[0], kv[1], kv[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AssignProfileToGroup("Sales", "sales"); err != nil {
		t.Fatal(err)
	}
}

func TestProfilesScreen_NewEditAssignDelete(t *testing.T) {
	h := newHarness(t)
	for _, u := range []string{"alice", "bob"} {
		storetest.MustAddUser(t, h.svc, u, "1357")
		if _, err := h.svc.UpdateUser(u, func(x *core.User) error { x.Group = "sales"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	h.settle()
	s := h.c.profiles
	h.c.showScreen(s.content)
	if s.list.Length() != 1 || s.profiles[0].Name != "Default" || s.counts["Default"] != 2 {
		t.Fatalf("start: %d profiles, %v", s.list.Length(), s.counts)
	}

	// New: the email is mandatory, a bad number is shown at its field.
	test.Tap(s.add)
	f := s.form
	if f == nil {
		t.Fatal("New opened nothing")
	}
	test.Type(f.name.entry, "Sales")
	f.entries["pin_cache_timeout"].entry.SetText("-5")
	test.Tap(f.save)
	if got := f.entries["pin_cache_timeout"].msg.Text; got != "Enter a whole number from 0 to 86,400." {
		t.Fatalf("timeout error %q", got)
	}
	f.entries["pin_cache_timeout"].entry.SetText("600")
	test.Tap(f.save)
	if got := f.entries["support_email"].msg.Text; !strings.HasPrefix(got, "Enter the customer-service email") {
		t.Fatalf("email error %q", got)
	}
	f.entries["support_email"].entry.SetText("sales@example.org")
	f.pinMode.SetSelected(core.PINModeMandatory)
	f.checks["read_only_settings"].SetChecked(true)
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open: %q", f.general.Text)
	}
	p, err := h.svc.Profile("Sales")
	if err != nil || p.PINCacheTimeout != 600 || p.PINMode != core.PINModeMandatory || !p.ReadOnlySettings || p.SupportEmail != "sales@example.org" {
		t.Fatalf("saved %+v, %v", p, err)
	}

	// Assign to group: the dialog says whom it reaches.
	if s.selected != "Sales" {
		t.Fatalf("selected %q after New", s.selected)
	}
	test.Tap(s.assign)
	s.assignTo.SetText("sales")
	test.Tap(s.assignSave)
	h.settle()
	if s.counts["Sales"] != 2 || s.counts["Default"] != 0 {
		t.Fatalf("after assign: %v", s.counts)
	}

	// Edit asks how many users the change affects before saving.
	test.Tap(s.edit)
	f = s.form
	if !f.name.entry.Disabled() || f.entries["pin_cache_timeout"].entry.Text != "600" {
		t.Fatal("edit form does not hold the profile")
	}
	f.entries["support_phone"].entry.SetText("+44 20 7946 0000")
	test.Tap(f.save)
	if f.confirm == nil {
		t.Fatal("save of an assigned profile did not ask")
	}
	if got := visibleTexts(h.win.Canvas().Overlays().Top()); !containsPrefix(got, "This change affects 2 users") {
		t.Fatalf("confirmation reads %q", got)
	}
	f.confirm.Confirm()
	if p, _ := h.svc.Profile("Sales"); p.SupportPhone != "+44 20 7946 0000" {
		t.Fatalf("not saved: %+v", p)
	}

	// Delete: refused with core's sentence while assigned, done with a
	// reassignment.
	h.c.closeAllModals(t, h)
	test.Tap(s.del)
	if s.confirm == nil {
		t.Fatal("Delete did not ask")
	}
	s.confirm.Confirm()
	if got := visibleTexts(h.win.Canvas().Overlays().Top()); !containsPrefix(got, `Profile "Sales" is still assigned to group sales`) {
		t.Fatalf("refusal reads %q", got)
	}
	if _, err := h.svc.Profile("Sales"); err != nil {
		t.Fatal("refused delete deleted")
	}
	h.c.closeAllModals(t, h)
	test.Tap(s.del)
	s.reassign.SetSelected("Default")
	s.confirm.Confirm()
	if _, err := h.svc.Profile("Sales"); err == nil || s.list.Length() != 1 {
		t.Fatal("profile not deleted")
	}

	// The Default cannot be deleted.
	s.list.Select(0)
	test.Tap(s.del)
	if got := visibleTexts(h.win.Canvas().Overlays().Top()); !containsPrefix(got, "The Default profile cannot be deleted") {
		t.Fatalf("Default delete reads %q", got)
	}
}

// The user form picks the user's own profile and previews the
// effective profile, naming the source of each value.
func TestUserForm_EffectiveProfilePreview(t *testing.T) {
	h := newHarness(t)
	seedProfiles(t, h.svc)
	storetest.MustAddUser(t, h.svc, "alice", "1357")
	h.settle()
	s := h.c.users
	s.list.Select(0)
	test.Tap(s.edit)
	f := s.form
	if f == nil {
		t.Fatal("Edit opened nothing")
	}
	tests := []struct {
		group, profile string
		want           []string
	}{
		{"", profileFollowGroup, []string{"Profile Default (default)", "PIN cache timeout (seconds): 300 — default"}},
		{"sales", profileFollowGroup, []string{"Profile Sales (group sales)", "PIN cache timeout (seconds): 600 — group sales (profile Sales)",
			// An empty value is named, not a gap before the dash.
			"Customer Service Phone: (not set) — group sales (profile Sales)"}},
		{"sales", "VIP", []string{"Profile VIP (user)", "PIN (optional or mandatory): mandatory — user (profile VIP)"}},
	}
	for _, tt := range tests {
		f.group.entry.SetText(tt.group)
		f.profile.SetSelected(tt.profile)
		for _, w := range tt.want {
			if !strings.Contains(f.effective.Text, w) {
				t.Errorf("group %q profile %q: preview lacks %q:\n%s", tt.group, tt.profile, w, f.effective.Text)
			}
		}
		if strings.Contains(f.effective.Text, ":  —") {
			t.Errorf("group %q profile %q: preview shows an empty value as a gap:\n%s", tt.group, tt.profile, f.effective.Text)
		}
	}
	if got := f.effectiveBox.title(); got != "Effective profile: VIP (user)" {
		t.Errorf("preview title %q", got)
	}
	test.Tap(f.save)
	if u, _ := h.svc.User("alice"); u.Profile != "VIP" || u.Group != "sales" {
		t.Fatalf("saved %+v", u)
	}
	e, err := h.svc.EffectiveProfile("alice")
	if err != nil || e.Profile.Name != "VIP" || e.Source != core.SourceUser {
		t.Fatalf("effective %s %s %v", e.Profile.Name, e.Source, err)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// closeAllModals closes every dialog, as Escape would.
func (c *Console) closeAllModals(t *testing.T, h *harness) {
	t.Helper()
	for o := h.win.Canvas().Overlays().Top(); o != nil; o = h.win.Canvas().Overlays().Top() {
		if !c.escape() {
			h.win.Canvas().Overlays().Remove(o)
		}
	}
	h.settle()
}

// unreadableProfiles is a service whose profiles cannot be read while
// fail is set (a damaged record, a lost connection to the service).
type unreadableProfiles struct {
	*core.Service
	fail *bool
}

func (u unreadableProfiles) Profiles() ([]core.Profile, error) {
	if *u.fail {
		return nil, core.Errorf(core.CodeInternal, "The service does not answer.")
	}
	return u.Service.Profiles()
}

// TestProfilesScreen_UnreadableSaysSo: when the profiles cannot be read,
// Policy → Profiles says so in a sentence above the empty list (it showed
// only the empty list, which reads as "there are none"); once they can
// be read again the sentence goes.
func TestProfilesScreen_UnreadableSaysSo(t *testing.T) {
	fail := true
	h := newHarnessWith(t, func(h *harness, d *Deps) { d.Service = unreadableProfiles{h.svc, &fail} })
	s := h.c.profiles
	want := "The profiles could not be read, so none are shown. The service does not answer."
	if len(s.profiles) != 0 || !contains(visibleTexts(s.content), want) {
		t.Fatalf("the screen shows %q, want %q", visibleTexts(s.content), want)
	}
	fail = false
	s.refresh()
	if len(s.profiles) == 0 || s.problem.Visible() {
		t.Errorf("readable again: %d profiles, sentence still shown %v", len(s.profiles), s.problem.Visible())
	}
}

// TestProfilesScreen_HeaderUsesTheSeedLabel: the list's email column is
// named as the profile form and `profile show` name the field, after the
// Provisioning profile seed ("Customer Service Email"), not a third
// spelling.
func TestProfilesScreen_HeaderUsesTheSeedLabel(t *testing.T) {
	h := newHarness(t)
	s := h.c.profiles
	h.c.showScreen(s.content)
	texts := visibleTexts(s.content)
	if !contains(texts, core.ProfileKeyLabel("support_email")) || contains(texts, "Support email") {
		t.Errorf("Policy → Profiles header: %q, want the column %q", texts, core.ProfileKeyLabel("support_email"))
	}
}
