package ui

import (
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// The Helpdesk box gives the helpdesk right, and an agent named by host
// shows the addresses its name resolved to.
func TestAgentForm_HelpdeskAndHostName(t *testing.T) {
	h := newHarness(t)
	h.c.showScreen(h.c.agents.content)
	s := h.c.agents
	test.Tap(s.add)
	f := s.form
	test.Type(f.name.entry, "desk")
	test.Type(f.host.entry, "localhost")
	f.helpdesk.SetChecked(true)
	test.Tap(f.save)
	if s.form != nil {
		t.Fatalf("form still open: %q", agentErrors(f))
	}
	a := h.svc.Agents()
	if len(a) != 1 || !a[0].Helpdesk || a[0].Repository || a[0].Host != "localhost" {
		t.Fatalf("saved %+v", a)
	}
	if got := s.hostText(a[0]); !strings.HasPrefix(got, "localhost → ") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("host column %q", got)
	}
	test.Tap(s.edit)
	if !s.form.helpdesk.Checked {
		t.Error("Edit lost the helpdesk right")
	}
}

// A nearly full disk turns the status bar red with the sentence, and it
// recovers when space is freed.
func TestConsole_HealthStatus(t *testing.T) {
	var free atomic.Uint64
	free.Store(10 << 30)
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		svc := storetest.MustService(t, core.WithClock(h.clock), core.WithFreeSpace(func() (uint64, error) { return free.Load(), nil }))
		h.svc, d.Service = svc, svc
	})
	h.settle()
	if h.c.serverState.Importance == widget.DangerImportance {
		t.Fatal("red while healthy")
	}
	free.Store(10 << 20)
	h.svc.CheckFreeSpace()
	h.settle()
	if h.c.serverState.Importance != widget.DangerImportance || !strings.Contains(h.c.status.Text, "almost full (10 MB free)") {
		t.Errorf("low disk: %q %q", h.c.serverState.Text, h.c.status.Text)
	}
	free.Store(10 << 30)
	h.svc.CheckFreeSpace()
	h.settle()
	if h.c.serverState.Importance == widget.DangerImportance || strings.Contains(h.c.status.Text, "almost full") {
		t.Errorf("after recovery: %q %q", h.c.serverState.Text, h.c.status.Text)
	}
}
