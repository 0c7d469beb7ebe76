package ui

import (
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The Log screen, the Client log dialog and the first-run setup of an
// attached console ask the service off the UI thread, on the same silent
// network as freeze_test.go.

// logged writes message to the service's audit log, as something done
// elsewhere would, and returns the entry.
func (h *harness) logged(message string) core.LogEntry {
	h.t.Helper()
	if err := h.svc.Log(core.LevelInfo, "", "%s", message); err != nil {
		h.t.Fatal(err)
	}
	tail, err := h.svc.LogTail(1)
	if err != nil || len(tail) != 1 || tail[0].Message != message {
		h.t.Fatalf("the service's newest entry: %+v, %v", tail, err)
	}
	return tail[0]
}

// countSeq says how often the screen holds the entry numbered seq.
func countSeq(s *logScreen, seq uint64) int {
	n := 0
	for _, e := range s.entries {
		if e.Seq == seq {
			n++
		}
	}
	return n
}

// TestAttachedFreeze_LogReload: a gap in the log's events makes the Log
// screen read the newest entries again; over a silent network the event
// comes back at once, the screen says it is reading and shows what
// arrives meanwhile. Once the answer comes, every entry is there once:
// those the answer holds too (read after their events came) and one that
// came after the service answered (an entry the answer lacks).
func TestAttachedFreeze_LogReload(t *testing.T) {
	h, g := frozenHarness(t)
	s := h.c.log
	b := h.logged("test: entry B")
	c := h.logged("test: entry C")
	// The console hears of C only: B's event was dropped.
	h.applyWhileHeld(g, "a gap in the log's events", core.Event{Kind: core.EventLog, Log: c})
	if !s.loading || s.detail.Text != logLoading {
		t.Errorf("while reading: loading %v, detail line %q", s.loading, s.detail.Text)
	}
	// Logged on the service while the read waits: its event comes
	// before the answer, which holds it too.
	d := h.logged("test: entry D")
	// Logged after the service read the tail: the answer lacks it.
	e := core.LogEntry{Seq: d.Seq + 1, Time: d.Time, Level: core.LevelInfo, Message: "test: entry E"}
	h.c.apply([]core.Event{{Kind: core.EventLog, Log: d}, {Kind: core.EventLog, Log: c}, {Kind: core.EventLog, Log: e}})
	if !g.holding() {
		t.Fatal("events during the read held the window until the service answered")
	}
	if n := len(s.shown); n < 3 || s.shown[0].Seq != e.Seq || s.shown[1].Seq != d.Seq || s.shown[2].Seq != c.Seq {
		t.Errorf("while reading, the newest rows are not E, D, C: %+v", s.shown[:min(n, 3)])
	}
	if h.c.requests != 1 {
		t.Errorf("%d requests on their way, want 1", h.c.requests)
	}
	g.release()
	h.answered()
	h.settle() // the stream's own events for B, C and D
	h.answered()
	for _, x := range []core.LogEntry{b, c, d, e} {
		if n := countSeq(s, x.Seq); n != 1 {
			t.Errorf("%q (#%d) held %d times, want once", x.Message, x.Seq, n)
		}
	}
	for i := 1; i < len(s.entries); i++ {
		if s.entries[i].Seq <= s.entries[i-1].Seq {
			t.Fatalf("entries out of order at %d: #%d after #%d", i, s.entries[i].Seq, s.entries[i-1].Seq)
		}
	}
	if s.lastSeq != e.Seq || s.loading || s.gap || s.detail.Text != logHint {
		t.Errorf("after the answer: last #%d (want #%d), loading %v, gap %v, detail line %q", s.lastSeq, e.Seq, s.loading, s.gap, s.detail.Text)
	}
}

// TestAttachedFreeze_LogFirstRead: the Log screen built over a silent
// network comes back at once saying it reads the log; once the network
// carries it lists the entries, and the chain check, asked as their
// answer is applied, goes off the UI thread too and shows how far the
// log verifies.
func TestAttachedFreeze_LogFirstRead(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{store: storetest.MustOpenSealed(t)})
	h.logged("test: an entry")
	g.hold()
	s := newLogScreen(h.c)
	if !g.holding() {
		t.Fatal("building the Log screen held the window until the service answered")
	}
	if len(s.entries) != 0 || s.detail.Text != logLoading {
		t.Errorf("while reading: %d entries, detail line %q", len(s.entries), s.detail.Text)
	}
	h.answersWhileHeld(g)
	v, err := h.svc.VerifyLog()
	if err != nil {
		t.Fatal(err)
	}
	if want := "Log verified up to #" + strconv.FormatUint(v.Last, 10); s.verified.Text != want {
		t.Errorf("chain line %q, want %q", s.verified.Text, want)
	}
	if len(s.shown) == 0 || s.shown[0].Message != "test: an entry" || s.detail.Text != logHint {
		t.Errorf("%d rows, detail line %q", len(s.shown), s.detail.Text)
	}
}

// withClientLogs gives bob a phone that uploaded one diagnostic log for
// each of texts, and opens bob's Edit form; it returns the phone's ID.
func (h *harness) withClientLogs(texts ...string) (deviceID string, f *userForm) {
	h.t.Helper()
	p := core.Profile{Name: "Diagnostics", ClientPolicies: core.DefaultClientPolicies(h.svc.Settings().MobileClient)}
	p.SupportEmail, p.Logging = "help@example.org", true
	if err := h.svc.AddProfile(p); err != nil {
		h.t.Fatal(err)
	}
	if err := h.svc.AssignProfileToUser("Diagnostics", "bob"); err != nil {
		h.t.Fatal(err)
	}
	ic, err := h.svc.CreateProvisionCode("bob")
	if err != nil {
		h.t.Fatal(err)
	}
	prov, err := h.svc.Provision("127.0.0.1", "bob", ic.Code, "Android 15")
	if err != nil {
		h.t.Fatal(err)
	}
	for _, text := range texts {
		if _, err := h.svc.UploadClientLog("127.0.0.1", prov.DeviceID, "", text); err != nil {
			h.t.Fatal(err)
		}
	}
	h.settle()
	h.answered()
	h.selectListed("bob")
	r, _ := h.c.users.selectedRow()
	h.c.users.openForm(&r.User)
	h.answered()
	if f = h.c.users.form; f == nil || f.clientLogBtn == nil {
		h.t.Fatal("bob's Edit form has no Client log… button")
	}
	return prov.DeviceID, f
}

// TestAttachedFreeze_OpenClientLog: Client log… comes back at once over a
// silent network, waits disabled, and a second ask meanwhile sends
// nothing more; the dialog opens with the logs once the network carries,
// or not at all if the Edit form was closed meanwhile.
func TestAttachedFreeze_OpenClientLog(t *testing.T) {
	for _, formClosed := range []bool{false, true} {
		t.Run(map[bool]string{false: "opened", true: "form closed meanwhile"}[formClosed], func(t *testing.T) {
			h, g := frozenHarness(t)
			_, f := h.withClientLogs("09:00 app opened", "09:05 download failed: offline")
			h.tapWhileHeld(g, f.clientLogBtn, "Client log…")
			h.c.openClientLog("bob", nil, nil)
			if h.c.clientLog != nil || h.c.requests != 1 {
				t.Errorf("while reading: dialog open %v, %d requests on their way (want 1)", h.c.clientLog != nil, h.c.requests)
			}
			if formClosed {
				f.dlg.Hide()
			}
			g.release()
			h.answered()
			v := h.c.clientLog
			if formClosed {
				if v != nil {
					t.Error("the Client log dialog opened over a form that was closed")
				}
				return
			}
			if v == nil || len(v.entries) != 2 || v.text.Text != "09:05 download failed: offline" {
				t.Fatalf("after the answer: dialog %v", v != nil)
			}
			if f.clientLogBtn.Disabled() {
				t.Error("Client log… stays disabled")
			}
		})
	}
}

// TestAttachedFreeze_ClientLogReread: an upload while the Client log
// dialog is open comes back at once over a silent network, the dialog
// showing what it showed until the answer, then the new log.
func TestAttachedFreeze_ClientLogReread(t *testing.T) {
	h, g := frozenHarness(t)
	device, f := h.withClientLogs("09:00 app opened")
	test.Tap(f.clientLogBtn)
	h.answered()
	v := h.c.clientLog
	if _, err := h.svc.UploadClientLog("127.0.0.1", device, "", "09:10 sent again"); err != nil {
		t.Fatal(err)
	}
	h.applyWhileHeld(g, "an upload", core.Event{Kind: core.EventClientLog, User: "bob"})
	if len(v.entries) != 1 || v.text.Text != "09:00 app opened" {
		t.Errorf("while reading: %d logs, shown %q", len(v.entries), v.text.Text)
	}
	g.release()
	h.answered()
	if len(v.entries) != 2 || v.text.Text != "09:10 sent again" {
		t.Errorf("after the answer: %d logs, shown %q", len(v.entries), v.text.Text)
	}
}

// TestAttachedFreeze_ClientLogClear: Clear (confirmed) comes back at once
// over a silent network with Clear waiting disabled and the logs still
// shown; once the network carries they are gone from the service and the
// dialog says none is left, or, closed meanwhile, is left as it was.
func TestAttachedFreeze_ClientLogClear(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(map[bool]string{false: "cleared", true: "closed meanwhile"}[closed], func(t *testing.T) {
			h, g := frozenHarness(t)
			_, f := h.withClientLogs("09:00 app opened", "09:05 download failed: offline")
			test.Tap(f.clientLogBtn)
			h.answered()
			v := h.c.clientLog
			test.Tap(v.clearBtn)
			if v.confirm == nil {
				t.Fatal("Clear did not ask first")
			}
			g.hold()
			v.confirm.Confirm()
			if !g.holding() {
				t.Fatal("Clear held the window until the service answered")
			}
			if !v.clearBtn.Disabled() || len(v.entries) != 2 {
				t.Errorf("while clearing: Clear disabled %v, %d logs shown", v.clearBtn.Disabled(), len(v.entries))
			}
			if closed {
				v.dlg.Hide()
			}
			g.release()
			h.answered()
			h.settle() // the stream's client-log event, and its reread
			h.answered()
			if logs, err := h.svc.ClientLogs("bob"); err != nil || len(logs) != 0 {
				t.Fatalf("the service holds %d logs (%v)", len(logs), err)
			}
			if closed {
				if len(v.entries) != 2 || h.c.clientLog != nil {
					t.Errorf("the closed dialog changed: %d logs, registered %v", len(v.entries), h.c.clientLog != nil)
				}
				return
			}
			if len(v.entries) != 0 || !strings.HasPrefix(v.summary.Text, "No diagnostic log uploaded.") || !v.clearBtn.Disabled() {
				t.Errorf("after Clear: %d logs, summary %q, Clear disabled %v", len(v.entries), v.summary.Text, v.clearBtn.Disabled())
			}
		})
	}
}

// TestAttachedFreeze_FirstRun: an attached service that has not finished
// its first-run setup offers it; typing an address previews it without
// asking the service (its copy of the settings made stale first), and
// Finish or Skip come back at once over a silent network, both waiting
// disabled and Enter or Escape sending nothing more. Once the network
// carries the setup closes with the choices saved, or, refused, stays
// open with core's sentence under the field.
func TestAttachedFreeze_FirstRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		siteID string // typed; "" keeps it
		skip   bool
		refuse string // core's sentence under the Site ID
	}{
		{name: "finish", siteID: "head-office"},
		{name: "refused", siteID: "head office!", refuse: "A Site ID uses letters, digits, '-', '_' and '.' only."},
		{name: "skip", skip: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, g := frozenHarnessWith(t, attachedService{setupNotDone: true})
			f := h.c.first
			if f == nil {
				t.Fatal("no first-run setup for a service that has not finished it")
			}
			f.other.entry.SetText("") // the test service advertises 127.0.0.1
			h.staleSettings("policy.lockout.max_failures", "7")
			g.hold()
			test.Type(f.other.entry, "vpn.example.org")
			if !g.holding() {
				t.Fatal("typing an address held the window until the service answered")
			}
			g.release()
			if want := "Phones will use https://vpn.example.org:8443/"; f.phonesUse.Text != want {
				t.Errorf("preview %q, want %q", f.phonesUse.Text, want)
			}
			if tt.siteID != "" {
				f.siteID.entry.SetText(tt.siteID)
			}
			if tt.skip {
				h.tapWhileHeld(g, f.skip, "Skip")
				waitsDisabled(t, "Skip", f.finish)
				f.skipSetup() // Escape
			} else {
				h.tapWhileHeld(g, f.finish, "Finish")
				waitsDisabled(t, "Finish", f.skip)
				f.done() // Enter
			}
			if h.c.requests != 1 || h.c.first != f {
				t.Errorf("while saving: %d requests on their way (want 1), setup open %v", h.c.requests, h.c.first == f)
			}
			g.release()
			h.answered()
			set := h.svc.Settings()
			if tt.refuse != "" {
				if f.siteID.msg.Text != tt.refuse || h.c.first != f || f.finish.Disabled() || f.skip.Disabled() || set.SetupDone {
					t.Errorf("refused: message %q, open %v, Finish disabled %v, done %v", f.siteID.msg.Text, h.c.first == f, f.finish.Disabled(), set.SetupDone)
				}
				return
			}
			if h.c.first != nil || !set.SetupDone {
				t.Fatalf("setup open %v, done %v", h.c.first != nil, set.SetupDone)
			}
			if tt.skip && (set.Advertise == "vpn.example.org" || set.SiteID != "office") {
				t.Errorf("Skip saved %q, %q", set.Advertise, set.SiteID)
			}
			if !tt.skip && (set.Advertise != "vpn.example.org" || set.SiteID != tt.siteID) {
				t.Errorf("Finish saved %q, %q", set.Advertise, set.SiteID)
			}
		})
	}
}
