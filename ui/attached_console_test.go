package ui

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store/storetest"
)

// newAttachedHarness is the full console attached to a service over a
// real admin socket (#12): the harness's service and bbolt file play the
// service, which serves adminapi on a Unix socket, and the console works
// only through adminapi.Console over it.
func newAttachedHarness(t *testing.T) (h *harness, stopService func()) {
	t.Helper()
	return newAttachedHarnessWith(t, attachedService{})
}

// attachedService is how newAttachedHarnessWith's service differs.
type attachedService struct {
	oath bool // it can issue OATH tokens, and they are turned on
	// behind is how far its clock is behind the console's (negative:
	// ahead of it).
	behind time.Duration
	// store, when set, is its store (a fresh one otherwise).
	store core.Store
	// restart, when set, receives a function that opens the service's
	// admin socket again after stopService, as a restarted service does.
	restart *func()
	// wrapURLs, when set, wraps the console's Deps.ServerURLs (a request
	// to the service).
	wrapURLs func(func() []string) func() []string
	// gate, when set, stands between the console and the admin socket
	// (freeze_test.go): hold it and the network carries nothing.
	gate *gate
	// holdOpen holds the gate from before the console is built, so its
	// first reads wait (freeze_reread_test.go).
	holdOpen bool
	// usersOnly builds no screen but User Management (harness.usersOnly).
	usersOnly bool
	// certificate, when set, is the certificate the service's server
	// presents, which the console reads as app wires Deps.Certificate
	// (a request to the service).
	certificate *servedCert
	// setupNotDone leaves its first-run setup unfinished, so the console
	// offers it as it opens (freeze_log_test.go).
	setupNotDone bool
}

// servedCert is the certificate a test's service presents: the test
// changes it while the service's goroutines read it (the status clock's
// requests), so it is read and changed under a lock.
type servedCert struct {
	mu sync.Mutex
	st core.CertificateStatus
}

func (c *servedCert) get() core.CertificateStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// setFingerprint makes the service present a certificate with fp.
func (c *servedCert) setFingerprint(fp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.Fingerprint = fp
}

func newAttachedHarnessWith(t *testing.T, o attachedService) (h *harness, stopService func()) {
	t.Helper()
	var srv *adminapi.Server
	closed := false
	st := o.store
	if st == nil {
		st = storetest.MustOpen(t)
	}
	h = newHarnessOn(t, st, func(h *harness, d *Deps) {
		// The console reads its own clock; the service's starts now too,
		// or behind it.
		h.clock.Advance(time.Since(h.clock.Now()) - o.behind)
		if o.oath {
			h.svc = oathService(t, h.clock)
		}
		if o.setupNotDone {
			if err := h.svc.SetSetting(keySetupDone, "No"); err != nil {
				t.Fatal(err)
			}
		}
		h.usersOnly, h.openHeld = o.usersOnly, o.holdOpen
		dir, err := os.MkdirTemp("", "pv")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		sock := filepath.Join(dir, adminapi.SocketName) // short: socket paths are limited
		srv, err = adminapi.Listen(sock, h.svc)
		if err != nil {
			t.Fatal(err)
		}
		if o.restart != nil {
			*o.restart = func() {
				var err error
				if srv, err = adminapi.Listen(sock, h.svc); err != nil {
					t.Fatal(err)
				}
				closed = false
			}
		}
		t.Cleanup(func() {
			if !closed {
				srv.Close()
			}
		})
		dial := sock
		if o.gate != nil {
			dial = o.gate.listen(t, dir, sock)
		}
		c, err := adminapi.Dial(dial)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if o.holdOpen {
			o.gate.hold()
		}
		k := adminapi.NewConsole(c)
		// The service reports where its server answers (app/env.go), and
		// the console reads it over the socket as app wires it.
		h.svc.SetServerStatus(func() core.ServerStatus {
			st := core.ServerStatus{URLs: []string{"https://192.0.2.10:8443"}}
			if o.certificate != nil {
				st.Certificate = o.certificate.get()
			}
			return st
		})
		d.Service, d.Mail, d.Attached = k, k.MailTools(), "/var/lib/provisio"
		d.ServerURLs = func() []string { return k.ServerStatus().URLs }
		if o.certificate != nil {
			d.Certificate = func() CertInfo {
				cs := k.ServerStatus().Certificate
				return CertInfo{Fingerprint: cs.Fingerprint, FromFiles: cs.FromFiles, Names: cs.Names, NotAfter: cs.NotAfter}
			}
		}
		if o.wrapURLs != nil {
			d.ServerURLs = o.wrapURLs(d.ServerURLs)
		}
	})
	return h, func() { closed = true; srv.Close() }
}

// TestConsole_AttachedOverAdminSocket: an admin's full console attached to
// the service changes a policy on the PIN screen and the service stores
// it, adds an agent, and shows a phone's provisioning as it happens; the
// status bar says it is attached, and what only the service can do is
// said in a sentence.
func TestConsole_AttachedOverAdminSocket(t *testing.T) {
	h, _ := newAttachedHarness(t)
	h.answered() // the status bar is read off the UI thread
	if h.c.serverState.Text != AttachedState || h.c.modeNote.Text != attachedNote || h.c.installSvc.Visible() {
		t.Errorf("status bar %q, %q, install button shown %v", h.c.serverState.Text, h.c.modeNote.Text, h.c.installSvc.Visible())
	}
	if !strings.Contains(h.c.status.Text, "https://192.0.2.10:8443") {
		t.Errorf("status bar %q does not show where the service's server answers", h.c.status.Text)
	}

	// Policy → PIN & Lockout.
	f := h.c.pin
	fails := f.entries["policy.lockout.max_failures"]
	fails.entry.SetText("7")
	test.Tap(f.apply)
	h.answered()
	if fails.msg.Visible() {
		t.Fatalf("the form refused: %q", fails.msg.Text)
	}
	if got := h.svc.Settings().MaxFailures; got != 7 {
		t.Errorf("the service stores max failures %d, want 7", got)
	}
	// A bad value gets the service's sentence next to the field and
	// changes nothing.
	fails.entry.SetText("0")
	test.Tap(f.apply)
	h.answered()
	if !fails.msg.Visible() || fails.msg.Text == "" {
		t.Error("a bad value was not refused next to its field")
	}
	if got := h.svc.Settings().MaxFailures; got != 7 {
		t.Errorf("the service stores max failures %d after a refused value", got)
	}
	// A change made elsewhere reaches the form (once it holds no draft)
	// through the stream.
	fails.entry.SetText("7")
	if err := h.svc.SetSetting("policy.lockout.lock_seconds", "600"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the form follows the service", func() bool {
		return f.entries["policy.lockout.lock_seconds"].entry.Text == "600"
	})

	// Agents.
	s := h.c.agents
	test.Tap(s.add)
	af := s.form
	test.Type(af.name.entry, "office-vpn")
	test.Type(af.host.entry, "127.0.0.1")
	secret := af.secret.entry.Text
	test.Tap(af.save)
	h.answered()
	if s.form != nil {
		t.Fatalf("form still open: %q", agentErrors(af))
	}
	a := h.svc.Agents()
	if len(a) != 1 || a[0].Name != "office-vpn" || a[0].Host != "127.0.0.1" || a[0].Secret != secret {
		t.Fatalf("the service stores %+v", a)
	}
	// Edited without the secret ever coming back: the stored one stays.
	h.waitFor("agent listed", func() bool { return s.list.Length() == 1 })
	s.list.Select(0)
	test.Tap(s.edit)
	if s.form == nil || s.form.secret.entry.Text != "" {
		t.Fatalf("the edit form's secret field holds %q; it shows nothing it was not given", s.form.secret.entry.Text)
	}
	h.c.app.Clipboard().SetContent("before")
	test.Tap(s.form.copySecret)
	if got := h.c.app.Clipboard().Content(); got != "before" {
		t.Errorf("Copy put %q on the clipboard", got)
	}
	s.form.host.entry.SetText("127.0.0.2")
	test.Tap(s.form.save)
	h.answered()
	if a := h.svc.Agents(); len(a) != 1 || a[0].Host != "127.0.0.2" || a[0].Secret != secret {
		t.Errorf("after the edit the service stores %+v", a)
	}

	// A phone provisions with the code the console shows: "Device
	// provisioned" arrives live.
	d := h.openFor("alice")
	if d.issued.Code == "" {
		t.Fatal("no code shown")
	}
	if _, err := h.svc.Provision("127.0.0.1", "alice", d.issued.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("Device provisioned", func() bool { return strings.HasPrefix(d.status.Text, statusProvisioned) })
	h.waitFor("the users list shows the device", func() bool {
		for _, r := range h.c.users.shown {
			if r.Name == "alice" && r.DeviceOS == "TestOS" {
				return true
			}
		}
		return false
	})

	// The Server screen says where restarts happen.
	h.c.server.refreshState()
	if !strings.Contains(h.c.server.state.Text, restartServiceHint) || !h.c.server.restart.Disabled() {
		t.Errorf("server state %q", h.c.server.state.Text)
	}

	// Who did it: the service's log names the operator on the socket.
	entries, err := h.svc.LogTail(200)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	for _, e := range entries {
		log.WriteString("[" + e.Actor + "] " + e.Message + "\n")
	}
	// The use cases' own lines; the admin API adds none of its own.
	for _, want := range []string{"[a console or command on this machine (uid ", ")] Policy PIN and Lockout saved: policy.lockout.max_failures 5 → 7.\n",
		`)] Agent "office-vpn" saved (`, `)] Provision code created for user "alice"` + "\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), secret) {
		t.Error("the agent's secret is in the log")
	}
}

// TestConsole_AttachedServiceGoes: when the service stops, the attached
// console says so in red, in a sentence that says it reconnects, rather
// than showing stale data as live; when the service answers again the
// console is attached again by itself, and a Reprovision dialog whose
// code provisioned a phone meanwhile (its event lost with the stream)
// shows "Device provisioned", whichever way the clocks differ by 10
// minutes. An Add user form open meanwhile says nothing was changed,
// keeps what was typed, and adds the user once the service is back. (It said "Restart the console once the
// service runs" and stayed cut off until then.)
func TestConsole_AttachedServiceGoes(t *testing.T) {
	for _, behind := range []time.Duration{0, 10 * time.Minute, -10 * time.Minute} {
		t.Run(fmt.Sprintf("service clock %v behind", behind), func(t *testing.T) { attachedServiceGoes(t, behind) })
	}
}

func attachedServiceGoes(t *testing.T, behind time.Duration) {
	var restart func()
	h, stop := newAttachedHarnessWith(t, attachedService{restart: &restart, behind: behind})
	d := h.openFor("alice")
	if d.issued.Code == "" {
		t.Fatal("no code shown")
	}
	// An Add user form half filled in when the service goes.
	test.Tap(h.c.users.add)
	h.answered()
	f := h.c.users.form
	test.Type(f.name.entry, "bob")
	test.Type(f.fullName.entry, "Bob Jones")
	stop()
	h.waitFor("the console notices", func() bool { return strings.Contains(h.c.status.Text, "is not answering") })
	test.Tap(f.save)
	h.waitFor("the form's answer", func() bool { return len(formErrors(f)) > 0 })
	if msg := fmt.Sprint(formErrors(f)); !strings.Contains(msg, "is not answering") || !strings.Contains(msg, "nothing was changed") {
		t.Errorf("Add while the service is down says %s", msg)
	}
	if h.c.users.form != f || f.name.entry.Text != "bob" || f.fullName.entry.Text != "Bob Jones" {
		t.Errorf("the form lost what was typed: %q %q", f.name.entry.Text, f.fullName.entry.Text)
	}
	if !strings.Contains(h.c.status.Text, "reconnects by itself") {
		t.Errorf("the status bar says %q", h.c.status.Text)
	}
	if h.c.serverState.Importance != widget.DangerImportance {
		t.Errorf("status %q is not red", h.c.serverState.Text)
	}
	if _, err := h.svc.Provision("127.0.0.1", "alice", d.issued.Code, "TestOS"); err != nil {
		t.Fatal(err)
	}
	restart()
	h.waitFor("the console attached again", func() bool {
		return h.c.modeNote.Text == attachedNote && h.c.serverState.Text == AttachedState &&
			!strings.Contains(h.c.status.Text, "is not answering")
	})
	if h.c.serverState.Importance == widget.DangerImportance {
		t.Errorf("status %q is still red", h.c.serverState.Text)
	}
	test.Tap(f.save)
	h.waitFor("bob added and the form closed", func() bool { return h.c.users.form == nil })
	if u, err := h.svc.User("bob"); err != nil || u.FullName != "Bob Jones" {
		t.Errorf("the service holds %+v, %v", u, err)
	}
	h.waitFor("Device provisioned in the dialog", func() bool { return d.status.Text == "Device provisioned (TestOS)" })
	// The audit log screen shows what happened during the outage too,
	// without waiting for a later entry to reveal the gap.
	h.waitFor("the outage's log line", func() bool {
		for _, e := range h.c.log.shown {
			if strings.HasPrefix(e.Message, `User "alice" provisioned`) {
				return true
			}
		}
		return false
	})
}

// TestConsole_RemoteAdminOverMutualTLS: a console paired with the admin
// role (--connect) gets the full console over mutual TLS on loopback,
// and what it saves is what the server stores, logged with its name.
func TestConsole_RemoteAdminOverMutualTLS(t *testing.T) {
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		h.clock.Advance(time.Since(h.clock.Now()))
		keyDir := t.TempDir()
		cert, err := certs.LoadOrCreateIn(t.TempDir(), keyDir, []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := adminapi.ListenRemote("127.0.0.1:0", h.svc, adminapi.RemoteOptions{
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
			CA:             certs.NewConsoleCA(keyDir)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		p, err := core.LocalAdmin{Svc: h.svc}.PairConsole("desk-admin", core.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		fp, serverPEM, err := adminapi.ServerFingerprint(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		id, err := adminapi.Pair(srv.Addr(), fp, serverPEM, p.Code)
		if err != nil {
			t.Fatal(err)
		}
		c, err := adminapi.DialRemote(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		k := adminapi.NewConsole(c)
		d.Service, d.Mail, d.ServerURLs, d.Attached, d.Fingerprint = k, k.MailTools(), nil, srv.Addr(), id.ServerFingerprint
	})
	f := h.c.pin
	f.entries["policy.pin.min_length"].entry.SetText("6")
	test.Tap(f.apply)
	h.answered()
	if got := h.svc.Settings().PINMin; got != 6 {
		t.Fatalf("the server stores PIN min length %d, want 6", got)
	}
	h.waitFor("the log line arrives over the stream", func() bool {
		for _, e := range h.c.log.shown {
			// The entry came over the event stream, its actor with it.
			if strings.HasPrefix(e.Message, "Policy PIN and Lockout saved: policy.pin.min_length ") && e.Actor == `console "desk-admin" (admin) at 127.0.0.1` {
				return true
			}
		}
		return false
	})
}

// TestConsole_AttachedClockAheadOfService: the full console attached to a
// service whose clock is 11 minutes behind its own shows a fresh code
// with its whole validity left, not "Code expired"; turning to the
// authenticator app opens that dialog (it used to crash) and withdraws
// the mobile-client code over the socket.
func TestConsole_AttachedClockAheadOfService(t *testing.T) {
	h, _ := newAttachedHarnessWith(t, attachedService{oath: true, behind: 11 * time.Minute})
	fresh := func(text, prefix string) bool {
		return text == prefix+"10:00" || text == prefix+"9:59" // real time passes on the console
	}
	d := h.openFor("bob")
	if d.status.Text != statusWaiting || !fresh(d.countdown.Text, "Expires in ") {
		t.Fatalf("a fresh code shows status %q, countdown %q", d.status.Text, d.countdown.Text)
	}
	h.settle()
	if d.status.Text != statusWaiting {
		t.Fatalf("the code ended on the console: %q", d.status.Text)
	}
	if p, _ := h.svc.PendingCodes(); p["bob"].IsZero() {
		t.Fatal("no code pending on the service")
	}

	notPanics(t, "choosing the authenticator app", func() {
		findRadio(h.win.Canvas().Overlays().Top()).SetSelected(choiceOATH)
	})
	h.answered()
	o := h.c.oath
	if o == nil {
		t.Fatal("no authenticator-app dialog")
	}
	if o.status.Text != oathWaiting || !fresh(strings.SplitN(o.countdown.Text, " (", 2)[0], "Confirm within ") {
		t.Errorf("authenticator-app dialog: status %q, countdown %q", o.status.Text, o.countdown.Text)
	}
	if p, _ := h.svc.PendingCodes(); !p["bob"].IsZero() {
		t.Error("the mobile-client code is still pending after turning to the authenticator app")
	}
}

// TestConsole_AttachedCountdownOnOwnClock: the full console attached to
// a service counts a code down on its own clock, from when the code
// arrived, as the compact window does. Its estimate of the service's
// clock is corrected when an answer shows it seconds off (adminapi's
// serverClock), and counted on that estimate the countdown jumped with
// it: a correction while the dialog was open moved "Expires in" by the
// correction, up or down.
func TestConsole_AttachedCountdownOnOwnClock(t *testing.T) {
	h, _ := newAttachedHarnessWith(t, attachedService{})
	d := h.openFor("bob")
	// The service's clock moves on by 30 s: its next answer corrects the
	// console's estimate of it.
	h.clock.Advance(30 * time.Second)
	if _, err := h.c.svc.Users(); err != nil {
		t.Fatal(err)
	}
	d.tick()
	if got := d.countdown.Text; got != "Expires in 10:00" && got != "Expires in 9:59" && got != "Expires in 9:58" {
		t.Errorf("after the estimate of the service's clock moved: %q, want the code's 10:00 counted on the console's clock", got)
	}
}

// TestConsole_StatusClockDoesNotHoldTheWindow: an attached console's
// status bar asks the service where its server answers and how it is,
// every statusTick. Over a network that carries nothing those requests
// wait up to their timeout (30 s); asked on the UI thread, the window
// froze that long each time. They are asked off the UI thread, and the
// window keeps answering meanwhile.
func TestConsole_StatusClockDoesNotHoldTheWindow(t *testing.T) {
	var hang atomic.Bool
	entered, release := make(chan struct{}, 1), make(chan struct{})
	t.Cleanup(func() { close(release) })
	h, _ := newAttachedHarnessWith(t, attachedService{wrapURLs: func(urls func() []string) func() []string {
		return func() []string {
			if hang.Load() {
				select {
				case entered <- struct{}{}:
				default:
				}
				select {
				case <-release:
				case <-time.After(3 * time.Second):
				}
			}
			return urls()
		}
	}})
	hang.Store(true)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		// The hook runs on the UI thread, which only waitFor runs:
		// let it.
		h.waitWithin(10*time.Second, "the status clock to ask", func() bool {
			select {
			case <-entered:
				return true
			default:
				return false
			}
		})
	}
	start := time.Now()
	ran := false
	h.c.do(func() { ran = true })
	h.waitFor("other work on the UI thread", func() bool { return ran })
	if d := time.Since(start); d > time.Second {
		t.Errorf("the window waited %v for the status clock's request", d.Round(time.Millisecond))
	}
}
