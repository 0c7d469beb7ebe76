package ui

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core"
)

// The full console attached over the network does not freeze its window
// on a request (request.go): each test holds the network silent, taps
// the button, and checks that the tap came back while the network still
// carried nothing, that the button waits disabled with the form as typed,
// and that the answer shows once the network carries again.

// holdFor is how long a gate holds by itself at most: code that waits on
// the UI thread gets its answer then, so its test fails instead of
// hanging. It is no measure of speed; the tests ask whether the tap came
// back before the gate let go.
const holdFor = 3 * time.Second

// gate is a proxy on a Unix socket in front of the service's admin
// socket: it passes bytes both ways until hold, then keeps what it reads
// until release, as a network that carries nothing does (a VPN dropped, a
// cable pulled), where a request waits for the client's timeout.
type gate struct {
	mu   sync.Mutex
	open chan struct{} // closed while bytes pass
}

// listen starts the proxy in dir in front of upstream and returns its
// socket's path.
func (g *gate) listen(t *testing.T, dir, upstream string) string {
	t.Helper()
	g.mu.Lock()
	if g.open == nil {
		g.open = make(chan struct{})
		close(g.open)
	}
	g.mu.Unlock()
	path := filepath.Join(dir, "gate")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// Last cleanup to run is first registered: bytes pass again, so
	// nothing stays blocked once the test is over.
	t.Cleanup(func() { ln.Close(); g.release() })
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", upstream)
			if err != nil {
				down.Close()
				continue
			}
			go g.pipe(up, down)
			go g.pipe(down, up)
		}
	}()
	return path
}

// pipe copies src to dst through the gate.
func (g *gate) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			g.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (g *gate) wait() {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	<-open
}

// hold stops the bytes, for holdFor at most.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	open := make(chan struct{})
	g.open = open
	time.AfterFunc(holdFor, func() { g.releaseOnly(open) })
}

// release lets the bytes pass again.
func (g *gate) release() {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	g.releaseOnly(open)
}

func (g *gate) releaseOnly(open chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-open:
	default:
		close(open)
	}
}

// holding says whether the bytes are held still.
func (g *gate) holding() bool {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return false
	default:
		return true
	}
}

// frozenHarness is the full console attached to the service through a
// gate, with bob (who has an email address) listed.
func frozenHarness(t *testing.T) (*harness, *gate) {
	t.Helper()
	return frozenHarnessWith(t, attachedService{})
}

// frozenHarnessWith is frozenHarness on a service made as o says.
func frozenHarnessWith(t *testing.T, o attachedService) (*harness, *gate) {
	t.Helper()
	g := &gate{}
	o.gate = g
	h, _ := newAttachedHarnessWith(t, o)
	if _, err := h.svc.AddUser(core.User{Name: "bob", Email: "bob@example.org", PIN: "1357", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("bob listed", func() bool { return len(h.c.users.shown) == 1 })
	h.settle()
	h.answered() // the status bar's read that follows the list's
	return h, g
}

// tapWhileHeld holds the network silent and taps b on the test goroutine,
// which plays the UI thread. The tap must come back while the network
// still carries nothing (the request went off the UI thread), and b must
// then wait disabled.
func (h *harness) tapWhileHeld(g *gate, b fyne.Tappable, what string) {
	h.t.Helper()
	g.hold()
	test.Tap(b)
	if !g.holding() {
		h.t.Fatalf("%s held the window until the service answered", what)
	}
	if d, ok := b.(fyne.Disableable); ok && !d.Disabled() {
		h.t.Errorf("%s is not disabled while its request is on its way: a second tap sends it again", what)
	}
}

// TestAttachedFreeze_UserForm: Save in the Add user form of an attached
// console comes back at once over a silent network, Save waits disabled
// with the form as typed, and the answer comes once the network carries:
// the user added and the form closed, or core's sentence next to the
// field with the form still open.
func TestAttachedFreeze_UserForm(t *testing.T) {
	for _, tt := range []struct {
		name, user string
		added      bool   // the form closes and the user is stored
		nameError  string // core's sentence next to the name
	}{
		{name: "added", user: "dave", added: true},
		{name: "refused", user: "bob", nameError: "already exists"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			s := h.c.users
			test.Tap(s.add)
			h.answered()
			f := s.form
			if f == nil {
				t.Fatal("Add user did not open the form")
			}
			test.Type(f.name.entry, tt.user)
			test.Type(f.fullName.entry, "Dave Bowman")
			h.tapWhileHeld(g, &f.save.Button, "Save")
			if s.form != f || f.name.entry.Text != tt.user || f.fullName.entry.Text != "Dave Bowman" {
				t.Errorf("while saving: form open %v, name %q, full name %q", s.form == f, f.name.entry.Text, f.fullName.entry.Text)
			}
			g.release()
			if tt.added {
				h.waitFor("the form to close", func() bool { return s.form == nil })
				if _, err := h.svc.User(tt.user); err != nil {
					t.Errorf("%s was not added: %v", tt.user, err)
				}
				return
			}
			h.waitFor("the refusal", func() bool { return f.name.msg.Text != "" })
			if !strings.Contains(f.name.msg.Text, tt.nameError) || s.form != f || f.save.Disabled() {
				t.Errorf("refusal %q, form open %v, Save disabled %v", f.name.msg.Text, s.form == f, f.save.Disabled())
			}
			if f.fullName.entry.Text != "Dave Bowman" {
				t.Errorf("the form lost what was typed: %q", f.fullName.entry.Text)
			}
		})
	}
}

// selectListed selects name in User Management.
func (h *harness) selectListed(name string) {
	h.t.Helper()
	for i, r := range h.c.users.shown {
		if r.Name == name {
			h.c.users.list.Select(i)
			return
		}
	}
	h.t.Fatalf("%s is not listed", name)
}

// TestAttachedFreeze_ResetPIN: Show PIN in Reset PIN comes back at once
// over a silent network, both ways of sending it wait disabled, and the
// new PIN shows once the network carries; closed meanwhile, the dialog
// stays closed.
func TestAttachedFreeze_ResetPIN(t *testing.T) {
	for _, tt := range []struct {
		name      string
		cancelled bool
	}{{"shown", false}, {"cancelled meanwhile", true}} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			s := h.c.users
			h.selectListed("bob")
			test.Tap(s.resetPIN)
			h.answered() // the PIN's length, read as it opens
			p := s.pinReset
			if p == nil {
				t.Fatal("Reset PIN did not open its dialog")
			}
			h.tapWhileHeld(g, &p.show.Button, "Show PIN")
			if !p.send.Disabled() {
				t.Error("Send by email is enabled while the reset is on its way")
			}
			if tt.cancelled {
				test.Tap(&p.cancel.Button)
				if s.pinReset != nil {
					t.Fatal("Cancel did not close the dialog while the reset was on its way")
				}
			}
			g.release()
			if tt.cancelled {
				// The reset went through: the service logs it.
				h.waitFor("the reset to reach the service", func() bool {
					u, err := h.svc.User("bob")
					return err == nil && u.PIN != "1357"
				})
				h.settle()
				if s.pinReset != nil || h.win.Canvas().Overlays().Top() != nil {
					t.Errorf("a late answer showed a dialog: %q", visibleTexts(h.win.Canvas().Overlays().Top()))
				}
				return
			}
			h.waitFor("the new PIN", func() bool { return p.pin.Visible() })
			if len(p.pin.Text) < 4 || !strings.Contains(p.result.Text, "Tell bob this PIN now") {
				t.Errorf("PIN %q, result %q", p.pin.Text, p.result.Text)
			}
		})
	}
}

// TestAttachedFreeze_Reprovision: Reprovision comes back at once over a
// silent network, waits disabled, and the dialog opens with a code once
// the network carries; in it, Send by email comes back at once too,
// waits disabled, and says where the message went.
func TestAttachedFreeze_Reprovision(t *testing.T) {
	h, g := frozenHarness(t)
	h.selectListed("bob")
	h.tapWhileHeld(g, h.c.users.reprovision, "Reprovision")
	if h.c.reprov != nil {
		t.Fatal("the dialog opened without a code")
	}
	g.release()
	h.waitFor("the Reprovision dialog", func() bool { return h.c.reprov != nil })
	d := h.c.reprov
	if p, _ := h.svc.PendingCodes(); p["bob"].IsZero() || d.issued.User != "bob" {
		t.Errorf("the dialog shows %+v; pending %v", d.issued, p)
	}
	if h.c.users.reprovision.Disabled() {
		t.Error("Reprovision stays disabled after the answer")
	}
	h.tapWhileHeld(g, &d.sendMail.Button, "Send by email")
	g.release()
	h.waitFor("the message queued", func() bool { return strings.HasPrefix(d.status.Text, "Queued for bob@example.org") })
	if d.sendMail.Disabled() {
		t.Error("Send by email stays disabled after the answer")
	}
	if msgs, err := h.svc.Outbox(); err != nil || len(msgs) != 1 || msgs[0].To != "bob@example.org" {
		t.Errorf("outbox %+v, %v", msgs, err)
	}
}

// TestAttachedFreeze_DeleteUser: Delete in the confirmation comes back at
// once over a silent network, Delete… waits disabled, and the list loses
// the user once the network carries.
func TestAttachedFreeze_DeleteUser(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.users
	h.selectListed("bob")
	test.Tap(s.del)
	g.hold()
	tapDialogButton(t, h.win, "Delete")
	if !g.holding() {
		t.Fatal("Delete held the window until the service answered")
	}
	if !s.del.Disabled() {
		t.Error("Delete… is enabled while the deletion is on its way")
	}
	g.release()
	h.waitFor("bob gone from the list", func() bool { return len(s.shown) == 0 })
	if _, err := h.svc.User("bob"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("bob is still stored: %v", err)
	}
}

// TestAttachedFreeze_ProfileSave: Save in New profile comes back at once
// over a silent network, waits disabled with the form as typed, and the
// profile is stored and the form closed once the network carries.
func TestAttachedFreeze_ProfileSave(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.profiles
	test.Tap(s.add)
	h.answered()
	f := s.form
	if f == nil {
		t.Fatal("New profile did not open the form")
	}
	test.Type(f.name.entry, "Sales phones")
	test.Type(f.entries["support_email"].entry, "help@example.org")
	h.tapWhileHeld(g, &f.save.Button, "Save")
	if s.form != f || f.name.entry.Text != "Sales phones" {
		t.Errorf("while saving: form open %v, name %q", s.form == f, f.name.entry.Text)
	}
	g.release()
	h.waitFor("the form to close", func() bool { return s.form == nil })
	if _, err := h.svc.Profile("Sales phones"); err != nil {
		t.Errorf("the profile was not stored: %v", err)
	}
}

// TestAttachedFreeze_OutboxRetry: Retry all failed on the Outbox comes
// back at once over a silent network, waits disabled, and says how many
// went back in the queue once the network carries.
func TestAttachedFreeze_OutboxRetry(t *testing.T) {
	h, g := frozenHarness(t)
	ic, err := h.svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.MailFailed(ic.MailID, "The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.", false); err != nil {
		t.Fatal(err)
	}
	s := h.c.outbox
	h.waitFor("the failed message listed", func() bool { return s.failedShown() == 1 && !s.retryAll.Disabled() })
	h.tapWhileHeld(g, s.retryAll, "Retry all failed")
	g.release()
	h.waitFor("the count", func() bool { return s.status.Visible() && s.status.Text != "" })
	if want := "1 failed message queued again."; s.status.Text != want {
		t.Errorf("status %q, want %q", s.status.Text, want)
	}
}

// TestAttachedFreeze_PairConsole: Make a code in Pair a console comes
// back at once over a silent network, waits disabled with the name as
// typed, and shows the code with where it is used once the network
// carries.
func TestAttachedFreeze_PairConsole(t *testing.T) {
	h, g := frozenHarness(t)
	h.svc.SetConsoleEndpoint("192.0.2.10:8444", func() string { return testFingerprint })
	s := h.c.server
	test.Tap(s.pairBtn)
	k := s.pairForm
	if k == nil {
		t.Fatal("Pair a console did not open its form")
	}
	name := k.fields["name"].entry
	test.Type(name, "desk-2")
	h.tapWhileHeld(g, &k.ok.Button, "Make a code")
	if name.Text != "desk-2" {
		t.Errorf("the form lost the name: %q", name.Text)
	}
	g.release()
	h.waitFor("the code shown", func() bool { return s.lastPairing.Name == "desk-2" && s.pairingBox != nil })
	for _, want := range []string{core.GroupPairingCode(s.lastPairing.Code), "provisio --connect 192.0.2.10:8444", testFingerprint} {
		if !strings.Contains(s.pairingBox.Text, want) {
			t.Errorf("the pairing dialog lacks %q:\n%s", want, s.pairingBox.Text)
		}
	}
}

// TestAttachedFreeze_SettingsApply: Apply on Policies → PIN & Lockout
// comes back at once over a silent network, Apply and Reset wait
// disabled with the value as typed, and "Saved." shows once the network
// carries.
func TestAttachedFreeze_SettingsApply(t *testing.T) {
	h, g := frozenHarness(t)
	f := h.c.pin
	fails := f.entries["policy.lockout.max_failures"]
	fails.entry.SetText("7")
	h.tapWhileHeld(g, f.apply, "Apply")
	if !f.reset.Disabled() || fails.entry.Text != "7" {
		t.Errorf("while saving: Reset disabled %v, value %q", f.reset.Disabled(), fails.entry.Text)
	}
	g.release()
	h.waitFor("Saved.", func() bool { return f.result.Text == "Saved." })
	if got := h.svc.Settings().MaxFailures; got != 7 {
		t.Errorf("the service stores max failures %d, want 7", got)
	}
}

// TestAttachedFreeze_AgentSave: Save in Add agent comes back at once
// over a silent network, waits disabled with the form as typed, and the
// agent is stored and the form closed once the network carries.
func TestAttachedFreeze_AgentSave(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.agents
	test.Tap(s.add)
	f := s.form
	if f == nil {
		t.Fatal("Add agent did not open the form")
	}
	test.Type(f.name.entry, "office-vpn")
	test.Type(f.host.entry, "127.0.0.1")
	h.tapWhileHeld(g, &f.save.Button, "Save")
	if s.form != f || f.name.entry.Text != "office-vpn" {
		t.Errorf("while saving: form open %v, name %q", s.form == f, f.name.entry.Text)
	}
	g.release()
	h.waitFor("the form to close", func() bool { return s.form == nil })
	if a := h.svc.Agents(); len(a) != 1 || a[0].Name != "office-vpn" {
		t.Errorf("stored %+v", a)
	}
}

// TestAttachedFreeze_RevokeConsole: Revoke in Paired consoles comes back
// at once over a silent network, Revoke… waits disabled, and the list
// shows the console revoked once the network carries.
func TestAttachedFreeze_RevokeConsole(t *testing.T) {
	h, g := frozenHarness(t)
	if _, err := (core.LocalAdmin{Svc: h.svc}).PairConsole("desk-2", core.RoleHelpdesk); err != nil {
		t.Fatal(err)
	}
	h.c.server.openConsoles()
	h.answered()
	var revoke *button
	walk(h.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if b, ok := o.(*button); ok && b.Text == "Revoke…" {
			revoke = b
		}
	})
	if revoke == nil {
		t.Fatal("Paired consoles offers no Revoke…")
	}
	test.Tap(revoke)
	g.hold()
	tapDialogButton(t, h.win, "Yes")
	if !g.holding() {
		t.Fatal("Revoke held the window until the service answered")
	}
	if !revoke.Disabled() {
		t.Error("Revoke… is enabled while the revocation is on its way")
	}
	g.release()
	h.waitFor("desk-2 revoked", func() bool {
		list, err := h.svc.Consoles()
		return err == nil && len(list) == 1 && list[0].State() == "revoked"
	})
	h.waitFor("the list read again", func() bool {
		return strings.Contains(strings.Join(visibleTexts(h.win.Canvas().Overlays().Top()), "\n"), "desk-2 · helpdesk · revoked")
	})
}

// TestAttachedFreeze_MailTransportApply: Apply on Mail Transport comes
// back at once over a silent network, Apply and Reset wait disabled with
// the values as typed, and the settings are saved once the network
// carries.
func TestAttachedFreeze_MailTransportApply(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.transport
	test.Type(s.host.entry, "smtp.example.org")
	test.Type(s.from.entry, "provisio@example.org")
	h.tapWhileHeld(g, s.apply, "Apply")
	if !s.reset.Disabled() || s.host.entry.Text != "smtp.example.org" {
		t.Errorf("while saving: Reset disabled %v, host %q", s.reset.Disabled(), s.host.entry.Text)
	}
	g.release()
	h.waitFor("Saved.", func() bool { return strings.HasPrefix(s.result.Text, "Saved.") })
	if m := h.svc.Settings().Mail; m.Host != "smtp.example.org" || m.From != "provisio@example.org" {
		t.Errorf("the service stores %+v", m)
	}
}
