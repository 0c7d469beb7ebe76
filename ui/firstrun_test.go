package ui

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// newFirstRun opens a console on a new data directory, which offers the
// first-run setup.
func newFirstRun(t *testing.T) (*Console, fyne.Window, *firstRun) {
	t.Helper()
	a := test.NewTempApp(t)
	svc := storetest.MustService(t) // advertises 127.0.0.1 for tests
	if err := svc.SetSetting("server.advertise", ""); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"server.name": "office-pc", "server.siteid": "office"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if svc.Settings().SetupDone {
		t.Fatal("a new data directory says its setup is done")
	}
	w := test.NewTempWindow(t, nil)
	c := newConsole(a, w, Deps{Service: svc, Mail: mailer.Tools{}, Fingerprint: testFingerprint},
		options{do: func(fn func()) {}, lanAddrs: func() []netip.Addr { return testAddrs }})
	t.Cleanup(c.Close)
	if c.first == nil {
		t.Fatal("no first-run setup on a new data directory")
	}
	return c, w, c.first
}

func TestFirstRun_Layout(t *testing.T) {
	_, w, _ := newFirstRun(t)
	writeShot(t, "golden_first_run.png", w.Canvas().Capture())
	test.AssertRendersToMarkup(t, "first_run.xml", w.Canvas())
}

func TestFirstRun_FinishSavesChoices(t *testing.T) {
	c, _, f := newFirstRun(t)
	if f.addrs.Selected != "192.168.1.10" {
		t.Errorf("preselected %q, want the first detected address", f.addrs.Selected)
	}
	if f.phonesUse.Text != "Phones will use https://192.168.1.10:8443/" {
		t.Errorf("preview %q", f.phonesUse.Text)
	}
	f.siteID.entry.SetText("")
	test.Type(f.siteID.entry, "head-office")
	f.addrs.SetSelected("10.0.0.5")
	if f.phonesUse.Text != "Phones will use https://10.0.0.5:8443/" {
		t.Errorf("preview %q", f.phonesUse.Text)
	}
	test.Tap(f.finish)

	set := c.svc.Settings()
	if set.SiteID != "head-office" || set.Advertise != "10.0.0.5" || set.ServerName != "office-pc" || !set.SetupDone {
		t.Errorf("saved %q %q %q done=%v", set.SiteID, set.Advertise, set.ServerName, set.SetupDone)
	}
	if c.first != nil {
		t.Error("setup still open")
	}

	// The next start does not offer it again.
	w2 := test.NewTempWindow(t, nil)
	c2 := newConsole(c.app, w2, Deps{Service: c.svc, Mail: mailer.Tools{}}, options{do: func(fn func()) {}})
	defer c2.Close()
	if c2.first != nil {
		t.Error("setup offered again after Finish")
	}
}

func TestFirstRun_TypedAddressAndErrors(t *testing.T) {
	c, _, f := newFirstRun(t)
	test.Type(f.other.entry, "vpn.example.org")
	if f.addrs.Selected != "" {
		t.Errorf("typing an address left %q chosen", f.addrs.Selected)
	}
	f.siteID.entry.SetText("head office!")
	test.Tap(f.finish)
	want := "A Site ID uses letters, digits, '-', '_' and '.' only."
	if !f.siteID.msg.Visible() || f.siteID.msg.Text != want {
		t.Errorf("Site ID message %q, want %q", f.siteID.msg.Text, want)
	}
	if c.first != f || f.other.entry.Text != "vpn.example.org" || f.siteID.entry.Text != "head office!" {
		t.Fatal("the setup closed or lost what was typed")
	}
	if c.svc.Settings().SetupDone {
		t.Error("setup marked done despite the error")
	}

	f.siteID.entry.SetText("head-office")
	f.submitByEnter(t)
	if set := c.svc.Settings(); set.Advertise != "vpn.example.org" || set.SiteID != "head-office" || !set.SetupDone {
		t.Errorf("saved %+v", set)
	}
}

// TestFirstRun_PreviewOfATypedPort: server.advertise may name a port
// ("host:port", behind NAT or on a site whose servers share one name),
// and the preview says the address phones will be given. It showed
// "https://[127.0.0.1:18443]:18443/" for 127.0.0.1:18443.
func TestFirstRun_PreviewOfATypedPort(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"127.0.0.1:18443", "Phones will use https://127.0.0.1:18443/"},
		{"auth.example.org:443", "Phones will use https://auth.example.org:443/"},
		{"[fd00::2]:9443", "Phones will use https://[fd00::2]:9443/"},
		{"fd00::2", "Phones will use https://[fd00::2]:8443/"},
		{"vpn.example.org", "Phones will use https://vpn.example.org:8443/"},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			_, _, f := newFirstRun(t)
			test.Type(f.other.entry, tc.typed)
			if f.phonesUse.Text != tc.want {
				t.Errorf("preview %q, want %q", f.phonesUse.Text, tc.want)
			}
		})
	}
}

// submitByEnter presses Enter in the Site ID entry.
func (f *firstRun) submitByEnter(t *testing.T) {
	t.Helper()
	f.siteID.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if f.c.first != nil {
		t.Fatal("Enter did not finish the setup")
	}
}

func TestFirstRun_SkipAndEscape(t *testing.T) {
	for _, how := range []string{"Skip", "Escape"} {
		t.Run(how, func(t *testing.T) {
			c, _, f := newFirstRun(t)
			before := c.svc.Settings()
			f.siteID.entry.SetText("changed")
			if how == "Skip" {
				test.Tap(f.skip)
			} else {
				f.siteID.input.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
			}
			after := c.svc.Settings()
			if !after.SetupDone || after.SiteID != before.SiteID || c.first != nil {
				t.Errorf("after %s: done %v, Site ID %q (was %q), open %v", how, after.SetupDone, after.SiteID, before.SiteID, c.first != nil)
			}
		})
	}
}

// TestFirstRun_StartErrorShowsOverTheSetup: on a new data directory whose
// server could not start (its port taken), the reason is on top, not
// hidden under the welcome dialog until the admin has finished the
// setup, which meanwhile says where phones will reach a server that is
// not running. Closing the error leaves the setup open.
func TestFirstRun_StartErrorShowsOverTheSetup(t *testing.T) {
	a := test.NewTempApp(t)
	svc := storetest.MustService(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, startErr := net.Listen("tcp", busy.Addr().String())
	if startErr == nil {
		t.Fatal("a second listener on a taken port")
	}
	w := test.NewTempWindow(t, nil)
	c := newConsole(a, w, Deps{Service: svc, Mail: mailer.Tools{}, Fingerprint: testFingerprint, StartErr: startErr},
		options{do: func(fn func()) {}, lanAddrs: func() []netip.Addr { return testAddrs }})
	t.Cleanup(c.Close)
	if c.first == nil {
		t.Fatal("no first-run setup on a new data directory")
	}
	top := strings.Join(visibleTexts(w.Canvas().Overlays().Top()), " ")
	if !strings.Contains(top, "The server could not start: another program already uses "+busy.Addr().String()+".") {
		t.Fatalf("on top: %q; want the reason the server did not start", top)
	}
	c.escape()
	if c.first == nil {
		t.Fatal("closing the error closed the setup too")
	}
	if top := strings.Join(visibleTexts(w.Canvas().Overlays().Top()), " "); !strings.Contains(top, "Three things decide how phones find this server.") {
		t.Errorf("after the error, on top: %q; want the setup", top)
	}
}
