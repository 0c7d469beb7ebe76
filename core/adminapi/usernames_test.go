package adminapi_test

import (
	"path/filepath"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/store"
)

// TestClient_UsernamesSurviveThePath: every username the rules allow
// reaches its user as the {name} of /v1/users/{name}, read (GET), edited
// (PATCH) and deleted (DELETE), however it looks as a path segment:
// escapes, query and fragment marks, dots. A name of only dots is refused
// when added; one stored before that rule ("." and ".." as an older
// Provisio accepted them) is still reached, though net/http's mux would
// redirect the plain segment elsewhere: /v1/users/./client-log to
// /v1/users/client-log, where a DELETE is that of a user called
// "client-log".
func TestClient_UsernamesSurviveThePath(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The users an older Provisio let in, written as it wrote them.
	created := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	err = st.Update(func(tx core.Tx) error {
		for _, n := range []string{".", ".."} {
			if err := tx.PutUser(core.User{Name: n, PIN: "9132", MobileAllowed: true, Created: created}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := adminapi.Listen(filepath.Join(dir, adminapi.SocketName), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := adminapi.Dial(filepath.Join(dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	k := adminapi.NewConsole(c)
	// The user a redirected path would reach instead.
	if _, err := c.AddUser(adminapi.NewUser{Name: "client-log", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}

	for _, n := range []string{".", "..", "..."} {
		if _, err := c.AddUser(adminapi.NewUser{Name: n, PIN: "9132"}); core.ErrorMessage(err) != "A username cannot be only dots." {
			t.Errorf("adding %q: %v", n, err)
		}
	}
	tests := []struct {
		name, user string
		add        bool // false: stored before the rule
	}{
		{"dots inside", "a..b", true},
		{"leading dot", ".profile", true},
		{"trailing dots", "x..", true},
		{"escaped slash as text", "a%2Fb", true},
		{"escaped dots as text", "%2e%2E", true},
		{"percent", "100%", true},
		{"query and fragment marks", "q?x#y", true},
		{"other punctuation", "+;:@=,$!*()[]{}|^`~", true},
		{"other scripts", "jürgen.müller", true},
		{"one dot, stored before", ".", false},
		{"two dots, stored before", "..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.add {
				if _, err := c.AddUser(adminapi.NewUser{Name: tt.user, PIN: "9132"}); err != nil {
					t.Fatalf("add: %v", err)
				}
			}
			if u, err := k.User(tt.user); err != nil || u.Name != tt.user {
				t.Fatalf("GET = %q, %v", u.Name, err)
			}
			if _, err := k.UpdateUser(tt.user, func(u *core.User) error { u.FullName = "Edited"; return nil }); err != nil {
				t.Fatalf("PATCH: %v", err)
			}
			if u, err := svc.User(tt.user); err != nil || u.FullName != "Edited" {
				t.Fatalf("stored after PATCH: %+v %v", u, err)
			}
			if _, err := c.ClearClientLogs(tt.user); err != nil {
				t.Fatalf("DELETE client-log: %v", err)
			}
			if err := c.DeleteUser(tt.user); err != nil {
				t.Fatalf("DELETE: %v", err)
			}
			if _, err := svc.User(tt.user); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("after DELETE: %v", err)
			}
			if _, err := svc.User("client-log"); err != nil {
				t.Fatalf("the user client-log after %q's requests: %v", tt.user, err)
			}
		})
	}
}
