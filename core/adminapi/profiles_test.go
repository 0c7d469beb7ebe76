package adminapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestRemoteConsole_HelpdeskAssignsProfile: over mutual TLS on loopback,
// a paired helpdesk console lists the profiles and gives a user one
// (#14, "a helpdesk person can assign a profile"); the user's effective
// profile changes in the store and the audit line names the console. An
// unknown profile is a 400 sentence that leaves the user's profile as it
// was; an unknown user is a 404.
func TestRemoteConsole_HelpdeskAssignsProfile(t *testing.T) {
	e := newRemote(t, adminapi.RemoteOptions{})
	if _, err := e.svc.AddUser(core.User{Name: "alice", Group: "Sales", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sales", "VIP"} {
		p := core.Profile{Name: name, ClientPolicies: core.DefaultClientPolicies(e.svc.Settings().MobileClient)}
		p.SupportEmail = "help@example.org"
		if err := e.svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.AssignProfileToGroup("Sales", "Sales"); err != nil {
		t.Fatal(err)
	}
	api, err := adminapi.DialRemote(e.pair(t, "desk-2", core.RoleHelpdesk))
	if err != nil {
		t.Fatal(err)
	}

	all, err := api.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "Default,Sales,VIP" || !all[0].Default || all[1].Default || strings.Join(all[1].Groups, ",") != "Sales" {
		t.Fatalf("profiles %+v", all)
	}

	effective := func() string {
		t.Helper()
		eff, err := e.svc.EffectiveProfile("alice")
		if err != nil {
			t.Fatal(err)
		}
		return eff.Profile.Name + " (" + string(eff.Source) + ")"
	}
	tests := []struct {
		name, user, profile string
		want                core.AdminUserProfile
		wantCode            core.Code
		wantMsg             string
		wantEffective       string
	}{
		{"assign", "alice", "vip", core.AdminUserProfile{User: "alice", Own: "VIP", Profile: "VIP", Source: "user"}, "", "", "VIP (user)"},
		{"unknown profile", "alice", "Nope", core.AdminUserProfile{}, core.CodeInvalid, `There is no profile "Nope".`, "VIP (user)"},
		{"unknown user", "nobody", "VIP", core.AdminUserProfile{}, core.CodeNotFound, `There is no user "nobody".`, "VIP (user)"},
		{"back to the group's", "ALICE", "", core.AdminUserProfile{User: "alice", Profile: "Sales", Source: "group Sales"}, "", "", "Sales (group Sales)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := api.AssignProfile(tt.user, tt.profile)
			if tt.wantCode == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
			} else {
				var ce *core.Error
				if !errors.As(err, &ce) || ce.Code != tt.wantCode || ce.Message != tt.wantMsg {
					t.Fatalf("got %+v, %v; want %s %q", got, err, tt.wantCode, tt.wantMsg)
				}
			}
			if got := effective(); got != tt.wantEffective {
				t.Fatalf("alice's effective profile is %s, want %s", got, tt.wantEffective)
			}
		})
	}
	log := e.log(t)
	for _, want := range []string{
		`[console "desk-2" (helpdesk) at 127.0.0.1] User "alice" now uses profile "VIP".`,
		`[console "desk-2" (helpdesk) at 127.0.0.1] User "alice" no longer has a profile of their own.`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, log)
		}
	}

	// Both are the helpdesk's; editing profiles is not in the API at all.
	for _, act := range []core.AdminAction{core.ActReadProfiles, core.ActAssignProfile} {
		if !core.RoleHelpdesk.Allows(act) || !core.RoleAdmin.Allows(act) || core.Role("guest").Allows(act) {
			t.Errorf("%s: helpdesk and admin must be allowed, nobody else", act)
		}
	}
}

// TestHandler_ProfileStillAssignedNamesReassignTo: the API's refusal to
// delete a profile still assigned names the parameter that does it,
// `?reassign_to=` (the command line names --reassign); a console
// attached through the API keeps the console's own words, which name
// the Delete dialog's choice, not a query parameter.
func TestHandler_ProfileStillAssignedNamesReassignTo(t *testing.T) {
	svc, sock := newServer(t)
	p := core.Profile{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(svc.Settings().MobileClient)}
	p.SupportEmail = "help@example.org"
	if err := svc.AddProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := svc.AssignProfileToGroup("Sales", "Sales"); err != nil {
		t.Fatal(err)
	}
	const head = `Profile "Sales" is still assigned to group Sales; assign them another profile first, or `

	req, _ := http.NewRequest(http.MethodDelete, "http://provisio/v1/profiles/Sales", nil)
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	code, msg, b := apiError(t, resp)
	if want := head + "add ?reassign_to=OTHER to the request to move them to profile OTHER."; resp.StatusCode != http.StatusConflict ||
		code != string(core.CodeConflict) || msg != want {
		t.Errorf("API: %s %s\nwant 409 conflict %q", resp.Status, b, want)
	}

	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	err = adminapi.NewConsole(c).DeleteProfile("Sales", "")
	var ce *core.Error
	if want := head + core.ProfileReassignAdvice; !errors.As(err, &ce) || ce.Code != core.CodeConflict || ce.Message != want {
		t.Errorf("attached console: %v\nwant conflict %q", err, want)
	}
	if _, err := svc.Profile("Sales"); err != nil {
		t.Errorf("a refused delete removed the profile: %v", err)
	}
}
