package adminapi_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestClient drives every method of the Go client against a real server
// on a Unix socket and checks that the stream shows the phone's
// provisioning, and that a server's refusal arrives as its sentence.
func TestClient(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUser(adminapi.NewUser{Name: "bob", PIN: "9132", Group: "staff"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUser(adminapi.NewUser{Name: "bob"})
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.CodeConflict || ce.Message != `A user called "bob" already exists.` {
		t.Fatalf("duplicate add: %#v", err)
	}
	ic, err := c.Reprovision("bob", false)
	if err != nil || ic.Code == "" || ic.URL == "" || !ic.Expires.After(time.Now()) {
		t.Fatalf("reprovision: %+v %v", ic, err)
	}
	users, err := c.Users()
	if err != nil || len(users) != 1 || users[0].PendingUntil == nil || users[0].Group != "staff" {
		t.Fatalf("users: %+v %v", users, err)
	}
	if _, err := svc.Provision("127.0.0.1", "bob", ic.Code, "iOS 18"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream closed")
			}
			got = e.Kind == "provisioned" && e.User == "bob" && e.DeviceOS == "iOS 18"
		case <-deadline:
			t.Fatal("no provisioned event")
		}
	}
	if s, err := c.SetSetting("smtp.password", "hunter22"); err != nil || s.Value != "********" {
		t.Fatalf("secret setting: %+v %v", s, err)
	}
	if all, err := c.Settings(); err != nil || len(all) != len(core.SettingKeys()) {
		t.Fatalf("settings: %d %v", len(all), err)
	}
	if _, err := c.Setting("nope"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := c.PutAgent(adminapi.NewAgent{Name: "vpn", Host: "127.0.0.1", Secret: "short"}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("short secret: %v", err)
	}
	if a, err := c.PutAgent(adminapi.NewAgent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Repository: true}); err != nil || a.Group != core.GroupAny || !a.Repository {
		t.Fatalf("agent: %+v %v", a, err)
	}
	if list, err := c.Agents(); err != nil || len(list) != 1 {
		t.Fatalf("agents: %+v %v", list, err)
	}
	if err := c.DeleteAgent("vpn"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser("bob"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser("bob"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
	// Nothing answers where no server runs.
	if _, err := adminapi.Dial(filepath.Join(t.TempDir(), adminapi.SocketName)); !errors.Is(err, adminapi.ErrNoServer) {
		t.Fatalf("dial without server: %v", err)
	}
}
