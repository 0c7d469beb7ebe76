package core_test

import (
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestService_DotsOnlyUsernameRefusedOnEveryPath: every way users are
// created refuses a name of only dots with the one sentence and stores
// nothing. AddUser is what the console's form, the command line and the
// admin API's POST /v1/users call; CreateUsers is AdminXML's; the CSV
// import checks its rows at the preview and again at the save.
func TestService_DotsOnlyUsernameRefusedOnEveryPath(t *testing.T) {
	const want = "A username cannot be only dots."
	paths := []struct {
		name string
		want string // the sentence as this path says it, on the name field
		add  func(svc *core.Service, name string) error
	}{
		{"AddUser (console, CLI, admin API)", want, func(svc *core.Service, name string) error {
			_, err := svc.AddUser(core.User{Name: name, PIN: "9132", MobileAllowed: true})
			return err
		}},
		{"CreateUsers (AdminXML)", want, func(svc *core.Service, name string) error {
			errs, err := svc.CreateUsers("hr", "hr", []core.UserSpec{{Name: name, PIN: ptr("9132")}})
			if err != nil {
				return err
			}
			return errs[0]
		}},
		{"CSV import preview", want, func(svc *core.Service, name string) error {
			p, err := svc.PreviewImport(strings.NewReader("username,pin\n" + name + ",9132\n"))
			if err != nil || len(p.Problems) != 1 {
				t.Fatalf("preview problems %+v, %v; want one", p.Problems, err)
			}
			return core.FieldError(p.Problems[0].Field, "%s", p.Problems[0].Message)
		}},
		{"CSV import save", "Nothing was imported: line 2: " + want, func(svc *core.Service, name string) error {
			_, err := svc.ImportUsers([]core.ImportRow{{Line: 2, User: core.User{Name: name, PIN: "9132"}}}, nil)
			return err
		}},
	}
	for _, p := range paths {
		for _, name := range []string{".", "..", "...", " .. "} {
			t.Run(p.name+"/"+strings.TrimSpace(name), func(t *testing.T) {
				svc := storetest.MustService(t)
				if err := svc.PutAgent(agentHR); err != nil {
					t.Fatal(err)
				}
				err := p.add(svc, name)
				if fe := core.FieldErrors(err); len(fe) != 1 || fe[0].Field != "name" || fe[0].Message != p.want {
					t.Fatalf("error = %#v, want %q on the name", err, p.want)
				}
				if users, _ := svc.Users(); len(users) != 0 {
					t.Errorf("stored %+v", users)
				}
			})
		}
	}
}

// TestService_ExistingDotsOnlyUserStillWorks: a user called ".." added
// before the rule is in the data file as it was. The file opens, the user
// is listed, their phone provisions and downloads strings, the
// administrator can edit them (lock, change a field over AdminXML) and
// delete them; only a self-service code request finds no such account, as
// for any name the rules refuse.
func TestService_ExistingDotsOnlyUserStillWorks(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Written straight into the store, as an older Provisio did.
	err = st.Update(func(tx core.Tx) error {
		return tx.PutUser(core.User{Name: "..", PIN: "9132", MobileAllowed: true, Email: "dots@example.org",
			Created: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("the data file with a user called %q does not open: %v", "..", err)
	}
	t.Cleanup(func() { st.Close() })
	svc := storetest.MustServiceOn(t, st)
	if err := svc.PutAgent(agentHR); err != nil {
		t.Fatal(err)
	}
	if users, err := svc.Users(); err != nil || len(users) != 1 || users[0].Name != ".." {
		t.Fatalf("users %+v %v", users, err)
	}
	ic, err := svc.CreateProvisionCode("..")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := svc.Provision("127.0.0.1", "..", ic.Code, "iOS 18")
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	if d, err := svc.SecurityStrings(pr.DeviceID); err != nil || d.Strings == "" {
		t.Fatalf("strings: %v", err)
	}
	if u, err := svc.UpdateUser("..", func(u *core.User) error { u.Locked, u.FullName = true, "Dot Dot"; return nil }); err != nil || !u.Locked {
		t.Fatalf("edit: %+v %v", u, err)
	}
	if errs, err := svc.UpdateUsers(core.Scope{Agent: "hr"}, []core.UserSpec{{Name: "..", FullName: ptr("D. Dot")}}); err != nil || errs[0] != nil {
		t.Fatalf("AdminXML edit: %v %v", errs, err)
	}
	if u, err := svc.User(".."); err != nil || u.FullName != "D. Dot" || !u.Locked || !u.Provisioned() {
		t.Fatalf("stored %+v %v", u, err)
	}
	if err := svc.SetSetting("policy.selfreset.allow_self_provision", "Yes"); err != nil {
		t.Fatal(err)
	}
	if out, err := svc.RequestSelfServiceCode("192.0.2.9", ".."); err != nil || out != core.SelfServiceNoUser {
		t.Fatalf("self-service: %v %v", out, err)
	}
	if err := svc.DeleteUser(".."); err != nil {
		t.Fatalf("delete: %v", err)
	}
}
