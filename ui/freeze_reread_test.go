package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console rereads what an event or a screen asks for off the
// UI thread: the users list, the status bar, an open Reprovision dialog's
// user. Each test holds the network silent (freeze_test.go) and delivers
// events as the bridge does, h.c.apply on the test goroutine, which plays
// the UI thread: apply must come back while the network still carries
// nothing.

// applyWhileHeld holds the network silent and applies batch as the bridge
// does; it must come back before the network carries again.
func (h *harness) applyWhileHeld(g *gate, what string, batch ...core.Event) {
	h.t.Helper()
	g.hold()
	h.c.apply(batch)
	if !g.holding() {
		h.t.Fatalf("%s held the window until the service answered", what)
	}
}

// TestAttachedFreeze_RereadUsers: a users-changed event comes back at once
// over a silent network; the rows stay on screen, selection kept, until
// the answer; a burst of events holds one read, not one each; once the
// network carries, the list shows the change made elsewhere, the
// selection still on bob.
func TestAttachedFreeze_RereadUsers(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{usersOnly: true})
	s := h.c.users
	h.selectListed("bob")
	g.hold()
	// Made elsewhere: the service's own store, not over the held network.
	if _, err := h.svc.AddUser(core.User{Name: "dave", PIN: "2468"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.UpdateUser("bob", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	h.applyWhileHeld(g, "a users-changed event", core.Event{Kind: core.EventUsersChanged, User: "dave"})
	h.applyWhileHeld(g, "a second users-changed event", core.Event{Kind: core.EventUsersChanged, User: "bob"})
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way for two events, want 1", h.c.requests)
	}
	if len(s.shown) != 1 || s.empty.Visible() || s.selected != "bob" || s.lock.Text != "Lock" {
		t.Errorf("while reading: %d rows, empty label shown %v (%q), selected %q, lock button %q",
			len(s.shown), s.empty.Visible(), s.empty.Text, s.selected, s.lock.Text)
	}
	g.release()
	h.waitFor("dave listed", func() bool { return len(s.shown) == 2 })
	h.answered()
	if r, ok := s.selectedRow(); !ok || r.Name != "bob" || !r.Locked || s.lock.Text != "Unlock" {
		t.Errorf("selected %+v (%v), lock button %q; want bob, locked", r.User, ok, s.lock.Text)
	}
}

// TestAttachedFreeze_FirstUsersRead: an attached console opens at once
// over a silent network, its list saying it is loading (typing a search
// meanwhile keeps saying so), and shows the users once the network
// carries, or the sentence saying why they could not be read.
func TestAttachedFreeze_FirstUsersRead(t *testing.T) {
	for _, tt := range []struct {
		name    string
		stopped bool   // the service stops before the network carries
		want    string // the empty label once answered; "" for bob listed
	}{
		{name: "listed"},
		{name: "service gone", stopped: true, want: "The users could not be read: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &gate{}
			h, stop := newAttachedHarnessWith(t, attachedService{gate: g, holdOpen: true, usersOnly: true})
			if !g.holding() {
				t.Fatal("opening the console held the window until the service answered")
			}
			s := h.c.users
			if !s.empty.Visible() || s.empty.Text != loadingUsers {
				t.Errorf("while reading, the list says %q (shown %v)", s.empty.Text, s.empty.Visible())
			}
			test.Type(s.search, "b")
			if !s.empty.Visible() || s.empty.Text != loadingUsers {
				t.Errorf("a search while reading makes the list say %q (shown %v)", s.empty.Text, s.empty.Visible())
			}
			s.search.SetText("")
			// Added on the service's side while the read waits.
			if _, err := h.svc.AddUser(core.User{Name: "bob", PIN: "1357"}); err != nil {
				t.Fatal(err)
			}
			if tt.stopped {
				stop()
			}
			g.release()
			h.answered()
			if tt.want == "" {
				if len(s.shown) != 1 || s.empty.Visible() {
					t.Errorf("%d rows, empty label %q shown %v", len(s.shown), s.empty.Text, s.empty.Visible())
				}
				return
			}
			if len(s.shown) != 0 || !s.empty.Visible() || !strings.HasPrefix(s.empty.Text, tt.want) {
				t.Errorf("%d rows, empty label %q shown %v; want %q…", len(s.shown), s.empty.Text, s.empty.Visible(), tt.want)
			}
		})
	}
}

// TestAttachedFreeze_NoUserActionsWhileLoading: while an attached
// console's first read of the users is on its way (seconds over a slow
// network, up to the request timeout while an etcd site has lost its
// quorum), no user is selected, so Edit, Lock, Disable, Reset PIN,
// Revoke device, Delete and Reprovision wait greyed out and the bar says
// to select a user. They were enabled and did nothing when pressed.
func TestAttachedFreeze_NoUserActionsWhileLoading(t *testing.T) {
	g := &gate{}
	h, _ := newAttachedHarnessWith(t, attachedService{gate: g, holdOpen: true, usersOnly: true})
	s := h.c.users
	check := func(when string) {
		t.Helper()
		for _, b := range []*widget.Button{s.edit, s.lock, s.disable, s.resetPIN, s.revoke, s.del, s.reprovision} {
			if !b.Disabled() {
				t.Errorf("%s, with no user selected, %q is enabled", when, b.Text)
			}
		}
		if s.selInfo.Text != selectUserNote {
			t.Errorf("%s the action bar says %q, want %q", when, s.selInfo.Text, selectUserNote)
		}
	}
	if !g.holding() || s.empty.Text != loadingUsers {
		t.Fatalf("the first read is not on its way (list says %q)", s.empty.Text)
	}
	check("while loading")
	g.release()
	h.answered()
	check("once read")
}

// TestAttachedFreeze_RefreshStatus: an event that rewrites the status bar
// comes back at once over a silent network, with the settings' copy made
// stale by a change (reading the Site ID is then a request too). A
// health event asks off the UI thread, a burst of them once (healthy
// again, the users list's read too, once), and the bar shows the answer
// once the network carries; a lost connection asks
// nothing and shows what the bar last knew.
func TestAttachedFreeze_RefreshStatus(t *testing.T) {
	for _, tt := range []struct {
		name     string
		event    core.Event
		requests int    // on their way after two such events
		siteID   string // the status bar's once answered
	}{
		{"health", core.Event{Kind: core.EventHealth, Reason: "Changes cannot be saved. The disk is full. Logins and provisioning fail until this is fixed."}, 1, "hq-2"},
		// Healthy again, the users are read again too (the store may
		// have been out of reach): once for the two events, as the bar.
		{"healthy again", core.Event{Kind: core.EventHealth}, 2, "hq-2"},
		{"connection lost", core.Event{Kind: core.EventConnection, Reason: "The network is down."}, 0, "office"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarnessWith(t, attachedService{usersOnly: true})
			if err := h.c.svc.SetSetting("server.siteid", "hq-2"); err != nil {
				t.Fatal(err)
			}
			h.applyWhileHeld(g, "an event", tt.event)
			h.applyWhileHeld(g, "a second event", tt.event)
			if h.c.requests != tt.requests {
				t.Errorf("%d requests on their way for two events, want %d", h.c.requests, tt.requests)
			}
			g.release()
			h.answered()
			for _, want := range []string{"Site ID " + tt.siteID, "https://192.0.2.10:8443"} {
				if !strings.Contains(h.c.status.Text, want) {
					t.Errorf("status bar %q lacks %q", h.c.status.Text, want)
				}
			}
		})
	}
}

// openReprovisionFor opens the Reprovision dialog for name, listed.
func (h *harness) openReprovisionFor(name string) *reprovisionDialog {
	h.t.Helper()
	h.selectListed(name)
	test.Tap(h.c.users.reprovision)
	h.answered()
	if h.c.reprov == nil {
		h.t.Fatal("Reprovision did not open the dialog")
	}
	return h.c.reprov
}

// TestAttachedFreeze_ReprovisionFollows: the open Reprovision dialog asks
// the service what became of its user when the connection comes back
// after an outage (was the code used meanwhile?) and on a users-changed
// event (was the user deleted?); either comes back at once over a silent
// network, and the dialog says what happened once it carries. A dialog
// closed meanwhile is not touched.
func TestAttachedFreeze_ReprovisionFollows(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(h *harness, d *reprovisionDialog) error // made on the service while held
		event  core.Event
		told   func(d *reprovisionDialog) bool // the dialog says what happened
		want   string                          // its status then
		more   bool                            // New code still makes another
	}{
		{"provisioned during an outage", func(h *harness, d *reprovisionDialog) error {
			_, err := h.svc.Provision("192.0.2.7", "bob", d.issued.Code, "TestOS")
			return err
		}, core.Event{Kind: core.EventConnection}, func(d *reprovisionDialog) bool { return d.status.Text != statusWaiting },
			statusProvisioned + " (TestOS)", true},
		{"user deleted", func(h *harness, _ *reprovisionDialog) error { return h.svc.DeleteUser("bob") },
			core.Event{Kind: core.EventUsersChanged, User: "bob"}, func(d *reprovisionDialog) bool { return d.userDeleted },
			statusDeleted, false},
	} {
		for _, closed := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: ", closed meanwhile"}[closed], func(t *testing.T) {
				h, g := frozenHarnessWith(t, attachedService{usersOnly: true})
				d := h.openReprovisionFor("bob")
				g.hold()
				if err := tt.change(h, d); err != nil {
					t.Fatal(err)
				}
				h.applyWhileHeld(g, tt.name, tt.event)
				if d.status.Text != statusWaiting {
					t.Errorf("while asking, the dialog says %q", d.status.Text)
				}
				if closed {
					test.Tap(d.closeBtn)
				}
				g.release()
				h.answered()
				h.settle()
				if closed {
					if tt.told(d) {
						t.Errorf("the closed dialog was told: %q", d.status.Text)
					}
					return
				}
				if d.status.Text != tt.want || d.newCode.Disabled() == tt.more {
					t.Errorf("the dialog says %q (want %q), New code disabled %v", d.status.Text, tt.want, d.newCode.Disabled())
				}
			})
		}
	}
}

// TestAttachedFreeze_FollowCertificate: on a configuration change the
// console asks for the certificate the service's server presents off the
// UI thread; the status bar's line and the open About box show the new
// fingerprint once the network carries.
func TestAttachedFreeze_FollowCertificate(t *testing.T) {
	cert := &servedCert{st: core.CertificateStatus{Fingerprint: "11:22:33", NotAfter: time.Now().AddDate(1, 0, 0)}}
	h, g := frozenHarnessWith(t, attachedService{certificate: cert, usersOnly: true})
	h.c.followCertificate()
	h.answered()
	h.c.showAbout()
	h.changeOnService(func() error { return h.svc.SetSetting("server.name", "hq") })
	cert.setFingerprint("44:55:66")
	h.applyWhileHeld(g, "a configuration change", core.Event{Kind: core.EventConfigChanged})
	if got := h.c.certLine.Text; !strings.Contains(got, "11:22:33") {
		t.Errorf("the certificate line changed before the service answered: %q", got)
	}
	g.release()
	h.answered()
	if got := h.c.certLine.Text; got != "Certificate SHA-256 44:55:66" {
		t.Errorf("certificate line %q", got)
	}
	if got := h.c.aboutBox.fingerprint.Text; got != "44:55:66" {
		t.Errorf("About shows %q", got)
	}
}
