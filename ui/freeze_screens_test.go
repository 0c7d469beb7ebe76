package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// The attached console's screens read the service again off the UI
// thread when the bridge tells them something changed, and read it the
// first time as they are built (reread): the same silent network as
// freeze_test.go.

// changeOnService makes change on the service directly and waits until
// the attached console's client has heard of it, so what the client
// keeps of the settings and the agents is forgotten (adminapi.Console
// drops it on a configuration change) and the next read of them is a
// request. The console's bridge has the event queued, not applied: the
// test delivers what it wants, on the test goroutine.
func (h *harness) changeOnService(change func() error) {
	h.t.Helper()
	ch, cancel := h.c.svc.Subscribe()
	defer cancel()
	// The stream connects by itself: a note in the log until one comes
	// says it listens, so the change is not published before it does.
	for heard := false; !heard; {
		if err := h.svc.Log(core.LevelInfo, "", "test: is the stream open?"); err != nil {
			h.t.Fatal(err)
		}
		select {
		case <-ch:
			heard = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := change(); err != nil {
		h.t.Fatal(err)
	}
	deadline := time.After(waitLimit)
	for {
		select {
		case e := <-ch:
			// The audit log's notes come first, and the pings'.
			if e.Kind != core.EventLog {
				return
			}
		case <-deadline:
			h.t.Fatal("the console did not hear of the change")
		}
	}
}

// rereadCase is one screen that reads the service again: change is made
// on the service directly, deliver tells the screen as the bridge does
// (Console.apply), shown says whether the screen shows the change.
type rereadCase struct {
	name    string
	change  func(h *harness) error
	deliver func(h *harness)
	shown   func(h *harness) bool
}

// rereadCases are the screens Console.apply has read the service again.
// They deliver to each screen as apply does, not through apply (but for
// the Outbox's event, which rereads the Outbox alone), so each case holds
// that screen's read alone: apply also rereads the user list and the
// status bar (users.go, status.go), which freeze_reread_test.go holds on
// their own.
func rereadCases() []rereadCase {
	setting := func(key, value string) func(h *harness) error {
		return func(h *harness) error { return h.svc.SetSetting(key, value) }
	}
	return []rereadCase{
		{
			name:    "outbox",
			change:  func(h *harness) error { _, err := h.svc.MailProvisionCode("bob"); return err },
			deliver: func(h *harness) { h.c.apply([]core.Event{{Kind: core.EventOutboxChanged}}) },
			shown: func(h *harness) bool {
				return len(h.c.outbox.shown) == 1 && h.c.outbox.shown[0].To == "bob@example.org"
			},
		},
		{
			name: "profiles",
			change: func(h *harness) error {
				p := core.Profile{Name: "Sales phones", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
				p.SupportEmail = "sales@example.org"
				return h.svc.AddProfile(p)
			},
			deliver: func(h *harness) { h.c.profiles.refresh() },
			shown:   func(h *harness) bool { return len(h.c.profiles.profiles) == 2 },
		},
		{
			name: "agents",
			change: func(h *harness) error {
				return h.svc.PutAgent(core.Agent{Name: "office-vpn", Host: "127.0.0.1", Secret: "s3cret-s3cret", Modes: []string{core.AgentModeMobile}})
			},
			deliver: func(h *harness) { h.c.agents.refresh() },
			shown: func(h *harness) bool {
				s := h.c.agents
				return len(s.agents) == 1 && s.agents[0].Name == "office-vpn" && s.hosts["office-vpn"] == "127.0.0.1"
			},
		},
		{
			name:    "server",
			change:  setting(keyServerName, "hq"),
			deliver: func(h *harness) { h.c.server.configChanged() },
			shown:   func(h *harness) bool { return h.c.server.name.entry.Text == "hq" },
		},
		{
			name:    "backups",
			change:  setting("backup.keep", "5"),
			deliver: func(h *harness) { h.c.backups.configChanged() },
			shown:   func(h *harness) bool { return h.c.backups.form.entries["backup.keep"].entry.Text == "5" },
		},
		{
			name:    "mail transport",
			change:  setting(keySMTPHost, "smtp.example.org"),
			deliver: func(h *harness) { h.c.transport.configChanged() },
			shown:   func(h *harness) bool { return h.c.transport.host.entry.Text == "smtp.example.org" },
		},
		{
			name:    "PIN & Lockout",
			change:  setting("policy.lockout.max_failures", "7"),
			deliver: func(h *harness) { h.c.pin.configChanged() },
			shown:   func(h *harness) bool { return h.c.pin.entries["policy.lockout.max_failures"].entry.Text == "7" },
		},
	}
}

// TestAttachedReread_Screens: told of a change made elsewhere, each
// screen of an attached console comes back at once over a silent
// network, keeps what it showed meanwhile, and shows the change once the
// network carries.
func TestAttachedReread_Screens(t *testing.T) {
	for _, tt := range rereadCases() {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			if tt.shown(h) {
				t.Fatal("the screen shows the change before it was made")
			}
			h.changeOnService(func() error { return tt.change(h) })
			g.hold()
			tt.deliver(h)
			if !g.holding() {
				t.Fatal("the reread held the window until the service answered")
			}
			if tt.shown(h) {
				t.Error("the screen changed before the service answered")
			}
			g.release()
			h.answered()
			if !tt.shown(h) {
				t.Error("the screen does not show the change made on the service")
			}
		})
	}
}

// TestAttachedReread_OneRequestForABurst: events that come while a
// reread is on its way hold one request more at most, not one each.
func TestAttachedReread_OneRequestForABurst(t *testing.T) {
	h, g := frozenHarness(t)
	if _, err := h.svc.MailProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	g.hold()
	for range 5 {
		h.c.apply([]core.Event{{Kind: core.EventOutboxChanged}})
	}
	if !g.holding() {
		t.Fatal("the rereads held the window until the service answered")
	}
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way for five events, want 1", h.c.requests)
	}
	g.release()
	h.answered()
	if len(h.c.outbox.shown) != 1 {
		t.Errorf("the outbox lists %d messages, want 1", len(h.c.outbox.shown))
	}
}

// TestAttachedReread_ShowsAnswersWhileEventsKeepComing: events that
// keep coming faster than the answers do not keep the screen as it was:
// each answer is shown, and the next read asked after it.
func TestAttachedReread_ShowsAnswersWhileEventsKeepComing(t *testing.T) {
	h, _ := frozenHarness(t)
	if _, err := h.svc.MailProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the message listed", func() bool {
		h.c.apply([]core.Event{{Kind: core.EventOutboxChanged}})
		return len(h.c.outbox.shown) == 1
	})
}

// TestAttachedReread_KeepsWhatWasTyped: a field typed into while a
// reread is on its way, and not applied, keeps what was typed when the
// answer comes; the change made elsewhere waits until the form is
// applied or reset.
func TestAttachedReread_KeepsWhatWasTyped(t *testing.T) {
	for _, tt := range []struct {
		name   string
		key    string // set on the service
		value  string
		typed  func(h *harness) *widget.Entry // the field the person types in
		reread func(h *harness)
	}{
		{"PIN & Lockout", "policy.lockout.max_failures", "7",
			func(h *harness) *widget.Entry { return h.c.pin.entries["policy.lockout.lock_seconds"].entry },
			func(h *harness) { h.c.pin.configChanged() }},
		{"server", keyServerName, "hq",
			func(h *harness) *widget.Entry { return h.c.server.siteID.entry },
			func(h *harness) { h.c.server.configChanged() }},
		{"mail transport", keySMTPHost, "smtp.example.org",
			func(h *harness) *widget.Entry { return h.c.transport.from.entry },
			func(h *harness) { h.c.transport.configChanged() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			h.changeOnService(func() error { return h.svc.SetSetting(tt.key, tt.value) })
			g.hold()
			tt.reread(h)
			if !g.holding() {
				t.Fatal("the reread held the window until the service answered")
			}
			e := tt.typed(h)
			e.SetText("typed-here")
			g.release()
			h.answered()
			if e.Text != "typed-here" {
				t.Errorf("the reread overwrote what was typed: %q", e.Text)
			}
		})
	}
}

// TestAttachedReread_FirstRead: a screen built over a silent network
// comes back at once and says it is reading, its inputs disabled so
// nothing is typed into an empty form; once the network carries it
// shows what the service holds, ready to edit.
func TestAttachedReread_FirstRead(t *testing.T) {
	for _, tt := range []struct {
		name string
		// build builds the screen and returns the text that says it is
		// reading, an input that waits disabled (nil: none) and whether
		// the screen shows what the service holds.
		build func(h *harness) (reading func() string, input fyne.Disableable, shown func() bool)
		want  string
	}{
		{"outbox", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newOutboxScreen(h.c)
			return func() string { return s.empty.Text }, nil, func() bool { return len(s.shown) == 1 }
		}, outboxReading},
		{"profiles", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newProfilesScreen(h.c)
			return func() string { return s.problem.Text }, nil, func() bool { return len(s.profiles) == 1 && !s.problem.Visible() }
		}, profilesReading},
		{"agents", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newAgentsScreen(h.c)
			return func() string { return s.empty.Text }, nil, func() bool { return len(s.agents) == 1 }
		}, agentsReading},
		{"server", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newServerScreen(h.c)
			return func() string { return s.result.Text }, s.name.entry, func() bool { return s.name.entry.Text == "hq" && s.result.Text == "" }
		}, readingSettings},
		{"backups", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newBackupScreen(h.c)
			return func() string { return s.form.result.Text + "|" + s.last.Text }, s.form.apply,
				func() bool { return s.form.entries["backup.keep"].entry.Text == "5" && s.last.Text != backupReading }
		}, readingSettings + "|" + backupReading},
		{"mail transport", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			s := newTransportScreen(h.c)
			return func() string { return s.result.Text }, s.template.subject.entry,
				func() bool { return s.host.entry.Text == "smtp.example.org" && !s.apply.Disabled() }
		}, readingSettings},
		{"PIN & Lockout", func(h *harness) (func() string, fyne.Disableable, func() bool) {
			f := newPINPolicy(h.c)
			return func() string { return f.result.Text }, f.entries["policy.lockout.max_failures"].entry,
				func() bool { return f.entries["policy.lockout.max_failures"].entry.Text == "7" }
		}, readingSettings},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			if _, err := h.svc.MailProvisionCode("bob"); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.PutAgent(core.Agent{Name: "office-vpn", Host: "127.0.0.1", Secret: "s3cret-s3cret", Modes: []string{core.AgentModeMobile}}); err != nil {
				t.Fatal(err)
			}
			h.changeOnService(func() error {
				return h.svc.ChangeSettings(map[string]string{keyServerName: "hq", "backup.keep": "5",
					keySMTPHost: "smtp.example.org", "policy.lockout.max_failures": "7"}, "test")
			})
			g.hold()
			reading, input, shown := tt.build(h)
			if !g.holding() {
				t.Fatal("building the screen held the window until the service answered")
			}
			if got := reading(); got != tt.want {
				t.Errorf("while reading the screen says %q, want %q", got, tt.want)
			}
			if input != nil && !input.Disabled() {
				t.Error("an input is enabled before the form was read")
			}
			g.release()
			h.answered()
			if !shown() {
				t.Errorf("the screen does not show what the service holds; it says %q", reading())
			}
			if input != nil && input.Disabled() {
				t.Error("the input stays disabled after the read")
			}
		})
	}
}

// TestAttachedReread_ServerCertificate: the certificate the service's
// server presents is read off the UI thread with the settings, on a
// change and when the Server screen is shown, and shown when it comes.
func TestAttachedReread_ServerCertificate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		deliver func(h *harness)
	}{
		{"changed", func(h *harness) { h.c.server.configChanged() }},
		{"shown", func(h *harness) { h.c.showScreen(h.c.server.content) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert := &servedCert{st: core.CertificateStatus{Fingerprint: "11:22:33", FromFiles: true, Names: []string{"hq.example.org"},
				NotAfter: time.Now().AddDate(1, 0, 0)}}
			h, g := frozenHarnessWith(t, attachedService{certificate: cert})
			s := h.c.server
			h.changeOnService(func() error { return h.svc.SetSetting(keyServerName, "hq") })
			cert.setFingerprint("44:55:66")
			g.hold()
			tt.deliver(h)
			if !g.holding() {
				t.Fatal("the reread held the window until the service answered")
			}
			if s.fingerprint.Text != "11:22:33" {
				t.Errorf("the fingerprint changed before the service answered: %q", s.fingerprint.Text)
			}
			g.release()
			h.answered()
			if !strings.Contains(s.certInUse.Text, "your certificate, for hq.example.org") || s.fingerprint.Text != "44:55:66" {
				t.Errorf("certificate %q, fingerprint %q", s.certInUse.Text, s.fingerprint.Text)
			}
		})
	}
}
