package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/qr/qrtest"
	"provisio/core/store/storetest"
)

// The authenticator-app dialog from issue to the end of its token: what
// stays on screen once the token is confirmed, expires or is replaced by
// another console, and its keys.

// oathDialogFor opens the authenticator-app dialog for a new user name in
// a window large enough for the QR code.
func oathDialogFor(t *testing.T, h *harness, name string) *oathDialog {
	t.Helper()
	h.win.Resize(fyne.NewSize(1280, 900))
	storetest.MustAddUser(t, h.svc, name, "1234")
	h.c.openReprovisionOATH(name, nil)
	h.answered()
	if h.c.oath == nil {
		t.Fatal("no authenticator-app dialog")
	}
	h.settle()
	return h.c.oath
}

// secretOnScreen reports whether the window still shows the token's key:
// as a QR code that decodes to its otpauth URI, or as the typed key.
func secretOnScreen(h *harness, o *oathDialog, p oathkey.Parsed) string {
	if got, err := qrtest.Decode(h.win.Canvas().Capture()); err == nil && strings.Contains(got, p.Secret) {
		return "the QR code"
	}
	for _, s := range visibleTexts(h.win.Canvas().Overlays().Top()) {
		if strings.Contains(strings.ReplaceAll(s, " ", ""), p.Secret[:16]) {
			return "the key"
		}
	}
	return ""
}

// TestReprovisionOATH_SecretLeavesTheScreen: the key of a token in use
// stayed on screen, QR and text, for as long as the dialog was open, so
// anyone passing could add the user's token to their own phone. Once the
// token is confirmed, expired or replaced, neither is shown. The
// confirmation says what it revoked (it said "the previous device or
// token was revoked" for a user who had neither) and that the code just
// typed is spent.
func TestReprovisionOATH_SecretLeavesTheScreen(t *testing.T) {
	tests := []struct {
		name   string
		end    func(t *testing.T, h *harness, o *oathDialog, p oathkey.Parsed)
		status string
	}{
		{"confirmed in the dialog", func(t *testing.T, h *harness, o *oathDialog, p oathkey.Parsed) {
			o.appCode.SetText(googleAuthenticatorCode(t, p.Secret, h.svc.Now()))
			test.Tap(o.confirm)
		}, oathConfirmed + " in the console. The user logs in with the app's next code (this one is used)."},
		{"confirmed by the user's first login", func(t *testing.T, h *harness, o *oathDialog, p oathkey.Parsed) {
			vpn := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"}
			if err := h.svc.PutAgent(vpn); err != nil {
				t.Fatal(err)
			}
			if err := h.svc.Login(vpn, o.user, googleAuthenticatorCode(t, p.Secret, h.svc.Now())); err != nil {
				t.Fatal(err)
			}
		}, oathConfirmed + " by the user's first login."},
		{"expired", func(t *testing.T, h *harness, o *oathDialog, p oathkey.Parsed) {
			h.clock.Advance(601 * time.Second)
		}, oathExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOATHHarness(t)
			o := oathDialogFor(t, h, "dana")
			p, err := oathkey.Parse(o.issued.URI)
			if err != nil {
				t.Fatal(err)
			}
			if where := secretOnScreen(h, o, p); where != "the QR code" {
				t.Fatalf("while pending the QR code is not readable (%q)", where)
			}
			tt.end(t, h, o, p)
			h.waitFor(tt.status, func() bool { return o.status.Text == tt.status })
			writeShot(t, "reprovision-oath-"+strings.ReplaceAll(tt.name, " ", "-")+".png", h.win.Canvas().Capture())
			// A status of two lines was drawn in the space of one, over
			// the separator and the note below it.
			if got, want := o.status.Size().Height, o.status.MinSize().Height; got < want {
				t.Errorf("the status is %v high, its text needs %v", got, want)
			}
			if where := secretOnScreen(h, o, p); where != "" {
				t.Errorf("after %s the window still shows the key as %s", tt.name, where)
			}
		})
	}
}

// TestReprovisionOATH_ConfirmSaysWhatWasRevoked: with a phone before, the
// confirmation names it.
func TestReprovisionOATH_ConfirmSaysWhatWasRevoked(t *testing.T) {
	h := newOATHHarness(t)
	storetest.MustAddUser(t, h.svc, "erin", "1234")
	ic, err := h.svc.CreateProvisionCode("erin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "erin", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	h.c.openReprovisionOATH("erin", nil)
	o := h.c.oath
	p, _ := oathkey.Parse(o.issued.URI)
	o.appCode.SetText(googleAuthenticatorCode(t, p.Secret, h.svc.Now()))
	test.Tap(o.confirm)
	want := oathConfirmed + " in the console; erin's phone with security strings was revoked. The user logs in with the app's next code (this one is used)."
	if o.status.Text != want {
		t.Errorf("status %q, want %q", o.status.Text, want)
	}
}

// TestReprovisionOATH_AnotherConsoleIssues: two helpdesk people set up
// the same user's app at once. The second token replaces the first, whose
// dialog went on counting down over a QR code that could never be
// confirmed, and said "That code is not right. Check the phone's clock"
// to a code from it. It now says another token replaced it and hides it;
// when the other console's token is confirmed, this dialog does not claim
// its own was.
func TestReprovisionOATH_AnotherConsoleIssues(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) *harness
	}{
		{"standalone", newOATHHarness},
		{"attached", func(t *testing.T) *harness {
			h, _ := newAttachedHarnessWith(t, attachedService{oath: true})
			return h
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.open(t)
			o := oathDialogFor(t, h, "fay")
			mine, _ := oathkey.Parse(o.issued.URI)
			code := googleAuthenticatorCode(t, mine.Secret, h.svc.Now())
			other := core.LocalAdmin{Svc: h.svc, Operator: `console "desk-2" (admin) at 127.0.0.1`}
			h.clock.Advance(2 * time.Second)
			theirs, err := other.IssueOATH("fay", core.OATHOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Typed before the dialog's tick noticed: the sentence says why.
			o.appCode.SetText(code)
			o.confirmCode()
			h.answered()
			if o.status.Text != oathReplaced {
				t.Errorf("a code from the replaced token: %q", o.status.Text)
			}
			h.waitFor("replaced", func() bool { return o.status.Text == oathReplaced })
			if !o.confirm.Disabled() {
				t.Error("Confirm still offered for a replaced token")
			}
			if where := secretOnScreen(h, o, mine); where != "" {
				t.Errorf("the replaced token is still shown as %s", where)
			}
			// The other console's token is confirmed: this dialog stays as
			// it is, and its New token issues a fresh one if asked.
			p, _ := oathkey.Parse(theirs.URI)
			if err := h.svc.ConfirmOATH("fay", googleAuthenticatorCode(t, p.Secret, h.svc.Now())); err != nil {
				t.Fatal(err)
			}
			h.settle()
			if o.status.Text != oathReplaced {
				t.Errorf("after the other token was confirmed: %q", o.status.Text)
			}
		})
	}
}

// TestReprovisionOATH_Keys: the dialog's buttons and choices were Fyne's,
// which drop Escape (and Enter), so with the focus on New token or on
// Type the dialog did not close. They are the console's now: Escape
// closes from each of them, Enter presses a focused button.
func TestReprovisionOATH_Keys(t *testing.T) {
	h := newOATHHarness(t)
	o := oathDialogFor(t, h, "gus")
	pick := map[string]func(o *oathDialog) fyne.Focusable{
		"Token kind":    func(o *oathDialog) fyne.Focusable { return o.kind.items[0] },
		"Close":         func(o *oathDialog) fyne.Focusable { return o.closeBtn },
		"New token":     func(o *oathDialog) fyne.Focusable { return o.newToken },
		"Send by email": func(o *oathDialog) fyne.Focusable { return o.sendMail },
		"Confirm":       func(o *oathDialog) fyne.Focusable { return o.confirm },
		"Type":          func(o *oathDialog) fyne.Focusable { return o.oathType },
		"Digits":        func(o *oathDialog) fyne.Focusable { return o.digits },
		"Algorithm":     func(o *oathDialog) fyne.Focusable { return o.algorithm },
	}
	o.dlg.Hide()
	for name, f := range pick {
		h.c.openReprovisionOATH("gus", nil)
		w := f(h.c.oath)
		h.win.Canvas().Focus(w)
		w.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
		if h.c.oath != nil || h.win.Canvas().Overlays().Top() != nil {
			t.Errorf("Escape on %s left the dialog open", name)
			h.c.oath.dlg.Hide()
		}
	}
	// Enter on a focused New token issues a new token.
	h.c.openReprovisionOATH("gus", nil)
	o = h.c.oath
	first := o.issued.URI
	h.clock.Advance(time.Second)
	h.win.Canvas().Focus(o.newToken)
	o.newToken.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if o.issued.URI == first {
		t.Error("Enter on New token issued nothing")
	}
	if o.status.Importance == widget.DangerImportance {
		t.Errorf("status %q", o.status.Text)
	}
}

// TestReprovisionOATH_WarnsOfChoicesAppsIgnore: some apps ignore the
// algorithm and digits in the QR code (docs/decisions.md, "OATH tokens").
// With SHA256 chosen, such an app shows SHA-1 codes, and the dialog said
// only "That code is not right. Check the phone's clock", sending the
// helpdesk after the wrong cause. The choice now carries a note, and the
// refusal names the likely cause.
func TestReprovisionOATH_WarnsOfChoicesAppsIgnore(t *testing.T) {
	h := newOATHHarness(t)
	o := oathDialogFor(t, h, "hal")
	if o.compat.Visible() {
		t.Errorf("a note over the default choices: %q", o.compat.Text)
	}
	h.clock.Advance(time.Second)
	o.algorithm.SetSelected(core.OATHSHA256)
	if !o.compat.Visible() || o.compat.Text != "Microsoft and some Google Authenticator versions ignore SHA256: keep TOTP, SHA1, 6 digits unless the app takes them (Aegis, FreeOTP…)." {
		t.Errorf("SHA256 chosen: note %v %q", o.compat.Visible(), o.compat.Text)
	}
	p, err := oathkey.Parse(o.issued.URI)
	if err != nil || p.Algorithm != core.OATHSHA256 {
		t.Fatalf("token %+v %v", p, err)
	}
	// An app that ignores the algorithm computes SHA-1 codes.
	o.appCode.SetText(googleAuthenticatorCode(t, p.Secret, h.svc.Now()))
	test.Tap(o.confirm)
	h.settle()
	writeShot(t, "reprovision-oath-sha256.png", h.win.Canvas().Capture())
	if !strings.Contains(o.status.Text, "The app may not support SHA256: try TOTP, SHA1, 6 digits.") {
		t.Errorf("refusal reads %q", o.status.Text)
	}
	o.algorithm.SetSelected(core.OATHSHA1)
	if o.compat.Visible() {
		t.Errorf("the note stays over SHA1, 6 digits, TOTP: %q", o.compat.Text)
	}
	h.clock.Advance(time.Second)
	o.oathType.SetSelected(oathTypeHOTP)
	if want := "Microsoft Authenticator has no counter-based (HOTP) tokens: keep TOTP, SHA1, 6 digits unless the app takes them (Aegis, FreeOTP…)."; o.compat.Text != want || !o.compat.Visible() {
		t.Errorf("HOTP chosen: note %v %q", o.compat.Visible(), o.compat.Text)
	}
}

// TestReprovisionOATH_MailedLinkOpenedReplacesTheScreen: "Send by email"
// leaves the token on screen pending; once the user opens the mailed link,
// its page issues the token the phone gets, and the dialog says the one
// on screen no longer works instead of counting it down.
func TestReprovisionOATH_MailedLinkOpenedReplacesTheScreen(t *testing.T) {
	h := newOATHHarness(t)
	o := oathDialogFor(t, h, "ivy")
	onScreen, _ := oathkey.Parse(o.issued.URI)
	ic, err := h.svc.MailOATHProvisionCode("ivy", core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	if _, err := h.svc.RedeemOATHProvision("127.0.0.1", "ivy", ic.Code); err != nil {
		t.Fatal(err)
	}
	h.waitFor("replaced", func() bool { return o.status.Text == oathReplaced })
	if where := secretOnScreen(h, o, onScreen); where != "" {
		t.Errorf("the replaced token is still shown as %s", where)
	}
}

// TestReprovisionOATH_SaysWhatItWillReplace: the mobile-client dialog
// says the user's phone stops once the new one provisions; the
// authenticator-app dialog said only "their current device keeps working"
// for every user, with a phone or without. It names what confirming ends.
func TestReprovisionOATH_SaysWhatItWillReplace(t *testing.T) {
	h := newOATHHarness(t)
	storetest.MustAddUser(t, h.svc, "jay", "1234")
	h.c.openReprovisionOATH("jay", nil)
	if o := h.c.oath; strings.Contains(o.note.Text, "keeps working") {
		t.Errorf("a user with nothing: %q", o.note.Text)
	}
	h.c.oath.dlg.Hide()
	ic, err := h.svc.CreateProvisionCode("jay")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "jay", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	h.c.openReprovisionOATH("jay", nil)
	if o := h.c.oath; !strings.Contains(o.note.Text, " Until then jay's phone with security strings keeps working; then it stops. ") {
		t.Errorf("a user with a phone: %q", o.note.Text)
	}
	h.win.Resize(fyne.NewSize(1280, 900))
	h.settle()
	writeShot(t, "reprovision-oath-phone.png", h.win.Canvas().Capture())
	// Once confirmed, the status says the phone was revoked instead.
	o := h.c.oath
	p, _ := oathkey.Parse(o.issued.URI)
	o.appCode.SetText(googleAuthenticatorCode(t, p.Secret, h.svc.Now()))
	test.Tap(o.confirm)
	if strings.Contains(o.note.Text, "keeps working") || !strings.Contains(o.status.Text, "jay's phone with security strings was revoked") {
		t.Errorf("after confirming: note %q, status %q", o.note.Text, o.status.Text)
	}
	h.c.oath.dlg.Hide()
	storetest.MustAddUser(t, h.svc, "kay", "1234")
	issueConfirmed(t, h.svc, "kay")
	h.c.openReprovisionOATH("kay", nil)
	if o := h.c.oath; !strings.Contains(o.note.Text, " Until then kay's authenticator app (TOTP) keeps working; then it stops. ") {
		t.Errorf("a user with an app: %q", o.note.Text)
	}
}

// TestReprovisionOATH_FitsAt1280x800: with every line the dialog can show
// at once (a user with a phone, HOTP, SHA512, 8 digits and a refused
// code), it fits a 1280×800 window; the notes added for the choices and
// the phone first pushed the buttons over the last lines.
func TestReprovisionOATH_FitsAt1280x800(t *testing.T) {
	h := newOATHHarness(t)
	h.win.Resize(fyne.NewSize(1280, 800))
	storetest.MustAddUser(t, h.svc, "jay", "1234")
	ic, err := h.svc.CreateProvisionCode("jay")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Provision("127.0.0.1", "jay", ic.Code, "Android 15"); err != nil {
		t.Fatal(err)
	}
	h.c.openReprovisionOATH("jay", nil)
	o := h.c.oath
	for _, choose := range []func(){
		func() { o.oathType.SetSelected(oathTypeHOTP) },
		func() { o.digits.SetSelected("8") },
		func() { o.algorithm.SetSelected(core.OATHSHA512) },
	} {
		h.clock.Advance(time.Second)
		choose()
	}
	o.appCode.SetText("00000000")
	o.confirmCode()
	h.settle()
	writeShot(t, "reprovision-oath-1280x800.png", h.win.Canvas().Capture())
	if !o.compat.Visible() || o.status.Importance != widget.DangerImportance || !strings.Contains(o.note.Text, "jay's phone") {
		t.Fatalf("not every line is shown: note %q, status %q", o.compat.Text, o.status.Text)
	}
	if got, room := o.dlg.MinSize().Height, h.win.Canvas().Size().Height; got > room {
		t.Errorf("the dialog needs %v px of the window's %v", got, room)
	}
}
