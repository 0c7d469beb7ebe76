package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

// An attached console asks the service for the settings again once a
// change was saved anywhere (adminapi.Console.Settings): the actions that
// read them do so off the UI thread, so a network that carries nothing
// right after a change does not hold the window.

// staleSettings saves a setting on the service, and the attached
// console's client hears of it (changeOnService) and forgets its copy
// of the settings: the next read of them is a request. The event itself
// stays queued, not applied: nothing on screen reads them again first.
func (h *harness) staleSettings(key, value string) {
	h.t.Helper()
	h.changeOnService(func() error { return h.svc.SetSetting(key, value) })
}

// TestAttachedFreeze_ResetPINReadsSettings: Reset PIN… asks for the PIN's
// length off the UI thread, waits disabled, and opens its dialog with the
// length saved meanwhile; Send by email's answer still says that mail is
// not set up (asked with the reset, on the same goroutine; this test
// cannot time a read made as that answer is applied, so it checks only
// the sentence).
func TestAttachedFreeze_ResetPINReadsSettings(t *testing.T) {
	h, g := frozenHarness(t)
	h.selectListed("bob")
	h.staleSettings("policy.pin.min_length", "6")
	h.tapWhileHeld(g, h.c.users.resetPIN, "Reset PIN…")
	if h.c.users.pinReset != nil {
		t.Error("the dialog opened before the settings came")
	}
	test.Tap(h.c.users.resetPIN) // a second tap meanwhile opens nothing more
	g.release()
	h.answered()
	p := h.c.users.pinReset
	if p == nil {
		t.Fatal("Reset PIN did not open its dialog once the network carried")
	}
	if got := h.overlayText(); !strings.Contains(got, "new random 6-digit PIN") {
		t.Errorf("the dialog does not give the length saved meanwhile:\n%s", got)
	}
	h.staleSettings("server.siteid", "hq-2")
	h.tapWhileHeld(g, p.send, "Send by email")
	g.release()
	h.answered()
	if got := p.result.Text; !strings.Contains(got, "queued for bob@example.org") || !strings.Contains(got, "once mail is set up") {
		t.Errorf("after Send by email the dialog reads %q", got)
	}
}

// TestAttachedFreeze_TokenChoiceReadsSettings: choosing the
// authenticator app in the Reprovision dialog does not ask the service on
// the UI thread whether apps are turned on; the choice knows it from
// when the dialog was built, and with apps off asks to turn them on.
func TestAttachedFreeze_TokenChoiceReadsSettings(t *testing.T) {
	h, g := frozenHarnessWith(t, attachedService{oath: true})
	if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.openReprovisionFor("bob")
	h.staleSettings("server.siteid", "hq-2")
	radio := findRadio(h.win.Canvas().Overlays().Top())
	g.hold()
	radio.SetSelected(choiceOATH)
	if !g.holding() {
		t.Fatal("choosing the authenticator app held the window until the service answered")
	}
	if !strings.Contains(h.overlayText(), "Turn on authenticator apps?") {
		t.Errorf("no question to turn them on; the top dialog reads:\n%s", h.overlayText())
	}
	g.release()
}
