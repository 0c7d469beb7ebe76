package attachtest

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/certs"
	"provisio/core/store"
	"provisio/ui"
)

// TestRemoteConsole_PairInWindowThenHelpdesk is the remote console as
// `provisio --connect` wires it, headless: a server holds a real data
// file and serves phones and the remote admin listener on 127.0.0.1 with
// the same certificate; the window asks for the pairing code and shows
// the server's fingerprint; once paired the console says "Connected to
// HOST as NAME (helpdesk)", hides the admin-only actions, and a code
// issued from its Reprovision button provisions a phone over HTTPS,
// which the console shows live.
func TestRemoteConsole_PairInWindowThenHelpdesk(t *testing.T) {
	dir, keyDir := t.TempDir(), t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	cert, fp, err := agentxmltest.SelfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	phones := agentxml.New(svc, agentxml.Options{Certificate: cert, Fingerprint: func() string { return fp }})
	if err := phones.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phones.Close() })
	for k, v := range map[string]string{"server.listen": phones.Addr().String(), "server.advertise": "127.0.0.1"} {
		if err := svc.SetSetting(k, v); err != nil {
			t.Fatal(err)
		}
	}
	remote, err := adminapi.ListenRemote("127.0.0.1:0", svc, adminapi.RemoteOptions{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
		CA:             certs.NewConsoleCA(keyDir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { remote.Close() })
	svc.SetConsoleEndpoint(remote.Addr(), func() string { return fp })
	local := adminapi.Local{Svc: svc}
	if _, err := local.AddUser(adminapi.NewUser{Name: "alice", PIN: "9132"}); err != nil {
		t.Fatal(err)
	}
	p, err := local.PairConsole("desk-2", core.RoleHelpdesk)
	if err != nil {
		t.Fatal(err)
	}

	// The remote side, as app/console.go's remoteConsole wires it.
	newUIApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	addr := remote.Addr()
	idDir := adminapi.IdentityDir(t.TempDir(), addr)
	var seenFP string
	var serverPEM []byte
	var at *ui.Attached
	t.Cleanup(func() {
		onUI(func() {
			if at != nil {
				at.Close()
			}
		})
	})
	var pairing *ui.Pairing
	onUI(func() {
		pairing = ui.NewPairing(w, ui.PairingDeps{
			Server: addr,
			Probe: func() (string, error) {
				var err error
				seenFP, serverPEM, err = adminapi.ServerFingerprint(addr)
				return seenFP, err
			},
			Pair: func(code string) error {
				id, err := adminapi.Pair(addr, seenFP, serverPEM, code)
				if err != nil {
					return err
				}
				return id.Save(idDir)
			},
			Paired: func() {
				id, err := adminapi.LoadIdentity(idDir)
				if err != nil {
					t.Error(err)
					return
				}
				api, err := adminapi.DialRemote(id)
				if err != nil {
					t.Error(err)
					return
				}
				at = ui.NewAttached(w, ui.AttachedDeps{API: api, Remote: addr})
			},
		})
	})
	waitFor(t, "the server's fingerprint", func() bool { return pairing.Fingerprint() == p.Fingerprint })
	onUI(func() { pairing.Enter("WRONG-WRONG-22") })
	waitFor(t, "the wrong code refused", func() bool { return strings.Contains(pairing.Message(), "pairing code is wrong") })
	onUI(func() { pairing.Enter(core.GroupPairingCode(p.Code)) })
	waitFor(t, "the attached console", func() bool { return at != nil })

	var actions, status string
	var pressedAdmin bool
	onUI(func() {
		actions, status = strings.Join(at.VisibleActions(), ", "), at.StatusText()
		pressedAdmin = at.Press("Add user…") || at.Press("Delete…")
	})
	if actions != "Reprovision…, Unlock, Reset PIN…, Revoke device…, Profile…" {
		t.Errorf("a helpdesk console shows %s", actions)
	}
	if want := "Connected to " + addr + " as desk-2 (helpdesk)"; !strings.Contains(status, want) {
		t.Errorf("status bar %q, want %q", status, want)
	}
	if pressedAdmin {
		t.Error("a helpdesk console pressed an admin action")
	}
	waitFor(t, "alice listed", func() bool { return at.SelectUser("alice") })
	var pressed bool
	onUI(func() { pressed = at.Press("Reprovision…") })
	if !pressed {
		t.Fatal("Reprovision cannot be pressed")
	}
	waitFor(t, "the code shown", func() bool { return at.LastIssued().Code != "" })
	var ic core.AdminIssued
	onUI(func() { ic = at.LastIssued() })
	phone, err := agentxmltest.NewMobileClient(ic.URL, fp)
	if err != nil {
		t.Fatal(err)
	}
	if err := phone.Provision("TestOS"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Device provisioned", func() bool {
		for _, l := range at.Activity() {
			if strings.HasSuffix(l, "Device provisioned: alice (TestOS)") {
				return true
			}
		}
		return false
	})
	// The Reprovision dialog says so too, live from the stream.
	waitFor(t, "Device provisioned in the dialog", func() bool { return at.ReprovisionStatus() == "Device provisioned (TestOS)" })
	logs, _ := svc.LogTail(100)
	var all []string
	for _, l := range logs {
		all = append(all, "["+l.Actor+"] "+l.Message)
	}
	if !strings.Contains(strings.Join(all, "\n"), `[console "desk-2" (helpdesk) at 127.0.0.1] Provision code created for user "alice"`) {
		t.Errorf("the log does not name the operator:\n%s", strings.Join(all, "\n"))
	}
}

// onUI runs fn through fyne.DoAndWait on the UI thread (newUIApp), the
// way the console's own code reaches its widgets.
func onUI(fn func()) { fyne.DoAndWait(fn) }

// waitFor polls cond, through onUI, until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ok := func() (b bool) { onUI(func() { b = cond() }); return b }
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
