package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/oathkey"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// newOATHHarness is a console whose service can issue OATH tokens, with
// OATH turned on.
func newOATHHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, func(h *harness, d *Deps) {
		h.svc = oathService(t, h.clock)
		d.Service = h.svc
	})
}

// oathService is a service on clock that can issue OATH tokens, with
// OATH turned on and the harness's settings.
func oathService(t *testing.T, clock *storetest.Clock) *core.Service {
	t.Helper()
	svc := storetest.MustService(t, core.WithClock(clock), core.WithOATHKeys(oathkey.Keys{}))
	for k, v := range map[string]string{"server.siteid": "office", "console.setup_done": "yes",
		"server.name": "office-pc", "oath.enabled": "yes"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// rowOf waits until the users list shows name with a device column
// containing want, and returns that column.
func (h *harness) rowOf(name, want string) string {
	h.t.Helper()
	got := ""
	h.waitFor(name+" listed with "+want, func() bool {
		for _, r := range h.c.users.shown {
			if r.Name == name {
				got = deviceState(*r, h.svc.Now())
				return strings.Contains(got, want)
			}
		}
		return false
	})
	return got
}

// findRadio returns the first radio group under o.
func findRadio(o fyne.CanvasObject) *widget.RadioGroup {
	if r, ok := o.(*widget.RadioGroup); ok {
		return r
	}
	var children []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		children = c.Objects
	case fyne.Widget:
		children = test.WidgetRenderer(c).Objects()
	}
	for _, ch := range children {
		if r := findRadio(ch); r != nil {
			return r
		}
	}
	return nil
}

// TestReprovisionOATH_QRScansAndConfirms: the admin switches the
// Reprovision dialog to "Authenticator app (OATH)"; the QR code on the
// canvas decodes to an otpauth URI an app accepts; the code the app
// computes confirms the token and the old device stops working.
func TestReprovisionOATH_QRScansAndConfirms(t *testing.T) {
	h := newOATHHarness(t)
	h.win.Resize(fyne.NewSize(1280, 900))
	_, fingerprint := agentxmltest.MustServer(t, h.svc)
	d := h.openFor("alice")

	// alice has a phone with strings from an earlier provision.
	phone, err := agentxmltest.NewMobileClient(d.issued.URL, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("iOS 17"); err != nil {
		t.Fatal(err)
	}
	h.settle()

	radio := findRadio(h.win.Canvas().Overlays().Top())
	if radio == nil || radio.Selected != choiceStrings {
		t.Fatalf("the Reprovision dialog has no token choice (%v)", radio)
	}
	radio.SetSelected(choiceOATH)
	o := h.c.oath
	if o == nil || h.c.reprov != nil {
		t.Fatalf("choosing OATH: oath dialog %v, strings dialog %v", o, h.c.reprov)
	}
	h.settle()
	if o.status.Text != oathWaiting || !strings.HasPrefix(o.countdown.Text, "Confirm within 10:00") {
		t.Errorf("status %q, countdown %q", o.status.Text, o.countdown.Text)
	}

	// What the authenticator app reads off the screen.
	shot := h.win.Canvas().Capture()
	writeShot(t, "reprovision-oath.png", shot)
	got := qrtest.MustDecode(t, shot)
	if got != o.issued.URI {
		t.Fatalf("QR reads %q, want the otpauth URI %q", got, o.issued.URI)
	}
	app, err := oathkey.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if app.Kind != "totp" || app.Issuer != "office" || app.Account != "alice" || app.Digits != 6 || app.Period != 30 {
		t.Errorf("parsed URI = %+v", app)
	}
	if strings.ReplaceAll(o.secret.Text, " ", "") != app.Secret {
		t.Errorf("secret on screen %q, URI secret %q", o.secret.Text, app.Secret)
	}
	for _, g := range strings.Fields(o.secret.Text) {
		if len(g) != 4 {
			t.Errorf("secret not grouped in fours: %q", o.secret.Text)
			break
		}
	}
	if side := int(o.qrImage.Size().Width * h.win.Canvas().Scale()); side < minQRSide {
		t.Errorf("OATH QR drawn %d px wide, want at least %d like the provision QR", side, minQRSide)
	}
	h.rowOf("alice", "authenticator app (TOTP) pending until 09:10")

	// A wrong code: a sentence, nothing lost.
	test.Type(o.appCode, "000000")
	test.Tap(o.confirm)
	if o.status.Importance != widget.DangerImportance || o.appCode.Text != "000000" {
		t.Errorf("wrong code: status %q, entry %q", o.status.Text, o.appCode.Text)
	}
	// The old phone still works while the token is pending.
	ac, err := agentxmltest.NewAgentClient(phone.AgentURL()[:strings.Index(phone.AgentURL(), "/proxy")], fingerprint, "vpn-secret-1234")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"}); err != nil {
		t.Fatal(err)
	}
	if err := phone.DownloadStrings(); err != nil {
		t.Fatal(err)
	}
	c, _ := phone.OTC("1234")
	if res, _, err := ac.Login("alice", c); err != nil || res != "PASS" {
		t.Fatalf("old phone while pending: %s %v", res, err)
	}

	code, err := app.TOTP(h.svc.Now())
	if err != nil {
		t.Fatal(err)
	}
	o.appCode.SetText(code)
	o.appCode.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter in the field confirms
	if !strings.HasPrefix(o.status.Text, oathConfirmed) {
		t.Fatalf("after the app's code: %q", o.status.Text)
	}
	c, _ = phone.OTC("1234")
	if res, _, _ := ac.Login("alice", c); res != "FAIL" {
		t.Errorf("old phone after confirmation: %s", res)
	}
	if got := h.rowOf("alice", "authenticator app (TOTP) confirmed"); strings.Contains(got, "provisioned") {
		t.Errorf("users list still shows the revoked device: %q", got)
	}
	// Switching back offers the mobile client again, after asking about
	// the app that a phone would end.
	o.choice.SetSelected(choiceStrings)
	if h.c.oldPhone == nil || h.c.oath != nil {
		t.Fatal("choosing the mobile client for a user with an app did not ask first")
	}
	h.c.oldPhone.Confirm()
	if h.c.reprov == nil || h.c.oath != nil {
		t.Fatal("choosing the mobile client did not reopen its dialog")
	}
}

// TestReprovisionOATH_ExpiresOnScreen: the countdown ends in "expired"
// and the OATH choice with OATH off says why.
func TestReprovisionOATH_ExpiresOnScreen(t *testing.T) {
	h := newOATHHarness(t)
	storetest.MustAddUser(t, h.svc, "bob", "1234")
	h.c.openReprovisionOATH("bob", nil)
	o := h.c.oath
	if o == nil {
		t.Fatal("no OATH dialog")
	}
	o.oathType.SetSelected(oathTypeHOTP)
	o.digits.SetSelected("8")
	test.Tap(o.newToken)
	if p, err := oathkey.Parse(o.issued.URI); err != nil || p.Kind != "hotp" || p.Digits != 8 {
		t.Fatalf("new token: %+v %v", p, err)
	}
	h.clock.Advance(601 * time.Second)
	h.waitFor("expired", func() bool { return o.status.Text == oathExpired })
	o.dlg.Hide()

	if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
		t.Fatal(err)
	}
	h.c.openReprovisionOATH("bob", nil)
	if h.c.oath != nil {
		t.Fatal("an OATH dialog opened with OATH off")
	}
	// From the Reprovision dialog, the OATH choice offers to turn OATH on.
	h.c.openReprovision("bob")
	radio := findRadio(h.win.Canvas().Overlays().Top())
	radio.SetSelected(choiceOATH)
	if h.c.offer == nil || h.c.oath != nil {
		t.Fatal("choosing OATH while it is off did not ask")
	}
	h.c.offer.Dismiss()
	if radio.Selected != choiceStrings || h.c.reprov == nil {
		t.Errorf("after No: choice %q, dialog %v", radio.Selected, h.c.reprov)
	}
	radio.SetSelected(choiceOATH)
	h.c.offer.Confirm()
	if !h.svc.Settings().OATH.Enabled || h.c.oath == nil || h.c.reprov != nil {
		t.Errorf("after Turn on: enabled %v, OATH dialog %v", h.svc.Settings().OATH.Enabled, h.c.oath)
	}
}

// TestReprovisionOATH_NoMobileCodeLeftPending: turning from the mobile
// client to the authenticator app withdraws the provision code the
// mobile-client dialog made (it stayed valid for its whole validity), also
// when OATH is turned on on the way; a user who already has a phone is
// offered the authenticator app in the "already has a phone" question, so
// no code is made at all.
func TestReprovisionOATH_NoMobileCodeLeftPending(t *testing.T) {
	const withdrawn = `Provision code for user "erin" withdrawn; it no longer works.`
	for _, tt := range []struct {
		name string
		// choose gets from the users list to the authenticator app and
		// returns the mobile-client code made on the way, "" for none.
		choose func(h *harness) string
	}{
		{"from the Reprovision dialog", func(h *harness) string {
			d := h.openFor("erin")
			findRadio(h.win.Canvas().Overlays().Top()).SetSelected(choiceOATH)
			if d.status.Text != statusWithdrawn {
				h.t.Errorf("the mobile-client dialog's status %q", d.status.Text)
			}
			return d.issued.Code
		}},
		{"turning OATH on on the way", func(h *harness) string {
			if err := h.svc.SetSetting("oath.enabled", "no"); err != nil {
				h.t.Fatal(err)
			}
			d := h.openFor("erin")
			findRadio(h.win.Canvas().Overlays().Top()).SetSelected(choiceOATH)
			if p, _ := h.svc.PendingCodes(); p["erin"].IsZero() {
				h.t.Error("the code was withdrawn before the admin turned OATH on")
			}
			h.c.offer.Confirm()
			return d.issued.Code
		}},
		{"a user with a phone, from the question", func(h *harness) string {
			storetest.MustAddUser(h.t, h.svc, "erin", "1234")
			ic, err := h.svc.CreateProvisionCode("erin")
			if err != nil {
				h.t.Fatal(err)
			}
			if _, err := h.svc.Provision("127.0.0.1", "erin", ic.Code, "iOS 17"); err != nil {
				h.t.Fatal(err)
			}
			h.c.openReprovision("erin")
			if h.c.oldPhone == nil || h.c.reprov != nil {
				h.t.Fatal("no question about the phone")
			}
			radio := findRadio(h.win.Canvas().Overlays().Top())
			if radio == nil {
				h.t.Fatal("the question offers no authenticator app")
			}
			radio.SetSelected(choiceOATH)
			return ""
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newOATHHarness(t)
			code := tt.choose(h)
			if h.c.oath == nil || h.c.reprov != nil {
				t.Fatalf("authenticator-app dialog %v, mobile-client dialog %v", h.c.oath != nil, h.c.reprov != nil)
			}
			if top := h.win.Canvas().Overlays().Top(); findRadio(top) != h.c.oath.choice {
				t.Error("the authenticator-app dialog is not the one on top")
			}
			if p, _ := h.svc.PendingCodes(); !p["erin"].IsZero() {
				t.Errorf("a mobile-client code is pending until %v", p["erin"])
			}
			if code == "" {
				if n := logCount(t, h.svc, `Provision code created for user "erin"`); n != 1 { // the first phone's
					t.Errorf("%d codes made; want none besides the first phone's", n-1)
				}
				return
			}
			if logCount(t, h.svc, withdrawn) != 1 {
				t.Errorf("log lacks %q", withdrawn)
			}
			if _, err := h.svc.Provision("127.0.0.1", "erin", code, "iOS 17"); core.ErrorCode(err) != core.CodeProvision {
				t.Errorf("the withdrawn code provisions: %v", err)
			}
		})
	}
}

// logCount counts the audit lines that are want.
func logCount(t *testing.T, svc *core.Service, want string) int {
	t.Helper()
	entries, err := svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Message == want {
			n++
		}
	}
	return n
}

// TestReprovisionOATH_ChoicesReissue: changing Type, Digits or Algorithm
// issues the token they describe at once, and the QR on screen holds it
// (the QR stayed TOTP/6/SHA1 until "New token" was pressed).
func TestReprovisionOATH_ChoicesReissue(t *testing.T) {
	h := newOATHHarness(t)
	h.win.Resize(fyne.NewSize(1280, 900))
	storetest.MustAddUser(t, h.svc, "bob", "1234")
	h.c.openReprovisionOATH("bob", nil)
	o := h.c.oath
	o.oathType.SetSelected(oathTypeHOTP)
	o.digits.SetSelected("8")
	o.algorithm.SetSelected(core.OATHSHA256)
	h.settle()
	p, err := oathkey.Parse(o.issued.URI)
	if err != nil || p.Kind != "hotp" || p.Digits != 8 || p.Algorithm != core.OATHSHA256 {
		t.Fatalf("the choices show HOTP/8/SHA256, the token is %s/%d/%s (%v)", p.Kind, p.Digits, p.Algorithm, err)
	}
	if got := qrtest.MustDecode(t, h.win.Canvas().Capture()); got != o.issued.URI {
		t.Errorf("the QR reads %q, want the token the choices describe %q", got, o.issued.URI)
	}
}
