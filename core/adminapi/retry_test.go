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
// still refused, and so is the same add once it was answered.
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
}
