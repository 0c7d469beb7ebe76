package ui

import (
	"fmt"
	"image/color"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// shotSizes are the window sizes every screen must look tidy at.
var shotSizes = []fyne.Size{{Width: 1280, Height: 800}, {Width: 1920, Height: 1080}}

// TestScreenshots renders every screen and the main dialogs at both
// sizes into PROVISIO_SHOTS (make screenshots writes docs/screenshots),
// with the default theme, for a person to review and for the README.
// PROVISIO_SHOTS_AUDIT=1 adds 1024×768 and the dark variant, for a
// layout review (make screenshots-audit).
func TestScreenshots(t *testing.T) {
	if os.Getenv("PROVISIO_SHOTS") == "" {
		t.Skip("set PROVISIO_SHOTS=dir to write screenshots")
	}
	sizes, variants := shotSizes, []shotVariant{{"default", "", Theme()}}
	if os.Getenv("PROVISIO_SHOTS_AUDIT") != "" {
		sizes = append([]fyne.Size{{Width: 1024, Height: 768}}, sizes...)
		variants = append(variants, shotVariant{"light", "-light", variantTheme{Theme(), theme.VariantLight}})
	}
	// A console of its own for each variant, built in its theme: one
	// built in another keeps some icons in that theme's colours (a
	// select's arrow stayed white on the light variant's grey).
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) { shootConsole(t, v, sizes) })
	}
}

// shootConsole renders every scene at every size in v.
func shootConsole(t *testing.T, v shotVariant, sizes []fyne.Size) {
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		fyne.CurrentApp().Settings().SetTheme(v.theme)
		// A service that can make OATH keys, as the app's is, for the
		// authenticator-app dialog.
		h.svc = storetest.MustServiceOn(t, h.st, core.WithClock(h.clock), core.WithOATHKeys(oathkey.Keys{}))
		d.Service = h.svc
		d.Fingerprint = shotFingerprint
		d.Version, d.DataDir = "0.1.0", "/home/admin/.config/provisio"
		d.ServerURLs = func() []string { return []string{"https://192.168.1.10:8443/"} }
		d.RestartServer = func() error { return nil }
		d.RegenerateCert = func() (string, error) { return shotFingerprint, nil }
		d.Certificate = func() CertInfo {
			return CertInfo{Fingerprint: shotFingerprint, FromFiles: true, Names: []string{"192.168.1.10", "auth.office.example.org"},
				NotAfter: time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)}
		}
	})
	for k, v := range map[string]string{"server.name": "office-pc", "server.advertise": "192.168.1.10",
		"server.tls_cert": "/etc/provisio/auth.crt", "server.tls_key": "/etc/provisio/auth.key"} {
		if err := h.svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	seedOffice(t, h)
	h.c.users.refresh() // the logins went straight into the store
	h.settle()
	c := h.c

	closeOverlays := func() {
		for o := h.win.Canvas().Overlays().Top(); o != nil; o = h.win.Canvas().Overlays().Top() {
			if !c.escape() {
				h.win.Canvas().Overlays().Remove(o)
			}
		}
		h.settle()
	}
	screen := func(o fyne.CanvasObject) func() { return func() { c.showScreen(o) } }
	// reprovision opens the dialog for name, answering the question about
	// a phone the user already has (erin has one on the second pass).
	reprovision := func(name string) {
		selectUser(h, name)
		test.Tap(c.users.reprovision)
		if c.reprov == nil && c.oldPhone != nil {
			c.oldPhone.Confirm()
		}
	}
	scenes := []struct {
		name  string
		setup func()
	}{
		{"first-run", func() { c.showScreen(c.users.content); c.openFirstRun(c.svc.Settings()) }},
		{"users", screen(c.users.content)},
		{"user-search", func() {
			selectUser(h, "carol")
			c.users.search.SetText("car")
		}},
		{"user-form-error", func() {
			c.showScreen(c.users.content)
			c.users.search.SetText("")
			c.users.openForm(nil)
			f := c.users.form
			f.name.entry.SetText("ivy")
			f.email.entry.SetText("ivy-at-example")
			f.pin.entry.SetText("12")
			test.Tap(f.save)
		}},
		{"reset-pin", func() {
			selectUser(h, "dave")
			c.users.openPINReset()
			test.Tap(c.users.pinReset.show)
		}},
		{"csv-import", func() {
			c.showScreen(c.users.content)
			c.users.previewCSV("new-starters.csv", []byte(sampleCSV))
			h.waitFor("preview", func() bool { return c.users.importer != nil && !c.users.importer.running })
		}},
		{"reprovision", func() { reprovision("erin") }},
		{"reprovision-warning", func() {
			selectUser(h, "carol")
			test.Tap(c.users.reprovision)
		}},
		{"reprovision-done", func() {
			reprovision("erin")
			if _, err := h.svc.Provision("127.0.0.1", "erin", c.reprov.issued.Code, "Android 15"); err != nil {
				t.Fatal(err)
			}
			h.waitFor("provisioned", func() bool { return strings.HasPrefix(c.reprov.status.Text, statusProvisioned) })
		}},
		{"reprovision-fullscreen", func() {
			reprovision("frank")
			test.Tap(c.reprov.fullScreen)
		}},
		{"reprovision-expired", func() {
			// A user with a phone: the note under the status is longest.
			reprovision("carol")
			// Drawn as expired; withdrawn in the store, so the later
			// scenes do not show carol with a pending code.
			if _, err := h.svc.WithdrawProvisionCode("carol", c.reprov.issued.Code); err != nil {
				t.Fatal(err)
			}
			c.reprov.finish(statusExpired, widget.WarningImportance, "Use New code to make another.")
		}},
		{"reprovision-oath", func() {
			// On for this scene only: the other screens show the default.
			if err := h.svc.SetSetting("oath.enabled", "yes"); err != nil {
				t.Fatal(err)
			}
			h.settle()
			selectUser(h, "carol")
			c.openReprovisionOATH("carol", nil)
		}},
		{"policy-mobile", screen(c.mobile.content)},
		{"policy-profiles", func() { seedProfiles(t, h.svc); h.settle(); c.showScreen(c.profiles.content) }},
		{"profile-form", func() {
			seedProfiles(t, h.svc)
			h.settle()
			c.showScreen(c.profiles.content)
			c.profiles.list.Select(1)
			test.Tap(c.profiles.edit)
		}},
		{"user-effective-profile", func() {
			seedProfiles(t, h.svc)
			selectUser(h, "alice")
			test.Tap(c.users.edit)
			if f := c.users.form; f != nil {
				f.effectiveBox.Open()
				f.dlg.Resize(fyne.NewSize(760, 0))
			}
		}},
		{"policy-selfreset", screen(c.selfReset.content)},
		{"policy-pin", screen(c.pin.content)},
		{"about", func() { c.showScreen(c.users.content); c.showAbout() }},
		{"server", screen(c.server.content)},
		{"server-backups", screen(c.backups.content)},
		{"agents", screen(c.agents.content)},
		{"agent-form", func() {
			c.showScreen(c.agents.content)
			c.agents.list.Select(1)
			test.Tap(c.agents.edit)
		}},
		{"log", screen(c.log.content)},
		{"client-log", func() {
			// The phone's uploads, put straight in the store: seeding them
			// through a device would change the other scenes.
			err := h.st.Update(func(tx core.Tx) error {
				at := h.clock.Now().Add(-26 * time.Hour)
				return tx.PutClientLog("grace", core.ClientLog{Entries: []core.ClientLogEntry{
					{Time: at, Text: shotClientLog(at, "status: ok, 64 strings left")},
					{Time: at.Add(25 * time.Hour), Text: shotClientLog(at.Add(25*time.Hour), "download: no answer from the server (offline)")},
				}})
			})
			if err != nil {
				t.Fatal(err)
			}
			selectUser(h, "grace")
			test.Tap(c.users.edit)
			if f := c.users.form; f != nil {
				test.Tap(f.clientLogBtn)
			}
		}},
	}
	// The mail screens, when the console has them.
	for _, s := range c.screens {
		switch s.title {
		case "Mail Transport", "Outbox":
			scenes = append(scenes, struct {
				name  string
				setup func()
			}{strings.ToLower(strings.ReplaceAll(s.title, " ", "-")), screen(s.content)})
		}
	}

	for _, size := range sizes {
		h.win.Resize(size)
		for _, sc := range scenes {
			closeOverlays()
			sc.setup()
			h.settle()
			writeShot(t, fmt.Sprintf("%s-%dx%d%s.png", sc.name, int(size.Width), int(size.Height), v.suffix), h.win.Canvas().Capture())
			if c.reprov != nil && c.reprov.full {
				test.Tap(c.reprov.fullScreen)
			}
			if sc.name == "reprovision-oath" {
				// Nor with a token waiting for confirmation.
				closeOverlays()
				if err := h.svc.RevokeOATH("carol"); err != nil {
					t.Fatal(err)
				}
				if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	closeOverlays()
}

// shotVariant is a theme the screenshots are taken in, and the suffix
// of their file names. The default is the console's theme as the test
// driver draws it, which is the dark variant.
type shotVariant struct {
	name, suffix string
	theme        fyne.Theme
}

// variantTheme is a theme held to one variant, light or dark, whatever
// the system asks for: the test driver asks for neither, which Fyne's
// theme draws dark.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (v variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return v.Theme.Color(n, v.variant)
}

// shotFingerprint looks like a real certificate's.
const shotFingerprint = "3F:A9:1C:7E:52:0B:D4:86:E1:29:6A:F0:3C:B7:58:9D:04:C2:7F:E3:1A:95:6B:D8:40:2E:F7:13:8C:A5:69:B0"

// selectUser shows User Management with name selected.
func selectUser(h *harness, name string) {
	h.t.Helper()
	s := h.c.users
	h.c.showScreen(s.content)
	s.search.SetText("")
	for i, r := range s.shown {
		if r.Name == name {
			s.list.Select(i)
			return
		}
	}
	h.t.Fatalf("%s not listed", name)
}

// sampleCSV is a new-starters file with two mistakes in it.
const sampleCSV = `username,full_name,email,mobile,group,pin
hannah,Hannah Arendt,hannah@example.org,+44 20 7946 0101,sales,
ivan,Ivan Petrov,ivan@example.org,+44 20 7946 0102,sales,
judy,Judy Hopps,judy-at-example.org,,support,
karl,Karl Popper,karl@example.org,+44 20 7946 0104,support,12
lena,Lena Meyer,lena@example.org,,accounts,
`

// seedOffice fills the console with a small office: users in every
// state, two agents and a log.
func seedOffice(t *testing.T, h *harness) {
	t.Helper()
	svc := h.svc
	people := []struct{ name, full, group string }{
		{"alice", "Alice Liddell", "sales"}, {"bob", "Robert Tables", "sales"},
		{"carol", "Carol Danvers", "support"}, {"dave", "Dave Bowman", "support"},
		{"erin", "Erin Brockovich", "accounts"}, {"frank", "Frank Poole", "accounts"},
		{"grace", "Grace Hopper", "it"}, {"heidi", "Heidi Klum", "sales"},
	}
	for _, p := range people {
		storetest.MustAddUser(t, svc, p.name, "1357")
		if _, err := svc.UpdateUser(p.name, func(u *core.User) error {
			u.FullName, u.Group, u.Mobile = p.full, p.group, "+44 20 7946 0"+fmt.Sprint(100+len(p.name))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []string{"alice", "carol", "grace"} {
		ic, err := svc.CreateProvisionCode(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Provision("127.0.0.1", n, ic.Code, []string{"iOS 17.5", "Android 15", "iOS 18.1"}[i]); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(37 * time.Minute)
	}
	// Logins are the login record's, which UpdateUser leaves alone: put
	// straight in the store, as a login would leave them (setting
	// User.LastLogin showed "never" for everyone).
	for i, n := range []string{"alice", "carol"} {
		if err := h.st.Update(func(tx core.Tx) error {
			return tx.PutLoginState(n, core.LoginState{LastLogin: h.clock.Now().Add(-time.Duration(i+1) * 95 * time.Minute)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.CreateProvisionCode("heidi"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser("bob", func(u *core.User) error { u.Locked = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser("frank", func(u *core.User) error { u.MobileAllowed = false; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, a := range []core.Agent{
		{Name: "office-vpn", Host: "192.168.1.1", Secret: core.NewAgentSecret(), Group: core.GroupAny},
		{Name: "intranet", Host: "192.168.1.0/24", Secret: core.NewAgentSecret(), Group: "sales",
			Modes: []string{core.AgentModeMobile, core.AgentModeDual}, Repository: true},
	} {
		if err := svc.PutAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	_ = svc.Log(core.LevelWarn, "bob", "Login failed for user: bob, error: wrong one-time code; locked after 5 failures in a row")
	_ = svc.Log(core.LevelError, "", "Message for user: dave, destination: dave@example.org failed: The mail server refused the recipient.")
}

// shotClientLog is a web client's diagnostic log as it uploads one.
func shotClientLog(at time.Time, last string) string {
	ts := func(d time.Duration) string { return at.Add(d).UTC().Format("2006-01-02T15:04:05Z") }
	ua := "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	return ts(-3*time.Minute) + " app opened: " + ua + "\n" +
		ts(-3*time.Minute+time.Second) + " status: ok, 65 strings left\n" +
		ts(-time.Minute) + " " + last + "\n" +
		ts(0) + " diagnostic log sent from " + ua
}
