package adminapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"provisio/core"
	"provisio/core/store"
)

// peerDialEnv makes the test binary a client that asks the socket named
// in it for the users and prints what it got, so a test can run it as
// another uid.
const peerDialEnv = "PROVISIO_TEST_ADMIN_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(peerDialEnv); path != "" {
		body, err := get(path, "/v1/users")
		fmt.Printf("body=%q err=%v\n", body, err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func get(sock, path string) (string, error) {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://provisio" + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestPeerCredentials checks the kernel-reported peer: the server's own
// user is served, any other user is disconnected unserved and counted in
// the aggregated refusal line. The socket and directory are opened up to
// everyone here on purpose, so only the peer check stands in the way.
// Run as root, a copy of the test binary connects as uid 65534 (root is
// always admitted); otherwise the server is told its own uid is another
// one, so this process is the stranger.
func TestPeerCredentials(t *testing.T) {
	dir, err := os.MkdirTemp("", "provisio-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, SocketName)
	own := uint32(os.Getuid())
	root := own == 0
	if !root {
		own++ // this process is now "another user"
	}
	srv, err := listen(sock, svc, own)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v, want 0600", fi.Mode(), err)
	}

	var refusedOut string
	if root {
		// The server's own user (root here) is served.
		if body, err := get(sock, "/v1/users"); err != nil || strings.TrimSpace(body) != "[]" {
			t.Fatalf("own user: %q %v", body, err)
		}
		for _, p := range []string{dir, sock} {
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
		bin := filepath.Join(dir, "client.test")
		data, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), peerDialEnv+"="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client as uid 65534: %v %s", err, out)
		}
		refusedOut = string(out)
		if !strings.Contains(refusedOut, `body="" err=`) || strings.Contains(refusedOut, "err=<nil>") {
			t.Fatalf("another user was served: %s", refusedOut)
		}
	} else {
		body, err := get(sock, "/v1/users")
		if err == nil {
			t.Fatalf("another user was served: %q", body)
		}
	}
	if err := svc.FlushRefused(); err != nil {
		t.Fatal(err)
	}
	logs, err := svc.LogTail(5)
	if err != nil {
		t.Fatal(err)
	}
	want := "1 refused request from admin socket uid "
	found := false
	for _, l := range logs {
		found = found || strings.Contains(l.Message, want) && strings.Contains(l.Message, "not the server's user nor root")
	}
	if !found {
		t.Errorf("no refusal line %q in %+v", want, logs)
	}
}
