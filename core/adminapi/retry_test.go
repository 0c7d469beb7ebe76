package adminapi_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestClient_AddRetriedAfterLostAnswer: the service commits an add but
// its answer never reaches the console (the connection drops as the answer
// leaves, as when the service is killed or the network drops then). The
// console says whether it was done is not known, and pressing Add again
// answers with the user the first request made, not "already exists";
// the service holds the user once. A different add of a taken name is
// still refused, and so is the same add once it was answered. A delete
// or a device revocation retried after its lost answer is done, not "no
// such user" or "no provisioned device".
func TestClient_AddRetriedAfterLostAnswer(t *testing.T) {
	svc, sock := newServer(t)
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// A proxy on a socket of its own that loses the first answer.
	front := filepath.Join(dir, "front.sock")
	ln, err := net.Listen("unix", front)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var lose atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", sock)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(up, c); up.Close() }()
			go func() {
				if lose.Load() {
					// Wait for the answer, then drop it.
					var b [1]byte
					up.Read(b[:])
					lose.Store(false)
					c.Close()
					up.Close()
					return
				}
				io.Copy(c, up)
				c.Close()
			}()
		}
	}()
	c, err := adminapi.Dial(front)
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // a fresh connection for the add, through the losing proxy
	add := adminapi.NewUser{Name: "bob", FullName: "Bob Jones", Email: "bob@example.org", PIN: "9132"}
	lose.Store(true)
	_, err = c.AddUser(add)
	if core.ErrorCode(err) != core.CodeUnavailable || !strings.Contains(core.ErrorMessage(err), "whether this was done is not known") {
		t.Fatalf("the add whose answer was lost: %v", err)
	}
	if _, err := svc.User("bob"); err != nil {
		t.Fatalf("the service did not commit the add: %v", err)
	}
	got, err := c.AddUser(add)
	if err != nil || got.Name != "bob" || got.FullName != "Bob Jones" {
		t.Fatalf("the retried add: %+v, %v", got, err)
	}
	users, err := c.Users()
	if err != nil || len(users) != 1 {
		t.Fatalf("users after the retry: %+v, %v", users, err)
	}
	// Answered now: the same add again is a conflict, as is another.
	if _, err := c.AddUser(add); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("the same add after its answer: %v", err)
	}
	if _, err := c.AddUser(adminapi.NewUser{Name: "bob", FullName: "Robert"}); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("another add of a taken name: %v", err)
	}

	// A delete whose answer was lost, retried: done, not "no such user".
	c.Close() // a fresh connection, through the losing proxy
	lose.Store(true)
	if err := c.DeleteUser("bob"); core.ErrorCode(err) != core.CodeUnavailable {
		t.Fatalf("the delete whose answer was lost: %v", err)
	}
	if _, err := svc.User("bob"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("the service did not delete: %v", err)
	}
	if err := c.DeleteUser("bob"); err != nil {
		t.Errorf("the retried delete: %v", err)
	}
	if err := c.DeleteUser("bob"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("a delete of a user who is gone, after the retry was answered: %v", err)
	}

	// A device revocation likewise: done, not "has no provisioned device".
	if _, err := c.AddUser(adminapi.NewUser{Name: "carol", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	ic, err := c.Reprovision("carol", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Provision("127.0.0.1", "carol", ic.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	lose.Store(true)
	if err := c.RevokeDevice("carol"); core.ErrorCode(err) != core.CodeUnavailable {
		t.Fatalf("the revocation whose answer was lost: %v", err)
	}
	if err := c.RevokeDevice("carol"); err != nil {
		t.Errorf("the retried revocation: %v", err)
	}
	if err := c.RevokeDevice("carol"); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("a revocation of no device, after the retry was answered: %v", err)
	}
}
