package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/store/storetest"
)

// TestAttached_HelpdeskAssignsProfile: a helpdesk console shows
// "Profile…" on the selected user; its dialog lists the profiles from
// the API with the user's own one chosen, and Save changes the user's
// effective profile in the store, with the console named in the audit
// line. Choosing the group's entry takes the own profile away again.
func TestAttached_HelpdeskAssignsProfile(t *testing.T) {
	test.NewTempApp(t)
	svc := storetest.MustService(t)
	if _, err := svc.AddUser(core.User{Name: "alice", Group: "Sales", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sales", "VIP"} {
		p := core.Profile{Name: name, ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
		p.SupportEmail = "help@example.org"
		if err := svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AssignProfileToGroup("Sales", "Sales"); err != nil {
		t.Fatal(err)
	}
	do, waitFor := uiQueue(t)
	effective := func() string {
		eff, err := svc.EffectiveProfile("alice")
		if err != nil {
			t.Fatal(err)
		}
		return eff.Profile.Name + " (" + string(eff.Source) + ")"
	}
	helpdesk := helpdeskAPI(svc)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	at := NewAttached(w, AttachedDeps{API: helpdesk, Remote: "provisio.lan:8444", do: do})
	t.Cleanup(at.Close)
	if !at.profileBtn.Visible() {
		t.Fatal("a helpdesk console hides Profile…")
	}
	waitFor("alice listed", func() bool { return len(at.users) == 1 })
	if !at.profileBtn.Disabled() {
		t.Error("Profile… is on with no user selected")
	}
	at.userList.Select(0)

	test.Tap(at.profileBtn)
	waitFor("the profile dialog", func() bool { return at.profileSel != nil && w.Canvas().Overlays().Top() != nil })
	if got := strings.Join(at.profileSel.Options, ", "); got != ownProfileChoice+", Default, Sales, VIP" {
		t.Errorf("the dialog offers %s", got)
	}
	if at.profileSel.Selected != ownProfileChoice {
		t.Errorf("alice has no profile of her own, the dialog chose %q", at.profileSel.Selected)
	}
	at.profileSel.SetSelected("VIP")
	tapDialogButton(t, w, "Save")
	waitFor("alice's own profile listed", func() bool { return len(at.users) == 1 && at.users[0].Profile == "VIP" })
	if got := effective(); got != "VIP (user)" {
		t.Fatalf("alice's effective profile is %s in the store, want VIP (user)", got)
	}
	tail, _ := svc.LogTail(10)
	found := false
	for _, l := range tail {
		found = found || l.Message == `User "alice" now uses profile "VIP".` && l.Actor == `console "desk-2" (helpdesk) at 127.0.0.1`
	}
	if !found {
		t.Errorf("the audit log does not name the console: %v", tail)
	}

	// Again: the dialog now shows VIP; back to the group's.
	at.profileSel = nil
	test.Tap(at.profileBtn)
	waitFor("the profile dialog", func() bool { return at.profileSel != nil })
	if at.profileSel.Selected != "VIP" {
		t.Errorf("the dialog chose %q, alice's own profile is VIP", at.profileSel.Selected)
	}
	at.profileSel.SetSelected(ownProfileChoice)
	tapDialogButton(t, w, "Save")
	waitFor("alice without a profile of her own", func() bool { return len(at.users) == 1 && at.users[0].Profile == "" })
	if got := effective(); got != "Sales (group Sales)" {
		t.Fatalf("alice's effective profile is %s, want Sales (group Sales)", got)
	}
}
