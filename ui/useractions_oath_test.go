package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"provisio/core"
	"provisio/core/oathkey"
	"provisio/core/store/storetest"
)

// issueConfirmed gives name a confirmed TOTP token, as if set up in the
// console, and returns its secret (base32) for computing the app's codes.
func issueConfirmed(t *testing.T, svc *core.Service, name string) string {
	t.Helper()
	is, err := svc.IssueOATH(name, core.OATHOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oathkey.Parse(is.URI)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ConfirmOATH(name, googleAuthenticatorCode(t, p.Secret, svc.Now())); err != nil {
		t.Fatal(err)
	}
	return p.Secret
}

// googleAuthenticatorCode is the code an app shows at at for a default
// token (SHA-1, 6 digits, 30 s), computed by pquerna/otp.
func googleAuthenticatorCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUsersScreen_RevokeAuthenticatorApp: a user who lost the phone with
// their authenticator app on it. Revoke device… was disabled for them
// (they have no provisioned device), so the helpdesk had no way to stop
// the app's codes short of deleting the user.
func TestUsersScreen_RevokeAuthenticatorApp(t *testing.T) {
	h := newOATHHarness(t)
	h.listUser("jo")
	secret := issueConfirmed(t, h.svc, "jo")
	s := h.c.users
	h.waitFor("the app listed", func() bool { return s.shown[0].hasToken() })
	s.list.Select(0)
	if s.revoke.Disabled() {
		t.Fatal("Revoke device… is disabled for a user whose phone has an authenticator app")
	}
	test.Tap(s.revoke)
	if s.confirm == nil {
		t.Fatal("Revoke did not ask")
	}
	want := "Revoke jo's authenticator app (TOTP)? Its codes stop working at once; jo must reprovision to sign in again."
	if !contains(visibleTexts(h.win.Canvas().Overlays().Top()), want) {
		t.Errorf("confirmation reads %q", visibleTexts(h.win.Canvas().Overlays().Top()))
	}
	s.confirm.Confirm()
	h.waitFor("the app gone from the list", func() bool { return deviceState(*s.shown[0], h.svc.Now()) == "none" })
	if !s.revoke.Disabled() {
		t.Error("Revoke device… still offered after the revoke")
	}
	if err := h.svc.PutAgent(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(30 * time.Second)
	if err := h.svc.Login(core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "vpn-secret-1234"}, "jo",
		googleAuthenticatorCode(t, secret, h.svc.Now())); err == nil {
		t.Error("the revoked app still logs in")
	}
}

// TestAttached_AuthenticatorAppShownAndRevoked: the helpdesk window said
// "no device" for a user with an authenticator app and would not revoke
// it; it names the app and revokes it.
func TestAttached_AuthenticatorAppShownAndRevoked(t *testing.T) {
	test.NewTempApp(t)
	svc := oathService(t, storetest.NewClock(start))
	storetest.MustAddUser(t, svc, "alice", "1357")
	issueConfirmed(t, svc, "alice")
	at, w, waitFor := helpdeskWindow(t, svc)
	waitFor("alice listed", func() bool { return len(at.users) == 1 })
	if line := attachedUserLine(at.users[0]); !strings.Contains(line, "authenticator app (TOTP)") || strings.Contains(line, "no device") {
		t.Errorf("the helpdesk reads %q", line)
	}
	at.userList.Select(0)
	if at.revokeBtn.Disabled() {
		t.Fatal("Revoke device… is disabled for a user with an authenticator app")
	}
	test.Tap(at.revokeBtn)
	if !contains(visibleTexts(w.Canvas().Overlays().Top()), "The authenticator app (TOTP) stops working at once and alice must reprovision. Revoke it?") {
		t.Errorf("the question reads %q", visibleTexts(w.Canvas().Overlays().Top()))
	}
	tapDialogButton(t, w, "Yes")
	waitFor("the app revoked", func() bool { return len(at.users) == 1 && at.users[0].App == "" })
	if st, _ := svc.OATHStatus("alice"); st.State != core.OATHStateNone {
		t.Errorf("alice's token after the revoke: %+v", st)
	}
}

// TestReprovision_UserWithAuthenticatorApp: Reprovision (mobile client)
// for a user whose app works made a code without a word, and the app
// stopped when the phone provisioned. The console asks first, as for a
// phone, and the dialog says what stops; the helpdesk window says it too.
func TestReprovision_UserWithAuthenticatorApp(t *testing.T) {
	h := newOATHHarness(t)
	h.listUser("kim")
	issueConfirmed(t, h.svc, "kim")
	h.c.openReprovision("kim")
	if h.c.oldPhone == nil || h.c.reprov != nil {
		t.Fatal("no question about the authenticator app")
	}
	want := "kim already has an authenticator app (TOTP). It keeps working until the new phone provisions; then it stops working."
	if !contains(visibleTexts(h.win.Canvas().Overlays().Top()), want) {
		t.Errorf("the question reads %q", visibleTexts(h.win.Canvas().Overlays().Top()))
	}
	h.c.oldPhone.Confirm()
	if h.c.reprov == nil || !strings.Contains(h.c.reprov.where.Text, oldAppNote) {
		t.Fatalf("the dialog does not say the app stops")
	}

	test.NewTempApp(t)
	at, _, waitFor := helpdeskWindow(t, h.svc)
	waitFor("kim listed", func() bool { return len(at.users) == 1 })
	at.userList.Select(0)
	test.Tap(at.reprovBtn)
	waitFor("the code dialog", func() bool { return at.reprov != nil })
	if !strings.Contains(at.reprov.where.Text, oldAppNote) {
		t.Errorf("the helpdesk window's dialog reads %q", at.reprov.where.Text)
	}
}
