package core_test

import (
	"strings"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

func newProfileService(t *testing.T) (*core.Service, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return svc, dir
}

func TestClientPolicies_Set(t *testing.T) {
	tests := []struct {
		key, value, err string
		get             string
	}{
		{"pin_mode", "MANDATORY", "", "mandatory"},
		{"pin_mode", "sometimes", `Enter optional or mandatory, not "sometimes".`, ""},
		{"pin_cache_timeout", "600", "", "600"},
		{"pin_cache_timeout", "-1", "Enter a whole number from 0 to 86,400.", ""},
		{"pin_max_retries", "0", "Enter a whole number from 1 to 100.", ""},
		{"pin_lock_time", "60", "", "60"},
		{"logging", "yes", "", "Yes"},
		{"read_only_settings", "maybe", `Enter Yes or No, not "maybe".`, ""},
		{"support_email", "help", `"help" is not an email address like name@example.org.`, ""},
		{"support_email", "help@example.org", "", "help@example.org"},
		{"sync_index", "Yes", "", "Yes"},
		{"messaging", "on", `There is no profile key "messaging"; 'provisio profile show NAME' lists them all.`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := core.DefaultClientPolicies(core.MobileClientPolicy{})
			err := c.Set(tt.key, tt.value)
			if got := core.ErrorMessage(err); got != tt.err && !(err == nil && tt.err == "") {
				t.Fatalf("Set error %q, want %q", got, tt.err)
			}
			if tt.err == "" {
				if v, _ := c.Get(tt.key); v != tt.get {
					t.Fatalf("Get = %q, want %q", v, tt.get)
				}
			}
		})
	}
}

func TestValidateProfile(t *testing.T) {
	tests := []struct {
		name, email, err string
	}{
		{"Sales", "help@example.org", ""},
		{"", "help@example.org", "Enter a profile name."},
		{"Sales/1", "help@example.org", `A profile name has letters, digits, spaces, '-', '_' and '.' only, not "/".`},
		{"Sales", "", "Enter the customer-service email: every profile needs one, so phone users can reach support."},
		{"Default", "", ""}, // carried over from Policy → Mobile Client
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.email, func(t *testing.T) {
			p := core.Profile{Name: tt.name, ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: tt.email})}
			if got := core.ErrorMessage(core.ValidateProfile(&p)); got != tt.err {
				t.Fatalf("got %q, want %q", got, tt.err)
			}
		})
	}
}

// A data file from before #14 has only the global Mobile Client policy:
// opening it makes the Default profile from it, and the policy.mobile.*
// settings keep editing that profile.
func TestService_ProfileMigration(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := core.DefaultSettings()
	old.MobileClient = core.MobileClientPolicy{AllowPINEntry: true, SyncIndex: true, SupportPhone: "+44 20 7946 0000"}
	if err := st.Update(func(tx core.Tx) error { return tx.PutSettings(old) }); err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	def, err := svc.Profile("default")
	if err != nil {
		t.Fatal(err)
	}
	if def.MobileClientPolicy != old.MobileClient || def.PINMode != core.PINModeOptional || def.PINCacheTimeout != 300 {
		t.Fatalf("migrated Default = %+v", def)
	}
	if err := svc.SetSetting("policy.mobile.support_email", "desk@example.org"); err != nil {
		t.Fatal(err)
	}
	if def, _ = svc.Profile("Default"); def.SupportEmail != "desk@example.org" {
		t.Fatalf("setting did not reach the Default profile: %+v", def)
	}
	if err := svc.SetProfileValue("Default", "sync_index", "No"); err != nil {
		t.Fatal(err)
	}
	if svc.Settings().MobileClient.SyncIndex {
		t.Fatal("Default profile edit did not reach policy.mobile.sync_index")
	}
	st.Close()

	// Reopened, the values persist and no second Default is made.
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err = core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	all, err := svc.Profiles()
	if err != nil || len(all) != 1 || all[0].SupportEmail != "desk@example.org" || all[0].SyncIndex {
		t.Fatalf("after reopen: %+v, %v", all, err)
	}
	set := svc.Settings()
	if v, _ := set.Get("policy.mobile.sync_index"); v != "No" {
		t.Fatalf("policy.mobile.sync_index = %q after reopen", v)
	}
}

func setupProfiles(t *testing.T, svc *core.Service) {
	t.Helper()
	for _, p := range []core.Profile{
		{Name: "Sales", ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "sales-help@example.org"})},
		{Name: "VIP", ClientPolicies: core.DefaultClientPolicies(core.MobileClientPolicy{SupportEmail: "vip@example.org"})},
	} {
		if err := svc.AddProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.SetProfileValue("Sales", "pin_cache_timeout", "600"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetProfileValue("VIP", "pin_mode", "mandatory"); err != nil {
		t.Fatal(err)
	}
	if err := svc.AssignProfileToGroup("Sales", "Sales"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []core.User{
		{Name: "alice", Group: "Sales", MobileAllowed: true, Email: "alice@example.org"},
		{Name: "bob", Group: "sales", MobileAllowed: true, Email: "bob@example.org"},
		{Name: "carol", MobileAllowed: true, Email: "carol@example.org"},
	} {
		if _, err := svc.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AssignProfileToUser("vip", "bob"); err != nil {
		t.Fatal(err)
	}
}

func TestService_EffectiveProfile(t *testing.T) {
	svc, _ := newProfileService(t)
	setupProfiles(t, svc)
	tests := []struct {
		user, profile string
		source        core.ProfileSource
		line          string
	}{
		{"alice", "Sales", "group Sales", "PIN cache timeout (seconds): 600 — group Sales (profile Sales)"},
		{"bob", "VIP", core.SourceUser, "PIN (optional or mandatory): mandatory — user (profile VIP)"},
		{"carol", "Default", core.SourceDefault, "PIN cache timeout (seconds): 300 — default"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			e, err := svc.EffectiveProfile(tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if e.Profile.Name != tt.profile || e.Source != tt.source {
				t.Fatalf("effective %s from %s, want %s from %s", e.Profile.Name, e.Source, tt.profile, tt.source)
			}
			for _, v := range e.Values {
				if v.Source != tt.source {
					t.Fatalf("value %s from %s", v.Key, v.Source)
				}
			}
			if !strings.Contains(e.String(), tt.line+"\n") {
				t.Fatalf("preview lacks %q:\n%s", tt.line, e)
			}
		})
	}
	// Provision sends the effective profile.
	for _, tt := range []struct {
		user    string
		email   string
		timeout int
	}{{"alice", "sales-help@example.org", 600}, {"bob", "vip@example.org", 300}} {
		ic, err := svc.CreateProvisionCode(tt.user)
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Provision("127.0.0.1", tt.user, ic.Code, "TestOS")
		if err != nil {
			t.Fatal(err)
		}
		if p.Policies.SupportEmail != tt.email || p.Policies.PINCacheTimeout != tt.timeout {
			t.Fatalf("%s provisioned with %+v", tt.user, p.Policies)
		}
	}
	if _, err := svc.UpdateUser("carol", func(u *core.User) error { u.Profile = "nope"; return nil }); core.ErrorMessage(err) != `There is no profile "nope".` {
		t.Fatalf("unknown profile on the user form: %v", err)
	}
}

func TestService_DeleteProfile(t *testing.T) {
	svc, _ := newProfileService(t)
	setupProfiles(t, svc)
	if n, err := svc.ProfileImpact("Sales"); err != nil || n != 1 {
		t.Fatalf("Sales affects %d, %v; want 1 (alice; bob has his own)", n, err)
	}
	tests := []struct {
		name, reassign, err string
	}{
		{"Default", "", "The Default profile cannot be deleted: it applies to everyone without another profile."},
		{"Sales", "", `Profile "Sales" is still assigned to group Sales; assign them another profile first, or delete it with another profile to reassign them to.`},
		{"VIP", "", `Profile "VIP" is still assigned to 1 user (bob); assign them another profile first, or delete it with another profile to reassign them to.`},
		{"VIP", "VIP", "Choose another profile to reassign to than the one being deleted."},
		{"Nope", "", `There is no profile "Nope".`},
		{"VIP", "Sales", ""},
		{"Sales", "Default", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"->"+tt.reassign, func(t *testing.T) {
			if got := core.ErrorMessage(svc.DeleteProfile(tt.name, tt.reassign)); got != tt.err && !(tt.err == "" && got == "") {
				t.Fatalf("got %q, want %q", got, tt.err)
			}
		})
	}
	// bob went from VIP to Sales, then with Sales gone back to his group's
	// (none left), so the Default.
	for _, u := range []string{"alice", "bob"} {
		e, err := svc.EffectiveProfile(u)
		if err != nil || e.Profile.Name != "Default" {
			t.Fatalf("%s now on %s, %v", u, e.Profile.Name, err)
		}
	}
	// The lines' Actor names who acted (the console's Service here); the
	// messages no longer repeat it.
	for _, want := range []string{
		`Profile "Sales" created.`,
		`Group Sales now uses profile "Sales".`,
		`User "bob" now uses profile "VIP".`,
		`Profile "VIP" deleted. Its 1 user (bob) now use profile "Sales".`,
		`Profile "Sales" saved: pin_cache_timeout 300 → 600; it applies to 0 users at their next provision or string download.`,
	} {
		if !logHas(t, svc, want, "the console") {
			t.Errorf("audit log lacks %q by the console", want)
		}
	}
}
