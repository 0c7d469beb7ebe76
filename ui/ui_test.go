package ui

import (
	"os"
	"testing"

	"fyne.io/fyne/v2/test"

	"provisio/core"
	"provisio/core/store/storetest"
)

func TestConsole_MainWindowLayout(t *testing.T) {
	a := test.NewTempApp(t)
	svc := storetest.MustService(t)
	if err := svc.SetSetting("server.siteid", "office"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "alice", FullName: "Alice Liddell", Email: "alice@example.org", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	c := New(a, w, Deps{
		Service:     svc,
		ServerURLs:  func() []string { return []string{"https://192.168.1.10:8443"} },
		Fingerprint: testFingerprint,
	})
	defer c.Close()

	if got := w.Canvas().Size(); got.Width != 1280 || got.Height != 800 {
		t.Errorf("window is %v, want 1280×800", got)
	}
	test.AssertRendersToMarkup(t, "main_window.xml", w.Canvas())

	c.nav.Select(1)
	test.AssertRendersToMarkup(t, "policy_mobile.xml", w.Canvas())
	c.nav.Select(2)
	test.AssertRendersToMarkup(t, "policy_selfreset.xml", w.Canvas())
}

func TestConsole_StatusLineFollowsConfig(t *testing.T) {
	h := newHarness(t)
	want := "Server https://127.0.0.1:8443   ·   Site ID office   ·   Certificate SHA-256 " + testFingerprint
	if h.c.status.Text != want {
		t.Errorf("status %q, want %q", h.c.status.Text, want)
	}
	if err := h.svc.SetSetting("server.siteid", "branch-2"); err != nil {
		t.Fatal(err)
	}
	want = "Server https://127.0.0.1:8443   ·   Site ID branch-2   ·   Certificate SHA-256 " + testFingerprint
	h.waitFor("new Site ID in the status line", func() bool { return h.c.status.Text == want })
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

// TestScreenshots writes a PNG of each screen and dialog for a person to
// review. It runs only when PROVISIO_SHOTS names a directory.
func TestScreenshots(t *testing.T) {
	if os.Getenv("PROVISIO_SHOTS") == "" {
		t.Skip("set PROVISIO_SHOTS=dir to write screenshots")
	}
	h := newHarness(t)
	for _, n := range []string{"alice", "bob", "carol"} {
		storetest.MustAddUser(t, h.svc, n, "1234")
	}
	h.svc.UpdateUser("bob", func(u *core.User) error { u.FullName, u.Locked = "Robert Tables", true; return nil })
	ic, _ := h.svc.CreateProvisionCode("carol")
	h.svc.Provision("carol", ic.Code, "iOS 17")
	h.svc.CreateProvisionCode("alice")
	h.waitFor("agent code notice", func() bool { return h.c.notice != nil })
	writeShot(t, "agent_code.png", h.win.Canvas().Capture())
	h.settle()
	for o := h.win.Canvas().Overlays().Top(); o != nil; o = h.win.Canvas().Overlays().Top() {
		h.win.Canvas().Overlays().Remove(o) // one notice per agent code
	}
	writeShot(t, "users.png", h.win.Canvas().Capture())

	test.Tap(h.c.users.add)
	f := h.c.users.form
	test.Type(f.name.entry, "dave")
	test.Type(f.email.entry, "dave-at-example")
	test.Tap(f.save)
	writeShot(t, "user_form_error.png", h.win.Canvas().Capture())
	f.dlg.Hide()

	h.c.openReprovision("bob")
	h.c.reprov.status.SetText("Device provisioned (iOS 17)")
	writeShot(t, "reprovision_done.png", h.win.Canvas().Capture())
	h.c.reprov.dlg.Hide()

	for i, name := range []string{"", "policy_mobile.png", "policy_selfreset.png", "log.png"} {
		if name == "" {
			continue
		}
		h.c.nav.Select(i)
		if i == 2 {
			e := h.c.selfReset.entries[validityKey].entry
			e.SetText("9")
			test.Tap(h.c.selfReset.apply)
		}
		writeShot(t, name, h.win.Canvas().Capture())
	}
}
