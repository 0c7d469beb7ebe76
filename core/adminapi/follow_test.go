package adminapi_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestClient_FollowSaysWhenFirstOpen: the stream opens in the
// background, so a change made after a console's first read and before
// the server listened was never announced. Follow says when the stream
// is open, the first time too, so the console rereads then; every change
// from then on comes through.
func TestClient_FollowSaysWhenFirstOpen(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := c.Follow(ctx)
	select {
	case e := <-events:
		if e.Kind != core.AdminKindConnection || e.Reason != "" {
			t.Fatalf("first event %+v; want the stream open (%s, no reason)", e, core.AdminKindConnection)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not say when its stream was open")
	}
	if _, err := svc.AddUser(core.User{Name: "carol"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for changed := false; !changed; {
		select {
		case e := <-events:
			// The audit log's line comes first.
			changed = e.Kind == "users_changed"
		case <-deadline:
			t.Fatal("a change made once the stream was open did not come through")
		}
	}
}

// TestClient_FollowNoticesASilentNetwork: the network between console
// and service stops carrying anything without closing the connection (a
// cable pulled, a VPN gone), which TCP notices only after minutes. The
// followed stream takes a stream silent past the server's keep-alives
// for lost, says so, and once the network carries again it reconnects
// and says that too (a request sent while it is silent is given up
// rather than awaited for ever); the events after it arrive.
func TestClient_FollowNoticesASilentNetwork(t *testing.T) {
	defer adminapi.SetStreamIdle(300 * time.Millisecond)()
	svc, sock := newServer(t)
	dir, err := os.MkdirTemp("", "pv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	front := filepath.Join(dir, "front.sock")
	ln, err := net.Listen("unix", front)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// silent makes the proxy swallow what the service sends on the
	// connections open now, closing none of them.
	var silent atomic.Bool
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
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := up.Read(buf)
					if n > 0 && !silent.Load() {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	c, err := adminapi.Dial(front)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := c.Follow(ctx)
	next := func(what string, ok func(adminapi.Event) bool) adminapi.Event {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if ok(e) {
					return e
				}
			case <-deadline:
				t.Fatalf("no %s", what)
			}
		}
	}
	next("the stream open", func(e adminapi.Event) bool { return e.Kind == core.AdminKindConnection && e.Reason == "" })

	silent.Store(true)
	lost := next("lost connection", func(e adminapi.Event) bool { return e.Kind == core.AdminKindConnection })
	if !strings.Contains(lost.Reason, "is not answering") {
		t.Errorf("lost connection says %q", lost.Reason)
	}
	// Reconnecting while the network is still silent gets no answer
	// either: the request is given up after the same time, and tried
	// again.
	time.Sleep(1500 * time.Millisecond)
	silent.Store(false)
	next("connection back", func(e adminapi.Event) bool { return e.Kind == core.AdminKindConnection && e.Reason == "" })
	if _, err := svc.AddUser(core.User{Name: "carol"}); err != nil {
		t.Fatal(err)
	}
	next("users_changed after reconnecting", func(e adminapi.Event) bool { return e.Kind == "users_changed" })
}
