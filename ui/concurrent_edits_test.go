package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Two consoles editing the same record (docs/decisions.md): a form is
// open here while another console (the service called directly, or a
// helpdesk console attached to it) saves the same record; this form's
// save must keep the other's change and land its own.

// twoConsoles are the two ways the full console reaches the service: in
// the process that runs it, and attached over the admin socket.
var twoConsoles = []struct {
	name string
	open func(t *testing.T) *harness
}{
	{"standalone", newHarness},
	{"attached", func(t *testing.T) *harness { h, _ := newAttachedHarness(t); return h }},
}

// openUserForm opens the Edit form on the only user listed.
func openUserForm(t *testing.T, h *harness) *userForm {
	t.Helper()
	s := h.c.users
	h.waitFor("the user listed", func() bool { return len(s.shown) == 1 })
	s.list.Select(0)
	test.Tap(s.edit)
	h.answered()
	if s.form == nil {
		t.Fatal("Edit opened no form")
	}
	return s.form
}

// TestUserForm_KeepsOtherConsolesChange: the form saves only the fields
// it changed, onto alice as stored at the save.
func TestUserForm_KeepsOtherConsolesChange(t *testing.T) {
	tests := []struct {
		name  string
		other func(*core.User) // saved by the other console while the form is open
		form  func(*userForm)
		want  func(core.User) bool
	}{
		{"another field stays",
			func(u *core.User) { u.Email = "alice.new@example.org" },
			func(f *userForm) { f.group.entry.SetText("sales") },
			func(u core.User) bool { return u.Email == "alice.new@example.org" && u.Group == "sales" }},
		{"a disabled account stays disabled",
			func(u *core.User) { u.Disabled = true },
			func(f *userForm) { f.mobile.entry.SetText("+44 20 7946 0001") },
			func(u core.User) bool { return u.Disabled && u.Mobile == "+44 20 7946 0001" }},
		{"the same field: this later save wins",
			func(u *core.User) { u.Email = "theirs@example.org" },
			func(f *userForm) { f.email.entry.SetText("mine@example.org") },
			func(u core.User) bool { return u.Email == "mine@example.org" }},
		{"spaces typed around a value are no change",
			func(u *core.User) { u.FullName = "Alice Liddell" },
			func(f *userForm) { f.fullName.entry.SetText(" "); f.group.entry.SetText("sales ") },
			func(u core.User) bool { return u.FullName == "Alice Liddell" && u.Group == "sales" }},
	}
	for _, hc := range twoConsoles {
		for _, tt := range tests {
			t.Run(hc.name+"/"+tt.name, func(t *testing.T) {
				h := hc.open(t)
				if _, err := h.svc.AddUser(core.User{Name: "alice", Email: "alice@example.org", Group: "staff", MobileAllowed: true}); err != nil {
					t.Fatal(err)
				}
				f := openUserForm(t, h)
				if _, err := h.svc.UpdateUser("alice", func(u *core.User) error { tt.other(u); return nil }); err != nil {
					t.Fatal(err)
				}
				h.settle()
				tt.form(f)
				test.Tap(f.save)
				h.answered()
				if h.c.users.form != nil {
					t.Fatalf("the form stayed open: %q", formErrors(f))
				}
				if u, err := h.svc.User("alice"); err != nil || !tt.want(u) {
					t.Errorf("stored %+v %v", u, err)
				}
			})
		}
	}
}

// TestUserForm_UserGoneWhileOpen: a user deleted by another console
// while the form is open is not put back by Save, and one deleted and
// added again under the same name is not edited: the form says so in a
// sentence and stays open.
func TestUserForm_UserGoneWhileOpen(t *testing.T) {
	tests := []struct {
		name  string
		other func(h *harness)
		want  string
		check func(t *testing.T, h *harness)
	}{
		{"deleted",
			func(h *harness) {},
			"alice was deleted while this form was open, so nothing was saved.",
			func(t *testing.T, h *harness) {
				if _, err := h.svc.User("alice"); core.ErrorCode(err) != core.CodeNotFound {
					t.Errorf("alice is back: %v", err)
				}
			}},
		{"deleted and added again",
			func(h *harness) {
				h.clock.Advance(time.Minute)
				storetest.MustAddUser(h.t, h.svc, "alice", "5678")
			},
			"alice was deleted and added again while this form was open, so nothing was saved: close the form and open the user again.",
			func(t *testing.T, h *harness) {
				if u, err := h.svc.User("alice"); err != nil || u.Group != "" || u.PIN != "5678" {
					t.Errorf("the new alice was edited: %+v %v", u, err)
				}
			}},
	}
	for _, hc := range twoConsoles {
		for _, tt := range tests {
			t.Run(hc.name+"/"+tt.name, func(t *testing.T) {
				h := hc.open(t)
				storetest.MustAddUser(t, h.svc, "alice", "1234")
				f := openUserForm(t, h)
				if err := h.svc.DeleteUser("alice"); err != nil {
					t.Fatal(err)
				}
				tt.other(h)
				h.settle()
				f.group.entry.SetText("sales")
				test.Tap(f.save)
				h.answered()
				if got := formErrors(f)[""]; got != tt.want {
					t.Errorf("the form says %q, want %q", got, tt.want)
				}
				if h.c.users.form != f {
					t.Error("the form closed")
				}
				tt.check(t, h)
			})
		}
	}
}

// TestUserForm_KeepsProfileAssignedByHelpdesk: two consoles on one
// service. The admin's console has alice's form open; a helpdesk console
// attached to the same service gives her the VIP profile; the admin
// moves her to another group and saves. She keeps VIP.
func TestUserForm_KeepsProfileAssignedByHelpdesk(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.AddUser(core.User{Name: "alice", Group: "staff", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	vip := core.Profile{Name: "VIP", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	vip.SupportEmail = "help@example.org"
	if err := h.svc.AddProfile(vip); err != nil {
		t.Fatal(err)
	}
	f := openUserForm(t, h)

	do, waitFor := uiQueue(t)
	helpdesk := helpdeskAPI(h.svc)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: helpdesk, Remote: "provisio.lan:8444", do: do})
	t.Cleanup(at.Close)
	waitFor("alice listed", func() bool { return len(at.users) == 1 })
	at.userList.Select(0)
	test.Tap(at.profileBtn)
	waitFor("the profile dialog", func() bool { return at.profileSel != nil && w.Canvas().Overlays().Top() != nil })
	at.profileSel.SetSelected("VIP")
	tapDialogButton(t, w, "Save")
	waitFor("alice's own profile listed", func() bool { return len(at.users) == 1 && at.users[0].Profile == "VIP" })

	h.settle()
	f.group.entry.SetText("sales")
	test.Tap(f.save)
	if h.c.users.form != nil {
		t.Fatalf("the form stayed open: %q", formErrors(f))
	}
	if u, _ := h.svc.User("alice"); u.Profile != "VIP" || u.Group != "sales" {
		t.Errorf("alice has profile %q and group %q, want VIP and sales", u.Profile, u.Group)
	}
}

// TestSettingsForms_KeepOtherConsolesChange: each settings screen has a
// change in its form, not yet applied, while another console saves
// another setting of the same screen (or the same one); Apply saves this
// form's change and keeps the other's, or, for the same setting, the
// later save wins.
func TestSettingsForms_KeepOtherConsolesChange(t *testing.T) {
	type kv struct{ key, value string }
	tests := []struct {
		name  string
		edit  func(c *Console) // this console's change, in the form
		apply func(c *Console)
		mine  kv
		other kv
	}{
		{"PIN and Lockout",
			func(c *Console) { c.pin.entries["policy.lockout.max_failures"].entry.SetText("7") },
			func(c *Console) { test.Tap(c.pin.apply) },
			kv{"policy.lockout.max_failures", "7"}, kv{"policy.lockout.lock_seconds", "600"}},
		{"PIN and Lockout, the same setting",
			func(c *Console) { c.pin.entries["policy.lockout.max_failures"].entry.SetText("7") },
			func(c *Console) { test.Tap(c.pin.apply) },
			kv{"policy.lockout.max_failures", "7"}, kv{"policy.lockout.max_failures", "9"}},
		{"Mobile Client",
			func(c *Console) { c.mobile.checks["policy.mobile.allow_pin_entry"].SetChecked(true) },
			func(c *Console) { test.Tap(c.mobile.apply) },
			kv{"policy.mobile.allow_pin_entry", "Yes"}, kv{"policy.mobile.support_phone", "+44 20 7946 0000"}},
		{"Mail Transport",
			func(c *Console) { c.transport.host.entry.SetText("smtp.example.org") },
			func(c *Console) { test.Tap(c.transport.apply) },
			kv{"smtp.host", "smtp.example.org"}, kv{"smtp.from_name", "Helpdesk"}},
		{"Provision message template",
			func(c *Console) { c.transport.template.subject.entry.SetText("Your code") },
			func(c *Console) { test.Tap(c.transport.template.apply) },
			kv{"template.provision.subject", "Your code"}, kv{"template.provision.text", "Your code is {code}."}},
		{"Server",
			func(c *Console) { c.server.name.entry.SetText("hq") },
			func(c *Console) { test.Tap(c.server.apply) },
			kv{"server.name", "hq"}, kv{"server.siteid", "branch"}},
	}
	for _, hc := range twoConsoles {
		for _, tt := range tests {
			t.Run(hc.name+"/"+tt.name, func(t *testing.T) {
				h := hc.open(t)
				tt.edit(h.c)
				if err := h.svc.SetSetting(tt.other.key, tt.other.value); err != nil {
					t.Fatal(err)
				}
				h.settle()
				tt.apply(h.c)
				h.answered()
				set := h.svc.Settings()
				got := func(key string) string { v, _ := set.Get(key); return v }
				if v := got(tt.mine.key); v != tt.mine.value {
					t.Errorf("this form's %s is %q, want %q", tt.mine.key, v, tt.mine.value)
				}
				if v := got(tt.other.key); tt.other.key != tt.mine.key && v != tt.other.value {
					t.Errorf("the other console's %s is %q, want %q", tt.other.key, v, tt.other.value)
				}
			})
		}
	}
}

// TestProfileForm_KeepsOtherConsolesChange: the Edit profile form saves
// the keys it changed onto the profile as stored; a profile deleted
// meanwhile is said so and not put back.
func TestProfileForm_KeepsOtherConsolesChange(t *testing.T) {
	for _, hc := range twoConsoles {
		t.Run(hc.name, func(t *testing.T) {
			h := hc.open(t)
			p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
			p.SupportEmail = "sales@example.org"
			if err := h.svc.AddProfile(p); err != nil {
				t.Fatal(err)
			}
			s := h.c.profiles
			edit := func() *profileForm {
				h.waitFor("Sales listed", func() bool { s.refresh(); return len(s.profiles) == 2 })
				s.list.Select(1)
				test.Tap(s.edit)
				if s.form == nil {
					t.Fatal("Edit opened no form")
				}
				return s.form
			}

			f := edit()
			other, _ := h.svc.Profile("Sales")
			other.SupportPhone = "+44 20 7946 0000"
			if err := h.svc.SaveProfile(other); err != nil {
				t.Fatal(err)
			}
			h.settle()
			f.entries["pin_cache_timeout"].entry.SetText("900")
			test.Tap(f.save)
			h.answered()
			if f.confirm != nil {
				f.confirm.Confirm()
				h.answered()
			}
			got, _ := h.svc.Profile("Sales")
			if got.PINCacheTimeout != 900 || got.SupportPhone != "+44 20 7946 0000" {
				t.Errorf("stored timeout %d, support phone %q", got.PINCacheTimeout, got.SupportPhone)
			}

			h.c.closeAllModals(t, h)
			f = edit()
			if err := h.svc.DeleteProfile("Sales", ""); err != nil {
				t.Fatal(err)
			}
			h.settle()
			f.entries["pin_cache_timeout"].entry.SetText("1200")
			test.Tap(f.save)
			h.answered()
			if want := "The profile Sales was deleted while this form was open, so nothing was saved."; !f.general.Visible() || f.general.Text != want {
				t.Errorf("the form says %q, want %q", f.general.Text, want)
			}
			if _, err := h.svc.Profile("Sales"); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("Sales is back: %v", err)
			}
		})
	}
}

// TestAgentForm_KeepsOtherConsolesChange: the Edit agent form saves the
// fields it changed onto the agent as stored, keeping a group and a
// secret another console saved; an agent deleted meanwhile is said so
// and not put back.
func TestAgentForm_KeepsOtherConsolesChange(t *testing.T) {
	for _, hc := range twoConsoles {
		t.Run(hc.name, func(t *testing.T) {
			h := hc.open(t)
			vpn := core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1", Modes: []string{core.AgentModeMobile}}
			if err := h.svc.PutAgent(vpn); err != nil {
				t.Fatal(err)
			}
			s := h.c.agents
			edit := func() *agentForm {
				h.waitFor("the agent listed", func() bool { return len(s.agents) == 1 })
				s.list.Select(0)
				test.Tap(s.edit)
				if s.form == nil {
					t.Fatal("Edit opened no form")
				}
				return s.form
			}

			f := edit()
			other := vpn
			other.Group, other.Secret = "sales", "vpn-secret-2"
			if err := h.svc.PutAgent(other); err != nil {
				t.Fatal(err)
			}
			h.waitFor("the other console's change listed", func() bool { return len(s.agents) == 1 && s.agents[0].Group == "sales" })
			f.host.entry.SetText("10.0.0.0/24")
			test.Tap(f.save)
			h.answered()
			if s.form != nil {
				t.Fatalf("the form stayed open: %q", f.general.Text)
			}
			if a := h.svc.Agents(); len(a) != 1 || a[0].Host != "10.0.0.0/24" || a[0].Group != "sales" || a[0].Secret != "vpn-secret-2" {
				t.Errorf("stored %+v", a)
			}

			f = edit()
			if err := h.svc.DeleteAgent("vpn"); err != nil {
				t.Fatal(err)
			}
			h.waitFor("the agent gone from the list", func() bool { return len(s.agents) == 0 })
			f.host.entry.SetText("10.0.1.0/24")
			test.Tap(f.save)
			h.answered()
			if want := "The agent vpn was deleted while this form was open, so nothing was saved."; !f.general.Visible() || f.general.Text != want {
				t.Errorf("the form says %q, want %q", f.general.Text, want)
			}
			if len(h.svc.Agents()) != 0 {
				t.Errorf("the agent is back: %+v", h.svc.Agents())
			}
		})
	}
}

// TestProfileAndAgentForms_KeepASaveLandingDuringTheirs: another server
// of the site (a second service over the same data) saves the profile or
// agent after this form's save has begun and read what it reads, before
// its write (storetest.Meanwhile). The form's save used to write the
// whole record it read, putting the other's change back; now core
// applies the form's changes to the record its transaction reads, in the
// process and over the admin API, and both land.
func TestProfileAndAgentForms_KeepASaveLandingDuringTheirs(t *testing.T) {
	consoles := []struct {
		name string
		open func(t *testing.T, st core.Store) *harness
	}{
		{"standalone", func(t *testing.T, st core.Store) *harness { return newHarnessOn(t, st, nil) }},
		{"attached", func(t *testing.T, st core.Store) *harness {
			h, _ := newAttachedHarnessWith(t, attachedService{store: st})
			return h
		}},
	}
	for _, hc := range consoles {
		t.Run(hc.name+"/profile", func(t *testing.T) {
			st := storetest.MustOpen(t)
			m := storetest.NewMeanwhile(st)
			h := hc.open(t, m)
			other := storetest.MustServiceOn(t, st)
			p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
			p.SupportEmail = "sales@example.org"
			if err := h.svc.AddProfile(p); err != nil {
				t.Fatal(err)
			}
			s := h.c.profiles
			h.waitFor("Sales listed", func() bool { s.refresh(); return len(s.profiles) == 2 })
			s.list.Select(1)
			test.Tap(s.edit)
			f := s.form
			if f == nil {
				t.Fatal("Edit opened no form")
			}
			f.entries["pin_cache_timeout"].entry.SetText("900")
			test.Tap(f.save)
			h.answered()
			if f.confirm == nil {
				t.Fatalf("no question before the save: %q", f.general.Text)
			}
			m.Before(func() {
				if err := other.SetProfileValue("Sales", "support_phone", "+44 20 7946 0000"); err != nil {
					t.Error(err)
				}
			})
			f.confirm.Confirm()
			h.answered()
			if s.form != nil {
				t.Fatalf("the form stayed open: %q", f.general.Text)
			}
			got, _ := other.Profile("Sales")
			if got.PINCacheTimeout != 900 || got.SupportPhone != "+44 20 7946 0000" {
				t.Errorf("stored timeout %d, support phone %q: want this form's and the other server's", got.PINCacheTimeout, got.SupportPhone)
			}
		})
		t.Run(hc.name+"/agent", func(t *testing.T) {
			st := storetest.MustOpen(t)
			m := storetest.NewMeanwhile(st)
			h := hc.open(t, m)
			other := storetest.MustServiceOn(t, st)
			vpn := core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1", Modes: []string{core.AgentModeMobile}}
			if err := h.svc.PutAgent(vpn); err != nil {
				t.Fatal(err)
			}
			s := h.c.agents
			h.waitFor("the agent listed", func() bool { return len(s.agents) == 1 })
			s.list.Select(0)
			test.Tap(s.edit)
			f := s.form
			if f == nil {
				t.Fatal("Edit opened no form")
			}
			f.host.entry.SetText("10.0.0.0/24")
			m.Before(func() {
				theirs := vpn
				theirs.Group, theirs.Secret = "sales", "vpn-secret-2"
				if err := other.PutAgent(theirs); err != nil {
					t.Error(err)
				}
			})
			test.Tap(f.save)
			h.answered()
			if s.form != nil {
				t.Fatalf("the form stayed open: %q", f.general.Text)
			}
			if err := other.ReloadConfig("test"); err != nil {
				t.Fatal(err)
			}
			for name, svc := range map[string]*core.Service{"stored": other, "the console's service": h.svc} {
				if a := svc.Agents(); len(a) != 1 || a[0].Host != "10.0.0.0/24" || a[0].Group != "sales" || a[0].Secret != "vpn-secret-2" {
					t.Errorf("%s: %+v, want this form's host, the other server's group and secret", name, a)
				}
			}
		})
	}
}
