package core_test

import (
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store/storetest"
)

// Two consoles editing the same record (docs/decisions.md): a form saves
// only what it changed, onto the record as stored at the save.

// TestEditSince: a form opened on alice, saved after another console
// changed her, keeps the other console's change to another field, and a
// field both changed takes the form's (later) save. A user deleted and
// added again under the same name is refused, not edited.
func TestEditSince(t *testing.T) {
	tests := []struct {
		name  string
		other func(*core.User) // what another console saved meanwhile
		form  func(*core.User) // what this form changed
		want  func(core.User) bool
	}{
		{"another field stays",
			func(u *core.User) { u.Email = "new@example.org" },
			func(u *core.User) { u.Group = "sales" },
			func(u core.User) bool { return u.Email == "new@example.org" && u.Group == "sales" }},
		{"the same field: last save wins",
			func(u *core.User) { u.Email = "theirs@example.org" },
			func(u *core.User) { u.Email = "mine@example.org" },
			func(u core.User) bool { return u.Email == "mine@example.org" }},
		{"a lock set meanwhile stays when the box was not touched",
			func(u *core.User) { u.Locked = true },
			func(u *core.User) { u.FullName = "Alice Liddell" },
			func(u core.User) bool { return u.Locked && u.FullName == "Alice Liddell" }},
		{"an empty PIN field keeps a PIN changed meanwhile",
			func(u *core.User) { u.PIN = "8642" },
			func(u *core.User) { u.Mobile = "+44 20 7946 0001" },
			func(u core.User) bool { return u.PIN == "8642" && u.Mobile == "+44 20 7946 0001" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := storetest.MustService(t)
			opened := storetest.MustAddUser(t, svc, "alice", "1234")
			if _, err := svc.UpdateUser("alice", func(u *core.User) error { tt.other(u); return nil }); err != nil {
				t.Fatal(err)
			}
			edited := opened
			tt.form(&edited)
			if _, err := svc.UpdateUser("alice", core.EditSince(opened, edited)); err != nil {
				t.Fatal(err)
			}
			if u, _ := svc.User("alice"); !tt.want(u) {
				t.Errorf("stored %+v", u)
			}
		})
	}

	t.Run("deleted and added again", func(t *testing.T) {
		clock := storetest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
		svc := storetest.MustService(t, core.WithClock(clock))
		opened := storetest.MustAddUser(t, svc, "alice", "1234")
		if err := svc.DeleteUser("alice"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		storetest.MustAddUser(t, svc, "alice", "5678")
		edited := opened
		edited.Group = "sales"
		_, err := svc.UpdateUser("alice", core.EditSince(opened, edited))
		if core.ErrorCode(err) != core.CodeConflict || core.ErrorMessage(err) != "alice was deleted and added again while this form was open, so nothing was saved: close the form and open the user again." {
			t.Fatalf("err %v", err)
		}
		if u, _ := svc.User("alice"); u.Group != "" {
			t.Errorf("the new alice was edited: %+v", u)
		}
	})
}

// TestService_ChangeSettingsOntoStored: ChangeSettings sets its keys on
// the settings as stored when its transaction runs, so a save this
// process's snapshot has not seen yet (another server on the same etcd
// cluster) stays.
func TestService_ChangeSettingsOntoStored(t *testing.T) {
	st := storetest.MustOpen(t)
	svc := storetest.MustServiceOn(t, st)
	// Another writer, behind this service's back.
	if err := st.Update(func(tx core.Tx) error {
		set, err := tx.Settings()
		if err != nil {
			return err
		}
		set.MobileClient.SupportPhone = "+44 20 7946 0000"
		return tx.PutSettings(set)
	}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangeSettings(map[string]string{"policy.lockout.max_failures": "7"}, "PIN & Lockout"); err != nil {
		t.Fatal(err)
	}
	set := svc.Settings()
	if set.MaxFailures != 7 || set.MobileClient.SupportPhone != "+44 20 7946 0000" {
		t.Errorf("max failures %d, support phone %q", set.MaxFailures, set.MobileClient.SupportPhone)
	}
}
