// Package attachtest holds the tests of the console attached over the
// admin socket or as a remote console (mutual TLS), with the real
// program's pieces. It is a package of its own because Fyne's test driver
// creates an app as soon as it is imported, which package main's tests
// must not have (app/console_test.go checks headless commands make none).
package attachtest

import (
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/store"
	"provisio/ui"
)

// TestConsoleAttached_SeesDeviceProvisioned is the console half of #12's
// done-when test: a server holds a real data file and serves HTTPS and
// admin.sock; the console, headless, attaches over the socket; a phone
// provisions over HTTPS with a code issued through the socket, and the
// console shows "Device provisioned" and the device in its users list.
func TestConsoleAttached_SeesDeviceProvisioned(t *testing.T) {
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
	_, fingerprint := agentxmltest.MustServer(t, svc)
	if err := svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	srv, err := adminapi.Listen(filepath.Join(dir, adminapi.SocketName), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	newUIApp(t)
	api, err := adminapi.Dial(filepath.Join(dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	var con *ui.Attached
	onUI(func() {
		con = ui.NewAttached(test.NewTempWindow(t, widget.NewLabel("")), ui.AttachedDeps{API: api, DataDir: dir})
	})
	t.Cleanup(func() { onUI(con.Close) })

	if _, err := api.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	ic, err := api.Reprovision("alice", false)
	if err != nil {
		t.Fatal(err)
	}
	phone, err := agentxmltest.NewMobileClient(ic.URL, fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	var activity []string
	waitFor(t, `"Device provisioned" in the console's activity`, func() bool {
		activity = con.Activity()
		for _, l := range activity {
			if strings.HasSuffix(l, "Device provisioned: alice (TestOS)") {
				return true
			}
		}
		return false
	})
	for _, l := range activity {
		if strings.Contains(l, ic.Code) {
			t.Errorf("the code reached the console's activity: %q", l)
		}
	}
}
