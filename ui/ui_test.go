package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

func TestConsole_MainWindowLayout(t *testing.T) {
	a := test.NewTempApp(t)
	svc := storetest.MustService(t)
	if err := svc.SetSetting("server.siteid", "office"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("console.setup_done", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "alice", FullName: "Alice Liddell", Email: "alice@example.org", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	c := New(a, w, Deps{
		Service:     svc,
		Mail:        mailer.Tools{},
		ServerURLs:  func() []string { return []string{"https://192.168.1.10:8443"} },
		Fingerprint: testFingerprint,
	})
	defer c.Close()
	// New installs the console's theme, whose colours repeat (white is
	// background and overlay); the test theme's are unique, so the markup
	// names each colour the same way every run.
	a.Settings().SetTheme(test.Theme())

	if got := w.Canvas().Size(); got.Width != 1280 || got.Height != 800 {
		t.Errorf("window is %v, want 1280×800", got)
	}
	writeShot(t, "golden_main_window.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "main_window.xml", w.Canvas())

	c.showScreen(c.mobile.content)
	writeShot(t, "golden_policy_mobile.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "policy_mobile.xml", w.Canvas())
	c.showScreen(c.selfReset.content)
	writeShot(t, "golden_policy_selfreset.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "policy_selfreset.xml", w.Canvas())
}

func TestConsole_StatusLineFollowsConfig(t *testing.T) {
	h := newHarness(t)
	want := "https://127.0.0.1:8443   ·   Site ID office   ·   0 devices provisioned   ·   0 codes pending   ·   Certificate SHA-256 " + testFingerprint
	if h.c.status.Text != want || h.c.serverState.Text != "● Server running" {
		t.Errorf("status %q %q, want %q", h.c.serverState.Text, h.c.status.Text, want)
	}
	if err := h.svc.SetSetting("server.siteid", "branch-2"); err != nil {
		t.Fatal(err)
	}
	want = "https://127.0.0.1:8443   ·   Site ID branch-2   ·   0 devices provisioned   ·   0 codes pending   ·   Certificate SHA-256 " + testFingerprint
	h.waitFor("new Site ID in the status line", func() bool { return h.c.status.Text == want })

	// Devices and codes are counted as they change.
	storetest.MustAddUser(t, h.svc, "alice", "1357")
	storetest.MustAddUser(t, h.svc, "bob", "1357")
	ic, err := h.svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("two codes pending", func() bool { return strings.Contains(h.c.status.Text, "   ·   2 codes pending") })
	if _, err := h.svc.Provision("127.0.0.1", "alice", ic.Code, "iOS 17"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("one device, one code", func() bool {
		return strings.Contains(h.c.status.Text, "   ·   1 device provisioned   ·   1 code pending   ·   ")
	})
	// Codes expire without an event; the status clock notices.
	h.clock.Advance(11 * time.Minute)
	h.waitFor("no code pending", func() bool { return strings.Contains(h.c.status.Text, "   ·   0 codes pending") })

}

func TestConsole_NavigationShowsScreens(t *testing.T) {
	h := newHarness(t)
	for i, s := range h.c.screens {
		h.c.nav.Select(i)
		if got := h.c.body.Objects; len(got) != 1 || got[0] != s.content {
			t.Errorf("selecting %q did not show it", s.title)
		}
	}
}

func TestConsole_CloseIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.c.Close()
	h.c.Close()
	// Events after Close change nothing and do not block the service.
	storetest.MustAddUser(t, h.svc, "late", "1234")
	h.settle()
	if len(h.c.users.shown) != 0 {
		t.Error("a closed console still follows events")
	}
}
