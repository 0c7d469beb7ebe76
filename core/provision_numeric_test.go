package core_test

import (
	"strings"
	"testing"

	"provisio/core"
)

// TestService_ProvisionCodeShapeFollowsEffectiveProfile checks that a code
// made for a user is all digits exactly when the user's effective profile
// (their own, else their group's, else Default) says "Provision is
// numeric", the value the phone is told, whatever the global setting and
// whichever way the code is made: the console, mail, an agent's
// provisioncode and the self-service portal. An authenticator-app set-up
// code travels only in its link and is always alphanumeric.
func TestService_ProvisionCodeShapeFollowsEffectiveProfile(t *testing.T) {
	type made func(t *testing.T, svc *core.Service) string
	outboxCode := func(t *testing.T, svc *core.Service) string {
		t.Helper()
		box, err := svc.Outbox()
		if err != nil || len(box) == 0 {
			t.Fatalf("outbox = %+v, %v", box, err)
		}
		return box[len(box)-1].Code
	}
	var (
		console made = func(t *testing.T, svc *core.Service) string {
			ic, err := svc.CreateProvisionCode("dan")
			if err != nil {
				t.Fatal(err)
			}
			return ic.Code
		}
		mailed made = func(t *testing.T, svc *core.Service) string {
			if _, err := svc.MailProvisionCode("dan"); err != nil {
				t.Fatal(err)
			}
			return outboxCode(t, svc)
		}
		agent made = func(t *testing.T, svc *core.Service) string {
			if _, err := svc.RequestProvisionCode(agentAny, "dan"); err != nil {
				t.Fatal(err)
			}
			return outboxCode(t, svc)
		}
		selfService made = func(t *testing.T, svc *core.Service) string {
			if out, err := svc.RequestSelfServiceCode("192.0.2.9", "dan"); err != nil || out != core.SelfServiceMailed {
				t.Fatalf("self-service: %v, %v", out, err)
			}
			return outboxCode(t, svc)
		}
		oath made = func(t *testing.T, svc *core.Service) string {
			if _, err := svc.MailOATHProvisionCode("dan", core.OATHOptions{}); err != nil {
				t.Fatal(err)
			}
			return outboxCode(t, svc)
		}
	)
	tests := []struct {
		name       string
		global     bool   // policy.mobile.provision_numeric, the Default profile's
		group, own string // "Yes"/"No" of the group's and the user's own profile; "" for none
		make       made
		// effective is the effective profile's "Provision is numeric";
		// wantNumeric whether the code is 10 digits (else 8 symbols).
		effective, wantNumeric bool
	}{
		{name: "group profile numeric, console", group: "Yes", make: console, effective: true, wantNumeric: true},
		{name: "group profile numeric, mailed", group: "Yes", make: mailed, effective: true, wantNumeric: true},
		{name: "group profile numeric, agent provisioncode", group: "Yes", make: agent, effective: true, wantNumeric: true},
		{name: "group profile numeric, self-service", group: "Yes", make: selfService, effective: true, wantNumeric: true},
		{name: "group profile alphanumeric under a numeric global setting", global: true, group: "No", make: console},
		{name: "own profile numeric over an alphanumeric group profile", group: "No", own: "Yes", make: console, effective: true, wantNumeric: true},
		{name: "own profile alphanumeric over a numeric group profile", global: true, group: "Yes", own: "No", make: mailed},
		{name: "Default profile numeric", global: true, make: console, effective: true, wantNumeric: true},
		{name: "Default profile alphanumeric", make: console},
		{name: "authenticator set-up code under a numeric profile", global: true, group: "Yes", make: oath, effective: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newProfileService(t)
			for k, v := range map[string]string{
				"policy.mobile.provision_numeric":       map[bool]string{false: "No", true: "Yes"}[tt.global],
				"policy.selfreset.allow_self_provision": "Yes",
				"oath.enabled":                          "Yes",
			} {
				if err := svc.SetSetting(k, v); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
			addProfile := func(name, numeric string) {
				t.Helper()
				if err := svc.AddProfile(core.Profile{Name: name, ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "help@example.org"})}); err != nil {
					t.Fatal(err)
				}
				if err := svc.SetProfileValue(name, "provision_numeric", numeric); err != nil {
					t.Fatal(err)
				}
			}
			u := core.User{Name: "dan", Group: "Field", MobileAllowed: true, Email: "dan@example.org"}
			if tt.group != "" {
				addProfile("Field", tt.group)
				if err := svc.AssignProfileToGroup("Field", "Field"); err != nil {
					t.Fatal(err)
				}
			}
			if tt.own != "" {
				addProfile("Dan only", tt.own)
				u.Profile = "Dan only"
			}
			if _, err := svc.AddUser(u); err != nil {
				t.Fatal(err)
			}
			if eff, err := svc.EffectiveProfile("dan"); err != nil {
				t.Fatal(err)
			} else if eff.Profile.ProvisionNumeric != tt.effective {
				t.Fatalf("effective profile %q says numeric %v, the test means %v", eff.Profile.Name, eff.Profile.ProvisionNumeric, tt.effective)
			}

			code := tt.make(t, svc)
			if tt.wantNumeric {
				if len(code) != 10 || strings.Trim(code, "0123456789") != "" {
					t.Errorf("code %q, want 10 digits: the phone is told to show a number pad", code)
				}
			} else if len(code) != 8 || strings.Trim(code, "ABCDEFGHJKMNPQRSTUVWXYZ23456789") != "" {
				t.Errorf("code %q, want 8 alphanumeric symbols", code)
			}
		})
	}
}
