package webclient_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"provisio/core"
)

// The web client follows the user's effective provisioning profile
// (#14): its support links, read-only settings (no choice between PIN
// pad and string) and a mandatory PIN (the PIN pad only); a user on the
// Default profile keeps the choice.
func TestWebClient_FollowsProfile(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.SetSetting("policy.mobile.allow_choose_extraction", "Yes"); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][3]string{{"Locked", "read_only_settings", "yes"}, {"Strict", "pin_mode", "mandatory"}} {
		p := core.Profile{Name: kv[0], ClientPolicies: core.DefaultClientPolicies(w.svc.Settings().MobileClient)}
		p.SupportEmail = kv[0] + "-help@example.org"
		if err := p.Set(kv[1], kv[2]); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.svc.AssignProfileToGroup("Locked", "Sales"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, group, profile, email string
		modes                       bool
	}{
		{"alice", "Sales", "", "Locked-help@example.org", false},
		{"bob", "Sales", "Strict", "Strict-help@example.org", false},
		{"carol", "", "", "help@example.org", true},
	}
	b := newBrowser(t, budget(t))
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			w.addUser(t, tt.user, "9132", "")
			if _, err := w.svc.UpdateUser(tt.user, func(u *core.User) error { u.Group, u.Profile = tt.group, tt.profile; return nil }); err != nil {
				t.Fatal(err)
			}
			phone := b.another()
			phone.do(chromedp.Navigate(w.code(t, tt.user).URL))
			phone.visible("#setup-phone")
			phone.do(chromedp.Tap(chromedp.CSS("#setup-phone")))
			phone.visible("#pin-view")
			if got := phone.eval(`document.getElementById('support-email').querySelector('a').textContent`); got != tt.email {
				t.Errorf("support email = %q, want %q", got, tt.email)
			}
			if got := phone.eval(`String(!document.getElementById('modes').hidden)`); got != map[bool]string{true: "true", false: "false"}[tt.modes] {
				t.Errorf("PIN/string choice shown = %s, want %v", got, tt.modes)
			}
		})
	}
}
