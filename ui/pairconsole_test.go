package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
)

// TestServerScreen_PairConsole: "Pair a console…" on the Server screen
// makes a one-time code for the name and role typed, stores only its
// hash, and shows it with the command and the certificate fingerprint
// the other desk compares; "Paired consoles…" lists it.
func TestServerScreen_PairConsole(t *testing.T) {
	h := newHarness(t)
	h.svc.SetConsoleEndpoint("192.0.2.10:8444", func() string { return testFingerprint })
	s := h.c.server
	test.Tap(s.pairBtn)
	top := h.win.Canvas().Overlays().Top()
	var name *entry
	var role *widget.RadioGroup
	walk(top, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *entry:
			name = w
		case *widget.RadioGroup:
			role = w
		}
	})
	if name == nil || role == nil {
		t.Fatalf("the pair dialog has no name entry or role choice: %q", visibleTexts(top))
	}
	test.Type(name, "desk-2")
	role.SetSelected("admin")
	tapDialogButton(t, h.win, "Make a code")
	p := s.lastPairing
	if p.Name != "desk-2" || p.Role != core.RoleAdmin || len(p.Code) != 12 {
		t.Fatalf("pairing %+v", p)
	}
	text := s.pairingBox.Text
	for _, want := range []string{core.GroupPairingCode(p.Code), "provisio --connect 192.0.2.10:8444", testFingerprint, `console "desk-2" (admin)`} {
		if !strings.Contains(text, want) {
			t.Errorf("the pairing dialog lacks %q:\n%s", want, text)
		}
	}
	list, err := h.svc.Consoles()
	if err != nil || len(list) != 1 || list[0].State() != "pending" || list[0].CodeHash != "" {
		t.Errorf("consoles %+v, %v", list, err)
	}
	h.c.win.Canvas().Overlays().Top().Hide()
	h.c.server.openConsoles()
	if texts := strings.Join(visibleTexts(h.win.Canvas().Overlays().Top()), "\n"); !strings.Contains(texts, "desk-2 · admin · pending") {
		t.Errorf("the consoles list shows %s", texts)
	}
}

// TestConsole_InstallAsService: the status bar's "Install as a service"
// shows the exact command, which Copy puts on the clipboard.
func TestConsole_InstallAsService(t *testing.T) {
	h := newHarnessWith(t, func(_ *harness, d *Deps) { d.ServiceCommand = "sudo /usr/local/bin/provisio service install" })
	test.Tap(h.c.installSvc)
	top := h.win.Canvas().Overlays().Top()
	texts := strings.Join(visibleTexts(top), "\n")
	for _, want := range []string{"sudo /usr/local/bin/provisio service install", "/var/lib/provisio", "restarts by itself"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, texts)
		}
	}
	tapDialogButton(t, h.win, "Copy")
	if got := h.c.app.Clipboard().Content(); got != "sudo /usr/local/bin/provisio service install" {
		t.Errorf("clipboard %q", got)
	}
}
