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

// TestServerScreen_PairConsoleTakesNewFingerprint: with no remote console
// listener the pairing text names the certificate served now; when that
// is a new one (the files were renewed), the status bar's line and an
// open About box show it too, then and after the next clock tick.
func TestServerScreen_PairConsoleTakesNewFingerprint(t *testing.T) {
	cert := &servedCert{st: core.CertificateStatus{Fingerprint: "11:22:33"}}
	h := newHarnessWith(t, func(_ *harness, d *Deps) {
		d.Certificate = func() CertInfo { return CertInfo{Fingerprint: cert.get().Fingerprint} }
	})
	h.c.followCertificate()
	h.answered()
	h.c.showAbout()
	cert.setFingerprint("44:55:66")

	test.Tap(h.c.server.pairBtn)
	var name *entry
	walk(h.win.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
		if e, ok := o.(*entry); ok {
			name = e
		}
	})
	if name == nil {
		t.Fatal("the pair dialog has no name entry")
	}
	test.Type(name, "desk-2")
	tapDialogButton(t, h.win, "Make a code")
	if text := h.c.server.pairingBox.Text; !strings.Contains(text, "44:55:66") {
		t.Fatalf("the pairing text does not name the certificate served now:\n%s", text)
	}
	for _, when := range []string{"with the code", "after the clock's next read"} {
		if got := h.c.certLine.Text; got != "Certificate SHA-256 44:55:66" {
			t.Errorf("%s: certificate line %q", when, got)
		}
		if got := h.c.aboutBox.fingerprint.Text; got != "44:55:66" {
			t.Errorf("%s: About shows %q", when, got)
		}
		h.c.followCertificate()
		h.answered()
	}
}
