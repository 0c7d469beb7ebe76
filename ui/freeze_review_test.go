package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// Defects found reviewing the attached console's requests off the UI
// thread (request.go, reread.go): what an answer does when it lands after
// the person went on, or after another answer.

// stopStatusClock ends the status bar's clock, so that no UI work comes
// from it while a test holds an answer back (answerHeldBack).
func (h *harness) stopStatusClock() {
	h.t.Helper()
	close(h.c.haltStatus)
	<-h.c.statusDone
	h.c.haltStatus = make(chan struct{}) // Close closes it again
}

// waitRequests runs queued UI work until n of the console's requests are
// on their way, failing after waitLimit with the count it saw last (a
// timeout alone told nothing).
func (h *harness) waitRequests(n int, what string) {
	h.t.Helper()
	deadline := time.After(waitLimit)
	for h.c.requests != n {
		select {
		case fn := <-h.queue:
			fn()
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s: %d requests on their way, want %d", what, h.c.requests, n)
		}
	}
}

// answerHeldBack runs ask, which sends one request, and returns the UI
// work that applies its answer, held back from the UI thread until the
// test runs it: the request was asked, and answered by the service,
// before what the test does next, and its answer is applied after, as a
// network may deliver it. The status clock must be stopped
// (stopStatusClock) and the service otherwise idle, so the answer is the
// only UI work that comes meanwhile; or ask does nothing, and what is
// held back is the clock's next tick.
func (h *harness) answerHeldBack(ask func()) (apply func()) {
	h.t.Helper()
	ch := make(chan func(), 1)
	h.parking.Store(&ch)
	defer h.parking.Store(nil)
	ask()
	deadline := time.After(waitLimit)
	for {
		select {
		case fn := <-ch:
			return fn
		case fn := <-h.queue:
			fn() // queued before: the UI thread goes on meanwhile
		case <-deadline:
			h.t.Fatal("the service did not answer")
			return nil
		}
	}
}

// TestAttachedFreeze_TypedWhileSaving: what the person sees in a form when
// the answer to Apply, Reset or Save comes is what stays. The form waits
// disabled with its buttons: typed into meanwhile, the answer replaced the
// screen's fields with the saved values, and closed a dialog without
// saving what was typed after Save, both without a word.
func TestAttachedFreeze_TypedWhileSaving(t *testing.T) {
	saved := func(h *harness) bool { return h.c.requests == 0 }
	for _, tt := range []struct {
		name string
		// ready makes a change worth saving and returns the button that
		// sends it and another field, typed into while it is on its way.
		ready func(h *harness) (press fyne.Tappable, other *widget.Entry)
		// kept says whether what other showed (seen) when the answer came
		// is what the form shows, or what was stored, now.
		kept func(h *harness, other *widget.Entry, seen string) bool
	}{
		{"PIN & Lockout, Apply", func(h *harness) (fyne.Tappable, *widget.Entry) {
			f := h.c.pin
			f.entries["policy.lockout.max_failures"].entry.SetText("7")
			return f.apply, f.entries["policy.lockout.max_locks"].entry
		}, shows},
		{"PIN & Lockout, Reset", func(h *harness) (fyne.Tappable, *widget.Entry) {
			f := h.c.pin
			f.entries["policy.lockout.max_failures"].entry.SetText("7")
			return f.reset, f.entries["policy.lockout.max_locks"].entry
		}, shows},
		{"Server, Apply", func(h *harness) (fyne.Tappable, *widget.Entry) {
			h.c.server.name.entry.SetText("hq")
			return h.c.server.apply, h.c.server.siteID.entry
		}, shows},
		{"Server, Reset", func(h *harness) (fyne.Tappable, *widget.Entry) {
			h.c.server.name.entry.SetText("hq")
			return h.c.server.reset, h.c.server.siteID.entry
		}, shows},
		{"Mail Transport, Apply", func(h *harness) (fyne.Tappable, *widget.Entry) {
			s := h.c.transport
			s.host.entry.SetText("smtp.example.org")
			s.from.entry.SetText("provisio@example.org")
			return s.apply, s.fromName.entry
		}, shows},
		{"Mail Transport, Reset", func(h *harness) (fyne.Tappable, *widget.Entry) {
			s := h.c.transport
			s.host.entry.SetText("smtp.example.org")
			return s.reset, s.fromName.entry
		}, shows},
		{"template, Apply", func(h *harness) (fyne.Tappable, *widget.Entry) {
			t := h.c.transport.template
			t.subject.entry.SetText("Your code, {username}")
			return t.apply, &t.text.Entry
		}, shows},
		{"template, Reset", func(h *harness) (fyne.Tappable, *widget.Entry) {
			t := h.c.transport.template
			t.subject.entry.SetText("Your code, {username}")
			return t.reset, &t.text.Entry
		}, shows},
		{"Edit user, Save", func(h *harness) (fyne.Tappable, *widget.Entry) {
			h.selectListed("bob")
			test.Tap(h.c.users.edit)
			h.answered()
			f := h.c.users.form
			f.fullName.entry.SetText("Bob Dylan")
			return f.save, f.mobile.entry
		}, func(h *harness, _ *widget.Entry, seen string) bool {
			u, err := h.svc.User("bob")
			return err == nil && u.FullName == "Bob Dylan" && u.Mobile == seen
		}},
		{"Add agent, Save", func(h *harness) (fyne.Tappable, *widget.Entry) {
			test.Tap(h.c.agents.add)
			f := h.c.agents.form
			f.name.entry.SetText("office-vpn")
			f.host.entry.SetText("127.0.0.1")
			return f.save, f.group.entry
		}, func(h *harness, _ *widget.Entry, seen string) bool {
			a, ok := storedAgent(h.svc, "office-vpn")
			return ok && (a.Group == seen || seen == "" && a.Group == core.GroupAny) // an empty group is ANY
		}},
		{"New profile, Save", func(h *harness) (fyne.Tappable, *widget.Entry) {
			test.Tap(h.c.profiles.add)
			h.answered()
			f := h.c.profiles.form
			f.name.entry.SetText("Sales phones")
			f.entries["support_email"].entry.SetText("help@example.org")
			return f.save, f.entries["support_phone"].entry
		}, func(h *harness, _ *widget.Entry, seen string) bool {
			p, err := h.svc.Profile("Sales phones")
			return err == nil && p.SupportPhone == seen
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			press, other := tt.ready(h)
			// The settings' copy goes stale, so what Apply and Reset read
			// first is a request too.
			h.staleSettings("server.name", "elsewhere")
			h.tapWhileHeld(g, press, tt.name)
			test.Type(other, "9")
			seen := other.Text
			g.release()
			h.waitFor("the answer", func() bool { return saved(h) })
			if !tt.kept(h, other, seen) {
				t.Errorf("the field read %q when the answer came, and that was not kept: it reads %q now, or the service stored another value", seen, other.Text)
			}
		})
	}
}

// shows says the field shows now what it showed when the answer came.
func shows(_ *harness, other *widget.Entry, seen string) bool { return other.Text == seen }

// TestAttachedFreeze_ProfilesOpenOnce: a read of the Profiles list that
// lands while Assign to group… or New profile reads what its dialog needs
// enables the buttons again by the list's own rules; a second tap then
// opens nothing more. It opened a second Assign dialog, whose fields the
// first one's buttons then used, or the Edit form under the New one,
// which then took its Save for a cancelled form's.
func TestAttachedFreeze_ProfilesOpenOnce(t *testing.T) {
	for _, tt := range []struct {
		name          string
		first, second func(s *profilesScreen) *widget.Button
	}{
		{"Assign to group… twice", func(s *profilesScreen) *widget.Button { return s.assign },
			func(s *profilesScreen) *widget.Button { return s.assign }},
		{"Edit while New profile reads", func(s *profilesScreen) *widget.Button { return s.add },
			func(s *profilesScreen) *widget.Button { return s.edit }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarness(t)
			s := h.c.profiles
			h.addSalesProfile()
			h.stopStatusClock()
			read := h.answerHeldBack(s.refresh)
			h.tapWhileHeld(g, tt.first(s), tt.name)
			read() // the list's answer: Assign, Edit and New profile follow the selection again
			test.Tap(tt.second(s))
			g.release()
			h.answered()
			if n := len(h.c.modals); n != 1 {
				t.Errorf("%d dialogs open, want one", n)
			}
		})
	}
}

// addSalesProfile adds the profile "Sales phones" on the service and
// selects it on the Profiles screen.
func (h *harness) addSalesProfile() {
	h.t.Helper()
	p := core.Profile{Name: "Sales phones", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	p.SupportEmail = "sales@example.org"
	if err := h.svc.AddProfile(p); err != nil {
		h.t.Fatal(err)
	}
	s := h.c.profiles
	h.waitFor("Sales phones listed", func() bool { return len(s.profiles) == 2 })
	h.answered()
	for i, p := range s.profiles {
		if p.Name == "Sales phones" {
			s.list.Select(i)
		}
	}
}

// TestAttachedFreeze_ActsOnTheReadAfterTheChange: on Profiles and Agents
// what follows a change (the profile or agent saved selected, the focus
// moved off Delete… once the row is gone) waits for a read that saw the
// change. A read asked before it and answered after it took its place:
// the one saved was not selected, and the focus stayed on a Delete…
// button the next read disabled.
func TestAttachedFreeze_ActsOnTheReadAfterTheChange(t *testing.T) {
	for _, tt := range []struct {
		name string
		// ready readies the screen and returns its refresh and the change,
		// which sends one request.
		ready func(h *harness) (refresh, change func())
		done  func(h *harness) bool
	}{
		{"new profile selected", func(h *harness) (func(), func()) {
			s := h.c.profiles
			test.Tap(s.add)
			h.answered()
			s.form.name.entry.SetText("Sales phones")
			s.form.entries["support_email"].entry.SetText("help@example.org")
			return s.refresh, func() { test.Tap(s.form.save) }
		}, func(h *harness) bool { return h.c.profiles.selected == "Sales phones" }},
		{"new agent selected", func(h *harness) (func(), func()) {
			s := h.c.agents
			test.Tap(s.add)
			s.form.name.entry.SetText("office-vpn")
			s.form.host.entry.SetText("127.0.0.1")
			return s.refresh, func() { test.Tap(s.form.save) }
		}, func(h *harness) bool { return h.c.agents.selected == "office-vpn" }},
		{"profile deleted, focus off Delete…", func(h *harness) (func(), func()) {
			s := h.c.profiles
			h.addSalesProfile()
			h.c.showScreen(s.content)
			h.win.Canvas().Focus(s.del)
			h.press(fyne.KeySpace)
			return s.refresh, func() { s.confirm.Confirm() }
		}, func(h *harness) bool { return h.win.Canvas().Focused() == h.c.profiles.list }},
		{"agent deleted, focus off Delete…", func(h *harness) (func(), func()) {
			s := h.c.agents
			if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "10.0.0.1", Secret: "vpn-secret-1"}); err != nil {
				h.t.Fatal(err)
			}
			s.refresh()
			h.waitFor("vpn listed", func() bool { return len(s.agents) == 1 })
			h.answered()
			h.c.showScreen(s.content)
			s.list.Select(0)
			h.win.Canvas().Focus(s.del)
			h.press(fyne.KeySpace)
			return s.refresh, func() { s.confirm.Confirm() }
		}, func(h *harness) bool { return h.win.Canvas().Focused() == h.c.agents.add }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := frozenHarness(t)
			refresh, change := tt.ready(h)
			h.stopStatusClock()
			// Asked and answered before the change; applied after its
			// answer.
			read := h.answerHeldBack(refresh)
			change()
			h.waitRequests(1, "the change's answer")
			read()
			h.answered()
			if !tt.done(h) {
				t.Errorf("profile selected %q, agent selected %q, focus on %s",
					h.c.profiles.selected, h.c.agents.selected, describeObj(h.win.Canvas().Focused()))
			}
		})
	}
}

// TestAttachedFreeze_FormClientLogReread: uploads while bob's Edit form
// is open read the client log again one request at a time, so answers
// cannot land in another order than asked (an older count last); once
// the network carries, the form counts both.
func TestAttachedFreeze_FormClientLogReread(t *testing.T) {
	h, g := frozenHarness(t)
	device, f := h.withClientLogs("09:00 app opened")
	if _, err := h.svc.UploadClientLog("127.0.0.1", device, "", "09:10 sent again"); err != nil {
		t.Fatal(err)
	}
	h.applyWhileHeld(g, "an upload", core.Event{Kind: core.EventClientLog, User: "bob"})
	h.applyWhileHeld(g, "another upload", core.Event{Kind: core.EventClientLog, User: "bob"})
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way for two uploads, want 1", h.c.requests)
	}
	g.release()
	h.answered()
	if !strings.Contains(f.clientLog.Text, "2 uploads") {
		t.Errorf("the form says %q", f.clientLog.Text)
	}
}

// TestAttachedFreeze_StatusFollowsTheNewestRead: the status bar and an open
// About box show what the newest read found. The status clock reads the
// certificate and the bar's facts on its goroutine; a tick read before a
// change and applied after the change's own read put the old fingerprint
// and Site ID back, until the next tick (30 s). The Server screen's read
// and a pairing code made while the remote console listener is closed
// read the certificate served too; each took a new fingerprint by itself,
// and an open About box never followed it (the event's own read then
// found nothing new).
func TestAttachedFreeze_StatusFollowsTheNewestRead(t *testing.T) {
	for _, tt := range []struct {
		name string
		// change changes the certificate served and the Site ID, and
		// lets the console learn of them, with the clock's tick read
		// before (held back) or not.
		change func(h *harness, cert *servedCert)
	}{
		{"a tick read before a change", func(h *harness, cert *servedCert) {
			tick := h.answerHeldBack(func() {})
			h.stopStatusClock()
			cert.setFingerprint("44:55:66")
			h.changeOnService(func() error { return h.svc.SetSetting("server.siteid", "hq-2") })
			h.refreshStatusNow()
			tick()
		}},
		{"the Server screen's read first", func(h *harness, cert *servedCert) {
			h.stopStatusClock()
			cert.setFingerprint("44:55:66")
			// A configuration event makes both read it; the bar's own
			// read is answered last.
			follow := h.answerHeldBack(h.c.followCertificate)
			h.c.server.configChanged()
			h.waitFor("the Server screen's read", func() bool { return h.c.requests == 1 })
			follow()
		}},
		{"a pairing code made", func(h *harness, cert *servedCert) {
			// A certificate file renewed in place: no event says so.
			h.stopStatusClock()
			cert.setFingerprint("44:55:66")
			s := h.c.server
			test.Tap(s.pairBtn)
			s.pairForm.fields["name"].entry.SetText("desk-2")
			test.Tap(&s.pairForm.ok.Button)
			h.answered()
			if !strings.Contains(s.pairingBox.Text, "44:55:66") {
				t.Errorf("the pairing code names another certificate:\n%s", s.pairingBox.Text)
			}
			// What a configuration event makes it read again.
			h.changeOnService(func() error { return h.svc.SetSetting("server.siteid", "hq-2") })
			h.refreshStatusNow()
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert := &servedCert{st: core.CertificateStatus{Fingerprint: "11:22:33", NotAfter: time.Now().AddDate(1, 0, 0)}}
			h, _ := frozenHarnessWith(t, attachedService{certificate: cert})
			h.c.showAbout() // it reads the certificate served too
			h.answered()
			tt.change(h, cert)
			h.answered()
			if got := h.c.certLine.Text; got != "Certificate SHA-256 44:55:66" {
				t.Errorf("certificate line %q", got)
			}
			if got := h.c.aboutBox.fingerprint.Text; got != "44:55:66" {
				t.Errorf("About shows %q", got)
			}
			if got := h.c.status.Text; tt.name != "the Server screen's read first" && !strings.Contains(got, "Site ID hq-2") {
				t.Errorf("status bar %q", got)
			}
		})
	}
}

// refreshStatusNow waits until the status bar shows the Site ID the
// last change set, and every answer has been applied.
func (h *harness) refreshStatusNow() {
	h.t.Helper()
	h.waitFor("the change shown", func() bool { return strings.Contains(h.c.status.Text, "Site ID hq-2") })
	h.answered()
}

// TestAttachedFreeze_ReprovisionOnce: a read of the users list that lands
// while Reprovision's first request is on its way enables the button
// again by the list's own rules; a second tap then sends nothing more.
// It asked again and made a second code, replacing the first, or a
// second "already has a phone" question.
func TestAttachedFreeze_ReprovisionOnce(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{usersOnly: true})
	s := h.c.users
	h.selectListed("bob")
	h.stopStatusClock()
	read := h.answerHeldBack(s.refresh)
	h.tapWhileHeld(g, s.reprovision, "Reprovision")
	read() // the list's answer: Reprovision follows the selection again
	n := h.c.requests
	test.Tap(s.reprovision)
	if h.c.requests != n {
		t.Errorf("a second tap while the first was on its way sent %d more requests", h.c.requests-n)
	}
	g.release()
	h.answered()
	if d := h.c.reprov; d == nil || d.done || s.reprovision.Disabled() {
		t.Errorf("after the answer: dialog %v, Reprovision disabled %v", d != nil, s.reprovision.Disabled())
	}
}
