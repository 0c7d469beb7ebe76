package ui

import (
	"net/netip"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

// agentErrors returns the messages the agent form shows, by field.
func agentErrors(f *agentForm) map[string]string {
	out := map[string]string{}
	for name, fl := range f.fields() {
		if fl.msg.Visible() {
			out[name] = fl.msg.Text
		}
	}
	if f.modesMsg.Visible() {
		out["modes"] = f.modesMsg.Text
	}
	if f.general.Visible() {
		out[""] = f.general.Text
	}
	return out
}

func TestAgentsScreen_Layout(t *testing.T) {
	h := newHarness(t)
	for _, a := range []core.Agent{
		{Name: "office-vpn", Host: "192.168.1.1", Secret: "vpn-secret-1"},
		{Name: "intranet", Host: "192.168.1.0/24", Secret: "intranet-secret", Group: "sales",
			Modes: []string{core.AgentModeMobile, core.AgentModeDual}, Repository: true},
	} {
		if err := h.svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("both agents listed", func() bool { return len(h.c.agents.agents) == 2 })
	h.settle()
	h.c.showScreen(h.c.agents.content)
	writeShot(t, "golden_agents.png", h.win.Canvas().Capture())
	test.AssertRendersToMarkup(t, "agents.xml", h.win.Canvas())
}

func TestAgentsScreen_AddWithGeneratedSecret(t *testing.T) {
	h := newHarness(t)
	s := h.c.agents
	if !s.empty.Visible() || !s.edit.Disabled() {
		t.Error("empty list should say so and offer only Add")
	}
	test.Tap(s.add)
	f := s.form
	if f == nil {
		t.Fatal("Add opened nothing")
	}
	secret := f.secret.entry.Text
	if len(secret) != 24 || !f.secret.entry.Password {
		t.Errorf("a new agent gets a hidden generated secret, got %q", secret)
	}
	test.Tap(f.generate)
	if f.secret.entry.Text == secret {
		t.Error("Generate kept the old secret")
	}
	test.Tap(f.copySecret)
	if got := h.c.app.Clipboard().Content(); got != f.secret.entry.Text || f.copied.Text != "Copied to the clipboard." {
		t.Errorf("clipboard %q; note %q", got, f.copied.Text)
	}
	test.Type(f.name.entry, "office-vpn")
	test.Type(f.host.entry, "192.168.1.0/24")
	f.modes[core.AgentModeDual].SetChecked(true)
	f.repository.SetChecked(true)
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open: %q", agentErrors(f))
	}
	a := h.svc.Agents()
	if len(a) != 1 || a[0].Name != "office-vpn" || a[0].Host != "192.168.1.0/24" || a[0].Group != core.GroupAny ||
		strings.Join(a[0].Modes, ",") != "mobile,dual" || !a[0].Repository || a[0].Secret != f.secret.entry.Text {
		t.Errorf("saved %+v", a)
	}
	if s.selected != "office-vpn" || s.list.Length() != 1 || s.empty.Visible() {
		t.Errorf("list: selected %q, %d rows", s.selected, s.list.Length())
	}
	if got := modesText(a[0]); got != "Mobile client, Dual channel" {
		t.Errorf("modes column %q", got)
	}
}

func TestAgentForm_Validation(t *testing.T) {
	h := newHarness(t)
	if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1"}); err != nil {
		t.Fatal(err)
	}
	// Under the race detector the event can take longer than settle's
	// 100 ms to arrive.
	h.waitFor("the agent listed", func() bool { return len(h.c.agents.agents) == 1 })
	h.settle()
	s := h.c.agents
	tests := []struct {
		name, host, secret string
		noModes            bool
		field, want        string
	}{
		{"", "10.0.0.2", "long-enough", false, "name", "Enter a name for the agent."},
		{"web", "10.0.0.300", "long-enough", false, "host", `"10.0.0.300" is not an IP address (192.168.1.10), a range (192.168.1.0/24) or a host name (vpn.office.lan).`},
		{"web", "10.0.0.0/33", "long-enough", false, "host", `"10.0.0.0/33" is not an IP address (192.168.1.10), a range (192.168.1.0/24) or a host name (vpn.office.lan).`},
		{"web", "10.0.0.2", "short", false, "secret", "The shared secret needs at least 8 characters."},
		{"web", "10.0.0.2", "", false, "secret", "Enter a shared secret for the agent."},
		{"web", "10.0.0.2", "h1:long-enough", false, "secret", `A shared secret cannot start with "h1:", which marks a stored hash; generate one or choose another.`},
		{"web", "10.0.0.2", "long-enough", true, "modes", "Choose at least one authentication mode."},
		{"VPN", "10.0.0.2", "long-enough", false, "name", `An agent called "VPN" already exists.`},
	}
	for _, tt := range tests {
		t.Run(tt.field+" "+tt.want, func(t *testing.T) {
			test.Tap(s.add)
			f := s.form
			defer f.dlg.Hide()
			f.name.entry.SetText(tt.name)
			f.host.entry.SetText(tt.host)
			f.secret.entry.SetText(tt.secret)
			f.modes[core.AgentModeMobile].SetChecked(!tt.noModes)
			test.Tap(f.save)
			if got := agentErrors(f); got[tt.field] != tt.want || len(got) != 1 {
				t.Errorf("errors %q, want %s: %q", got, tt.field, tt.want)
			}
			if s.form != f || f.host.entry.Text != tt.host || f.secret.entry.Text != tt.secret {
				t.Error("the form closed or lost what was typed")
			}
		})
	}
	if n := len(h.svc.Agents()); n != 1 {
		t.Errorf("%d agents saved", n)
	}
}

func TestAgentsScreen_EditAndDelete(t *testing.T) {
	h := newHarness(t)
	if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1"}); err != nil {
		t.Fatal(err)
	}
	// Under the race detector the event can take longer than settle's
	// 100 ms to arrive.
	h.waitFor("the agent listed", func() bool { return len(h.c.agents.agents) == 1 })
	h.settle()
	s := h.c.agents
	s.list.Select(0)
	test.Tap(s.edit)
	f := s.form
	if !f.name.entry.Disabled() || f.secret.entry.Text != "vpn-secret-1" || !f.modes[core.AgentModeMobile].Checked {
		t.Errorf("edit form: name disabled %v, secret %q", f.name.entry.Disabled(), f.secret.entry.Text)
	}
	f.host.entry.SetText("10.0.0.0/24")
	f.group.entry.SetText("sales")
	test.Tap(f.save)
	if a := h.svc.Agents(); len(a) != 1 || a[0].Host != "10.0.0.0/24" || a[0].Group != "sales" {
		t.Errorf("saved %+v", a)
	}

	test.Tap(s.del)
	if s.confirm == nil {
		t.Fatal("Delete did not ask")
	}
	s.confirm.Confirm()
	if len(h.svc.Agents()) != 0 || s.list.Length() != 0 || !s.empty.Visible() {
		t.Error("agent still listed")
	}
}

// On a sealed store only a keyed hash of an agent's secret is kept (#13):
// the Edit form shows none, Copy says why instead of copying the hash, a
// save with the field left empty keeps the secret, and a new one replaces
// it.
func TestAgentsScreen_EditKeepsAHashedSecret(t *testing.T) {
	h := newHarnessOn(t, storetest.MustOpenSealed(t), nil)
	vpn := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1", Modes: []string{core.AgentModeMobile}}
	if err := h.svc.PutAgent(vpn); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the agent listed", func() bool { return len(h.c.agents.agents) == 1 })
	h.settle()
	if !core.IsHashedSecret(h.svc.Agents()[0].Secret) {
		t.Fatal("a sealed store keeps the secret in the clear")
	}
	s := h.c.agents
	edit := func() *agentForm {
		t.Helper()
		s.list.Select(0)
		test.Tap(s.edit)
		if s.form == nil {
			t.Fatal("Edit opened nothing")
		}
		return s.form
	}
	authorized := func(secret string) bool {
		_, ok := h.svc.AuthorizeAgent(netip.MustParseAddr("127.0.0.1"), secret)
		return ok
	}

	f := edit()
	if f.secret.entry.Text != "" || !strings.Contains(f.secret.entry.PlaceHolder, "unchanged and not shown") {
		t.Errorf("the secret field holds %q, placeholder %q", f.secret.entry.Text, f.secret.entry.PlaceHolder)
	}
	h.c.app.Clipboard().SetContent("before")
	test.Tap(f.copySecret)
	if got := h.c.app.Clipboard().Content(); got != "before" || !strings.Contains(f.copied.Text, "cannot be shown or copied") {
		t.Errorf("Copy put %q on the clipboard; note %q", got, f.copied.Text)
	}
	f.group.entry.SetText("sales")
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open: %q", agentErrors(f))
	}
	if a := h.svc.Agents(); len(a) != 1 || a[0].Group != "sales" || !authorized("vpn-secret-1") {
		t.Errorf("after a save with the secret left empty: %+v, old secret accepted %v", a, authorized("vpn-secret-1"))
	}

	f = edit()
	test.Tap(f.generate)
	fresh := f.secret.entry.Text
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open: %q", agentErrors(f))
	}
	if !authorized(fresh) || authorized("vpn-secret-1") {
		t.Errorf("after Generate: new secret accepted %v, old one %v", authorized(fresh), authorized("vpn-secret-1"))
	}
}

// An agent added elsewhere (the CLI) appears without a restart.
func TestAgentsScreen_FollowsOutsideChanges(t *testing.T) {
	h := newHarness(t)
	if err := h.svc.PutAgent(core.Agent{Name: "radius", Host: "10.1.1.1", Secret: "radius-secret"}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("agent listed", func() bool { return h.c.agents.list.Length() == 1 })
}

// Agents saved before each agent needed its own secret may share one:
// the Agents screen names them and says to give each its own, on a
// console over its store and on one attached over the admin socket, and
// the warning goes once they differ. The records are written straight
// into a sealed store, as the old rule let the service write them.
func TestAgentsScreen_NamesAgentsSharingASecret(t *testing.T) {
	for _, attached := range []bool{false, true} {
		name := "own store"
		if attached {
			name = "attached"
		}
		t.Run(name, func(t *testing.T) {
			const shared = "one-secret-for-two"
			st := storetest.MustOpenSealed(t)
			if err := st.Update(func(tx core.Tx) error {
				for _, a := range []core.Agent{
					{Name: "vpn", Host: "192.168.1.1", Secret: shared, Group: core.GroupAny},
					{Name: "wiki", Host: "192.168.1.0/24", Secret: shared, Group: "sales"},
					{Name: "mail", Host: "192.168.1.9", Secret: "a-secret-of-its-own", Group: core.GroupAny},
				} {
					if err := tx.PutAgent(a); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var h *harness
			if attached {
				h, _ = newAttachedHarnessWith(t, attachedService{store: st})
			} else {
				h = newHarnessOn(t, st, nil)
			}
			s := h.c.agents
			h.waitFor("the agents listed", func() bool { return len(s.agents) == 3 })
			h.settle()
			want := `Agents "vpn" and "wiki" have the same shared secret, saved before each agent needed its own: ` +
				`a request with it may act as any of them. Give each its own shared secret (in the console: Agents, Edit, Generate; ` +
				`or provisio agent add NAME again with --secret -) and set the new one in that agent's program.`
			if !s.shared.Visible() || s.shared.Text != want {
				t.Fatalf("warning shown %v: %q, want %q", s.shared.Visible(), s.shared.Text, want)
			}
			if strings.Contains(s.shared.Text, shared) {
				t.Fatal("the warning shows the secret")
			}

			// The admin gives wiki its own secret: the warning goes.
			s.list.Select(2) // sorted: mail, vpn, wiki
			if s.selected != "wiki" {
				t.Fatalf("selected %q", s.selected)
			}
			test.Tap(s.edit)
			if s.form == nil {
				t.Fatal("Edit opened nothing")
			}
			f := s.form
			test.Tap(f.generate)
			test.Tap(f.save)
			h.waitFor("the form closed", func() bool { return s.form == nil })
			h.waitFor("the warning gone", func() bool { return !s.shared.Visible() })
			if got := h.svc.AgentsSharingSecrets(); len(got) != 0 {
				t.Errorf("still sharing: %v", got)
			}
		})
	}
}
