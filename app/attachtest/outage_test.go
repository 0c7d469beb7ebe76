package attachtest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml/agentxmltest"
	"provisio/ui"
)

// TestAttachedConsole_OutlivesTheService is the console attached over
// admin.sock while the real service is stopped (cleanly, or killed with
// SIGKILL) and started again on the same data directory, as systemd
// does: with a Reprovision dialog and a half-typed Add user form open,
// the status line says in a sentence that the service is not answering
// and that the window reconnects; Add pressed meanwhile says nothing was
// changed and keeps what was typed; once the service is back the window
// says so by itself, the phone provisions with the code issued before the
// outage and the dialog shows it, and the form adds the user.
func TestAttachedConsole_OutlivesTheService(t *testing.T) {
	for _, stop := range []struct {
		name string
		sig  syscall.Signal
	}{{"clean stop", syscall.SIGTERM}, {"kill -9", syscall.SIGKILL}} {
		t.Run(stop.name, func(t *testing.T) {
			s := newService(t)
			api, err := adminapi.Dial(filepath.Join(s.dir, adminapi.SocketName))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := api.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132"}); err != nil {
				t.Fatal(err)
			}
			newUIApp(t)
			var con *ui.Attached
			onUI(func() {
				con = ui.NewAttached(test.NewTempWindow(t, widget.NewLabel("")), ui.AttachedDeps{API: api, DataDir: s.dir})
			})
			t.Cleanup(func() { onUI(con.Close) })
			waitFor(t, "alice listed", func() bool { return con.SelectUser("alice") })
			onUI(func() { con.Press("Reprovision…") })
			waitFor(t, "the code shown", func() bool { return con.LastIssued().Code != "" })
			var ic core.AdminIssued
			onUI(func() {
				ic = con.LastIssued()
				con.Press("Add user…")
				con.TypeInAddUser("name", "bob")
				con.TypeInAddUser("full_name", "Bob Jones")
			})

			s.stop(stop.sig)
			var status string
			waitFor(t, "the status line to say the service is gone", func() bool {
				status = con.StatusText()
				return strings.Contains(status, "is not answering")
			})
			if !strings.Contains(status, "reconnects by itself") || strings.Contains(status, "Restart the console") {
				t.Errorf("status line while the service is down: %q", status)
			}
			var submitted bool
			onUI(func() { submitted = con.SubmitAddUser() })
			if !submitted {
				t.Fatal("Add cannot be pressed")
			}
			var open bool
			var values map[string]string
			var msg string
			waitFor(t, "the form's answer", func() bool {
				open, values, msg = con.AddUserForm()
				return msg != ""
			})
			if !open || values["name"] != "bob" || values["full_name"] != "Bob Jones" {
				t.Errorf("the form lost what was typed: open %v, %v", open, values)
			}
			if !strings.Contains(msg, "is not answering") || !strings.Contains(msg, "nothing was changed") || strings.Contains(msg, "Something went wrong") {
				t.Errorf("Add while the service is down says %q", msg)
			}

			s.start()
			waitFor(t, "the console to reconnect by itself", func() bool {
				status = con.StatusText()
				return strings.Contains(status, ui.AttachedState) && strings.Contains(status, "The server keeps running")
			})
			phone, err := agentxmltest.NewMobileClient(ic.URL, s.Fingerprint())
			if err != nil {
				t.Fatal(err)
			}
			if err := phone.Provision("TestOS"); err != nil {
				t.Fatalf("the code issued before the outage: %v", err)
			}
			waitFor(t, "Device provisioned in the dialog", func() bool { return con.ReprovisionStatus() == "Device provisioned (TestOS)" })
			onUI(func() { submitted = con.SubmitAddUser() })
			if !submitted {
				t.Fatal("Add cannot be pressed after the service came back")
			}
			waitFor(t, "bob added and the form closed", func() bool {
				open, _, _ = con.AddUserForm()
				return !open && con.SelectUser("bob")
			})
		})
	}
}

// TestRemoteConsole_NetworkDropAndRevoke is a helpdesk console connected
// over mutual TLS through a loopback proxy the test cuts, as a network
// that drops: the status line says the server is not answering, the
// phone provisions during the cut with the code the console issued
// before it, and once the network is back the console reconnects by
// itself and its Reprovision dialog shows "Device provisioned"; the same
// when the service is killed and restarted. Then the
// pairing is revoked from the server's command line, and the console says
// so in the server's sentence.
func TestRemoteConsole_NetworkDropAndRevoke(t *testing.T) {
	s := newService(t)
	local, err := adminapi.Dial(filepath.Join(s.dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, s.admin)
	api := pairThrough(t, s, px.Addr(), "desk-2")
	newUIApp(t)
	var con *ui.Attached
	onUI(func() {
		con = ui.NewAttached(test.NewTempWindow(t, widget.NewLabel("")), ui.AttachedDeps{API: api, Remote: px.Addr()})
	})
	t.Cleanup(func() { onUI(con.Close) })
	waitFor(t, "alice listed", func() bool { return con.SelectUser("alice") })
	onUI(func() { con.Press("Reprovision…") })
	waitFor(t, "the code shown", func() bool { return con.LastIssued().Code != "" })
	var ic core.AdminIssued
	onUI(func() { ic = con.LastIssued() })

	px.Cut()
	var status string
	defer func() {
		if t.Failed() {
			t.Logf("status line: %q", status)
		}
	}()
	waitFor(t, "the status line to say the server is out of reach", func() bool {
		status = con.StatusText()
		return strings.Contains(status, "Disconnected from "+px.Addr()) && strings.Contains(status, "is not answering")
	})
	phone, err := agentxmltest.NewMobileClient(ic.URL, s.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	px.Mend()
	waitFor(t, "the console to reconnect by itself", func() bool {
		status = con.StatusText()
		return strings.Contains(status, "Connected to "+px.Addr()+" as desk-2 (helpdesk)")
	})
	waitFor(t, "Device provisioned in the dialog, though its event was lost", func() bool {
		return con.ReprovisionStatus() == "Device provisioned (TestOS)"
	})

	// The service killed and restarted by systemd: the same, through
	// the proxy.
	s.stop(syscall.SIGKILL)
	waitFor(t, "the status line to say the server is gone", func() bool {
		return strings.Contains(con.StatusText(), "is not answering")
	})
	s.start()
	waitFor(t, "the console to reconnect after the restart", func() bool {
		return strings.Contains(con.StatusText(), "Connected to "+px.Addr()+" as desk-2 (helpdesk)")
	})

	s.cli("console", "revoke", "desk-2")
	waitFor(t, "the revocation said", func() bool {
		status = con.StatusText()
		return strings.Contains(status, `This console ("desk-2") was revoked on the server`)
	})
}

// TestRemoteConsole_ServerCertificateReplaced: the service starts again
// with a new certificate (the old one removed while it was stopped), and
// the console, which pinned the old one, says so instead of connecting.
func TestRemoteConsole_ServerCertificateReplaced(t *testing.T) {
	s := newService(t)
	api := pairThrough(t, s, s.admin, "desk-3")
	newUIApp(t)
	var con *ui.Attached
	onUI(func() {
		con = ui.NewAttached(test.NewTempWindow(t, widget.NewLabel("")), ui.AttachedDeps{API: api, Remote: s.admin})
	})
	t.Cleanup(func() { onUI(con.Close) })
	old := s.Fingerprint()
	s.stop(syscall.SIGTERM)
	// The key lives in the key directory beside the data directory.
	for _, f := range []string{filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir+"-keys", "key.pem")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	if s.Fingerprint() == old {
		t.Fatal("the service kept its certificate")
	}
	var status string
	waitFor(t, "the changed certificate said", func() bool {
		status = con.StatusText()
		return strings.Contains(status, "is not the one this console paired with")
	})
	if !strings.Contains(status, "close this window and start the console again") {
		t.Errorf("status line %q does not say what to do", status)
	}
}

// pairThrough pairs a helpdesk console called name with the service,
// reaching it at addr, and connects with it.
func pairThrough(t *testing.T, s *service, addr, name string) *adminapi.Client {
	t.Helper()
	out := s.cli("console", "pair", name, "--role", "helpdesk")
	code := ""
	for _, l := range strings.Split(out, "\n") {
		if i := strings.LastIndex(l, "): "); strings.HasPrefix(l, "Pairing code") && i > 0 {
			code = l[i+3:]
		}
	}
	if code == "" {
		t.Fatalf("console pair printed no code:\n%s", out)
	}
	fp, serverPEM, err := adminapi.ServerFingerprint(addr)
	if err != nil {
		t.Fatal(err)
	}
	if fp != s.Fingerprint() {
		t.Fatalf("the server presents %s, serve printed %s", fp, s.Fingerprint())
	}
	id, err := adminapi.Pair(addr, fp, serverPEM, code)
	if err != nil {
		t.Fatal(err)
	}
	api, err := adminapi.DialRemote(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api
}
