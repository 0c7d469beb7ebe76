package ui

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/certs"
)

// liveServer is what app/ does for the console: a real AgentXML server
// on loopback that RestartServer reopens with the current settings and
// RegenerateCert gives a new certificate, kept in a temporary directory;
// a certs.Reloader serves the admin's files (server.tls_cert/tls_key)
// instead when they are set.
type liveServer struct {
	mu    sync.Mutex
	h     *harness
	dir   string
	cert  tls.Certificate
	srv   *agentxml.Server
	certs *certs.Reloader
}

func newLiveHarness(t *testing.T) (*harness, *liveServer) {
	t.Helper()
	ls := &liveServer{dir: t.TempDir()}
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		ls.h = h
		if err := h.svc.SetSetting("server.listen", "127.0.0.1:"+freePort(t)); err != nil {
			t.Fatal(err)
		}
		ls.certs = &certs.Reloader{
			Dir: ls.dir,
			Source: func() (string, string, string) {
				set := h.svc.Settings()
				return set.TLSCert, set.TLSKey, h.svc.AdvertisedHost()
			},
			Names: func() []string { return []string{"127.0.0.1"} },
		}
		cert, fp := ls.certs.Current()
		if fp == "" {
			t.Fatal("no certificate")
		}
		ls.cert = cert
		d.Fingerprint = fp
		d.StartErr = ls.restart()
		d.ServerURLs = ls.urls
		d.RestartServer = ls.restart
		d.RegenerateCert = ls.regenerate
		d.Certificate = ls.certInfo
		d.CheckCertFiles = func(certPath, keyPath, host string) error {
			_, err := certs.LoadFiles(certPath, keyPath, host, time.Now())
			return err
		}
	})
	t.Cleanup(func() { ls.mu.Lock(); defer ls.mu.Unlock(); ls.srv.Close() })
	return h, ls
}

func (ls *liveServer) restart() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.srv != nil {
		ls.srv.Close()
	}
	ls.srv = agentxml.New(ls.h.svc, agentxml.Options{Certificate: ls.cert, GetCertificate: ls.certs.GetCertificate,
		Fingerprint: ls.certs.Fingerprint})
	return ls.srv.Open(ls.h.svc.Settings().Listen)
}

func (ls *liveServer) urls() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if u := ls.srv.URL(); u != "" {
		return []string{u}
	}
	return nil
}

func (ls *liveServer) regenerate() (string, error) {
	cert, err := certs.Regenerate(ls.dir, []string{"127.0.0.1"})
	if err != nil {
		return "", err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.cert = cert
	// The admin's files, when set, still win.
	_ = ls.certs.Reload()
	ls.cert, _ = ls.certs.Current()
	return certs.Fingerprint(ls.cert), nil
}

// certInfo is app's env.certInfo.
func (ls *liveServer) certInfo() CertInfo {
	st := ls.certs.Status()
	info := CertInfo{Fingerprint: st.Fingerprint, FromFiles: st.FromFiles, Names: st.Names(), Problem: st.Err}
	if st.Leaf != nil {
		info.NotAfter = st.Leaf.NotAfter
	}
	return info
}

// ping asks the server over HTTPS, trusting only fingerprint.
func (ls *liveServer) ping(t *testing.T, fingerprint string) error {
	t.Helper()
	u := ls.urls()
	if len(u) == 0 {
		t.Fatal("server not running")
	}
	c, err := agentxmltest.PinnedClient(fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(u[0] + "/ssdserver/getServerDetails?id=office")
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestServerScreen_Layout(t *testing.T) {
	h := newHarness(t)
	h.c.showScreen(h.c.server.content)
	writeShot(t, "golden_server.png", h.win.Canvas().Capture())
	test.AssertRendersToMarkup(t, "server.xml", h.win.Canvas())
}

func TestServerScreen_ValidationKeepsInput(t *testing.T) {
	h := newHarness(t)
	s := h.c.server
	for fl, v := range map[*field]string{s.siteID: "head office", s.port: "99999", s.httpListen: "8080", s.advertise: "phones here",
		s.mtlsListen: "9443", s.adminListen: "everywhere:8444"} {
		fl.entry.SetText(v)
	}
	test.Tap(s.apply)
	want := map[*field]string{
		s.siteID:     "A Site ID uses letters, digits, '-', '_' and '.' only.",
		s.port:       "Enter a port from 1 to 65535.",
		s.httpListen: `"8080" is not a listen address like 0.0.0.0:8443.`,
		s.advertise:  `"phones here" is not a host name or IP address.`,
		s.mtlsListen: `"9443" is not a listen address like 0.0.0.0:8443.`,
	}
	for fl, msg := range want {
		if !fl.msg.Visible() || fl.msg.Text != msg {
			t.Errorf("message %q, want %q", fl.msg.Text, msg)
		}
	}
	if s.result.Text != "Not saved: correct the fields marked in red." {
		t.Errorf("result %q", s.result.Text)
	}
	if s.siteID.entry.Text != "head office" || s.port.entry.Text != "99999" {
		t.Error("typed values lost")
	}
	if h.svc.Settings().SiteID != "office" {
		t.Error("saved despite errors")
	}
	test.Tap(s.reset)
	if s.siteID.entry.Text != "office" || s.siteID.msg.Visible() {
		t.Errorf("Reset shows %q", s.siteID.entry.Text)
	}
}

func TestServerScreen_ApplyNamesWithoutRestart(t *testing.T) {
	h, _ := newLiveHarness(t)
	s := h.c.server
	s.name.entry.SetText("office-pc")
	s.siteID.entry.SetText("head-office")
	s.advertise.entry.SetText("10.0.0.5")
	test.Tap(s.apply)
	set := h.svc.Settings()
	if set.ServerName != "office-pc" || set.SiteID != "head-office" || set.Advertise != "10.0.0.5" || s.result.Text != "Saved." {
		t.Errorf("saved %q %q %q; result %q", set.ServerName, set.SiteID, set.Advertise, s.result.Text)
	}
	h.waitFor("Site ID in the status bar", func() bool { return strings.Contains(h.c.status.Text, "Site ID head-office") })
}

// TestServerScreen_OtherListeners: the device certificate listener (#14)
// and the remote console listener (#12) are set on the Server screen; a
// new device certificate listener restarts the server, a new remote
// console listener says it applies at the next start.
func TestServerScreen_OtherListeners(t *testing.T) {
	h, _ := newLiveHarness(t)
	s := h.c.server
	if s.mtlsListen.entry.Text != h.svc.Settings().MTLSListen || s.adminListen.entry.Text != h.svc.Settings().AdminListen {
		t.Fatalf("form shows %q %q", s.mtlsListen.entry.Text, s.adminListen.entry.Text)
	}
	mtls, adm := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	s.mtlsListen.entry.SetText(mtls)
	s.adminListen.entry.SetText(adm)
	test.Tap(s.apply)
	want := "Saved. The remote console listener moves when Provisio starts again. The server restarted."
	h.waitFor("restart", func() bool { return s.result.Text == want })
	if set := h.svc.Settings(); set.MTLSListen != mtls || set.AdminListen != adm {
		t.Errorf("saved %q %q", set.MTLSListen, set.AdminListen)
	}
	s.adminListen.entry.SetText("")
	test.Tap(s.apply)
	if got := h.svc.Settings().AdminListen; got != "" || s.result.Text != "Saved. The remote console listener moves when Provisio starts again." {
		t.Errorf("turned off: %q, result %q", got, s.result.Text)
	}
}

func TestServerScreen_NewPortRestartsServer(t *testing.T) {
	h, ls := newLiveHarness(t)
	s := h.c.server
	if !strings.HasPrefix(s.state.Text, "Running at https://127.0.0.1:") {
		t.Fatalf("state %q", s.state.Text)
	}
	old := ls.urls()[0]
	port := freePort(t)
	s.port.entry.SetText(port)
	test.Tap(s.apply)
	h.waitFor("restart", func() bool { return s.result.Text == "Saved. The server restarted." })
	now := ls.urls()[0]
	if now == old || !strings.HasSuffix(now, ":"+port) {
		t.Errorf("server at %s, was %s, want port %s", now, old, port)
	}
	if !strings.HasPrefix(s.state.Text, "Running at "+now) || !strings.HasSuffix(h.c.status.Text, "   ·   "+now) {
		t.Errorf("state %q, status %q", s.state.Text, h.c.status.Text)
	}
	if err := ls.ping(t, h.c.fingerprint); err != nil {
		t.Errorf("the restarted server does not answer: %v", err)
	}
}

func TestServerScreen_PortInUse(t *testing.T) {
	h, _ := newLiveHarness(t)
	s := h.c.server
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s.port.entry.SetText(itoa(busy.Addr().(*net.TCPAddr).Port))
	test.Tap(s.apply)
	// The sentence names the address: the server has up to three
	// listeners, and "that port" left the admin guessing which.
	taken := busy.Addr().String()
	want := "Saved. The server could not start: another program already uses " + taken + ". Choose another port, or stop the other program."
	h.waitFor("failure", func() bool { return s.result.Text == want })
	if !strings.HasPrefix(s.state.Text, "Stopped: another program already uses "+taken+".") {
		t.Errorf("state %q", s.state.Text)
	}
	if h.c.serverState.Text != "● Server stopped" {
		t.Errorf("status bar %q", h.c.serverState.Text)
	}
	h.waitFor("detail in the log", func() bool {
		return len(h.c.log.shown) > 0 && strings.HasPrefix(h.c.log.shown[0].Message, "The server could not start: ")
	})
	// Back to a free port, and Restart brings it up.
	s.port.entry.SetText(freePort(t))
	test.Tap(s.apply)
	h.waitFor("running again", func() bool { return s.result.Text == "Saved. The server restarted." })
	if h.c.serverState.Text != "● Server running" {
		t.Errorf("status bar %q", h.c.serverState.Text)
	}
}

func TestServerScreen_RegenerateCertificate(t *testing.T) {
	h, ls := newLiveHarness(t)
	s := h.c.server
	old := h.c.fingerprint
	if s.fingerprint.Text != old || !strings.Contains(h.c.certLine.Text, old) {
		t.Fatalf("fingerprint %q not shown", old)
	}
	test.Tap(s.regenerate)
	if s.confirm == nil {
		t.Fatal("no warning before regenerating")
	}
	if texts := visibleTexts(h.win.Canvas().Overlays().Top()); !strings.Contains(strings.Join(texts, " "), "each must be reprovisioned") {
		t.Errorf("warning reads %q", texts)
	}
	s.confirm.Confirm()
	h.waitFor("new certificate", func() bool { return s.result.Text == "New certificate in use. Reprovision every phone." })
	fp := h.c.fingerprint
	if fp == old || s.fingerprint.Text != fp || !strings.Contains(h.c.certLine.Text, fp) {
		t.Errorf("fingerprint %q (was %q) shown %q", fp, old, s.fingerprint.Text)
	}
	// The running server presents the new certificate, not the old one.
	if err := ls.ping(t, fp); err != nil {
		t.Errorf("new fingerprint refused: %v", err)
	}
	if err := ls.ping(t, old); err == nil {
		t.Error("the server still presents the old certificate")
	}
	h.waitFor("log line", func() bool {
		for _, e := range h.c.log.shown {
			if strings.HasPrefix(e.Message, "Server certificate regenerated; provisioned phones must reprovision.") {
				return true
			}
		}
		return false
	})
}

func TestServerScreen_WithoutHooks(t *testing.T) {
	h := newHarness(t)
	s := h.c.server
	if !s.restart.Disabled() || !s.regenerate.Disabled() {
		t.Error("restart and regenerate offered without the hooks")
	}
	s.port.entry.SetText("9443")
	test.Tap(s.apply)
	if s.result.Text != "Saved. Restart Provisio to listen on the new address." {
		t.Errorf("result %q", s.result.Text)
	}
}

func TestConsole_StartErrorIsASentence(t *testing.T) {
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		d.ServerURLs = func() []string { return nil }
		_, err := net.Listen("tcp", "256.0.0.1:1")
		d.StartErr = err
	})
	top := h.win.Canvas().Overlays().Top()
	texts := strings.Join(visibleTexts(top), " ")
	if !strings.Contains(texts, "The server could not start: ") || strings.Contains(texts, "256.0.0.1") {
		t.Errorf("start error reads %q", texts)
	}
	if h.c.serverState.Text != "● Server stopped" || !strings.HasPrefix(h.c.server.state.Text, "Stopped: ") {
		t.Errorf("state %q / %q", h.c.serverState.Text, h.c.server.state.Text)
	}
	h.c.escape()
	if h.win.Canvas().Overlays().Top() != nil {
		t.Error("Escape did not close the error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// freePort returns a loopback port nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return itoa(ln.Addr().(*net.TCPAddr).Port)
}

// writeCertPair writes a PEM certificate for host, valid from an hour ago
// until notAfter, and its key (or, with otherKey, an unrelated key) into
// dir, and returns the paths and the certificate's fingerprint.
func writeCertPair(t *testing.T, dir, host string, notAfter time.Time, otherKey bool) (certPath, keyPath, fp string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if otherKey {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	certPath, keyPath = filepath.Join(dir, "office.crt"), filepath.Join(dir, "office.key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, certs.Fingerprint(tls.Certificate{Certificate: [][]byte{der}})
}

// TestServerScreen_CertificateFiles: the admin chooses the office's
// certificate and key on the Server screen; files the server would refuse
// get the server's own sentence under the field and change nothing; good
// files are served at once, without a restart, and the screen and the
// status bar show them; a renewal gone wrong later is reported while the
// previous certificate keeps serving; clearing both goes back to the
// generated certificate.
func TestServerScreen_CertificateFiles(t *testing.T) {
	h, ls := newLiveHarness(t)
	s := h.c.server
	gen := h.c.fingerprint
	if !strings.HasPrefix(s.certInUse.Text, "In use: the certificate Provisio generated") || s.certProblem.Visible() {
		t.Fatalf("in use %q, problem %q", s.certInUse.Text, s.certProblem.Text)
	}
	dir := t.TempDir()
	year := time.Now().AddDate(1, 0, 0)
	choose := func(certPath, keyPath string) {
		h.open = certPath
		test.Tap(s.chooseCert) // the file dialog's stand-in hands back h.open
		s.keyFile.entry.SetText("")
		test.Type(s.keyFile.entry, keyPath)
		s.advertise.entry.SetText("127.0.0.1")
		test.Tap(s.apply)
	}
	refused := func(fl *field, want string) {
		t.Helper()
		if !fl.msg.Visible() || !strings.Contains(fl.msg.Text, want) {
			t.Errorf("message %q (visible %v), want it to contain %q", fl.msg.Text, fl.msg.Visible(), want)
		}
		if s.result.Text != "Not saved: correct the fields marked in red." {
			t.Errorf("result %q", s.result.Text)
		}
		if set := h.svc.Settings(); set.TLSCert != "" || set.TLSKey != "" {
			t.Errorf("saved %q %q despite the error", set.TLSCert, set.TLSKey)
		}
		if err := ls.ping(t, gen); err != nil {
			t.Errorf("the generated certificate is no longer served: %v", err)
		}
	}

	certPath, keyPath, _ := writeCertPair(t, dir, "127.0.0.1", year, true)
	choose(certPath, keyPath)
	if s.certFile.entry.Text != certPath {
		t.Fatalf("Choose… put %q in the field, want %q", s.certFile.entry.Text, certPath)
	}
	refused(s.keyFile, "The key in "+keyPath+" does not match the certificate in "+certPath+".")

	writeCertPair(t, dir, "127.0.0.1", time.Now().Add(-time.Minute), false)
	choose(certPath, keyPath)
	refused(s.certFile, "The certificate in "+certPath+" expired on ")

	writeCertPair(t, dir, "auth.office.example.org", year, false)
	choose(certPath, keyPath)
	refused(s.certFile, "does not name 127.0.0.1, the address phones use (server.advertise).")

	choose(certPath, "")
	refused(s.keyFile, "Choose the key file too, or clear both to use the generated certificate.")
	choose(certPath, "office.key")
	refused(s.keyFile, "Enter the full path of the key file, such as /etc/provisio/auth.key.")

	_, _, office := writeCertPair(t, dir, "127.0.0.1", year, false)
	choose(certPath, keyPath)
	if want := "Saved. The server now presents your certificate, with a new fingerprint: apps that pinned the old one must be reprovisioned."; s.result.Text != want {
		t.Fatalf("result %q, want %q", s.result.Text, want)
	}
	if set := h.svc.Settings(); set.TLSCert != certPath || set.TLSKey != keyPath {
		t.Errorf("saved %q %q", set.TLSCert, set.TLSKey)
	}
	// The running server presents it at once, no restart.
	if err := ls.ping(t, office); err != nil {
		t.Errorf("the office certificate is not served: %v", err)
	}
	if err := ls.ping(t, gen); err == nil {
		t.Error("the generated certificate is still served")
	}
	if h.c.fingerprint != office || s.fingerprint.Text != office || !strings.Contains(h.c.certLine.Text, office) {
		t.Errorf("fingerprint %q, shown %q, status bar %q; want %q", h.c.fingerprint, s.fingerprint.Text, h.c.certLine.Text, office)
	}
	if want := "In use: your certificate, for 127.0.0.1, valid until " + year.Local().Format("2 Jan 2006") + "."; s.certInUse.Text != want {
		t.Errorf("in use %q, want %q", s.certInUse.Text, want)
	}

	// A renewal with the wrong key: the screen says so when shown again,
	// and the office certificate keeps serving.
	writeCertPair(t, dir, "127.0.0.1", year, true)
	h.c.showScreen(h.c.users.content)
	h.c.showScreen(s.content)
	if want := "The key in " + keyPath + " does not match the certificate in " + certPath + "."; !s.certProblem.Visible() ||
		!strings.Contains(s.certProblem.Text, want) {
		t.Errorf("problem %q (visible %v), want it to contain %q", s.certProblem.Text, s.certProblem.Visible(), want)
	}
	if err := ls.ping(t, office); err != nil || !strings.HasPrefix(s.certInUse.Text, "In use: your certificate") {
		t.Errorf("the office certificate stopped serving (%v); in use %q", err, s.certInUse.Text)
	}

	// Clearing both brings the generated certificate back.
	s.certFile.entry.SetText("")
	s.keyFile.entry.SetText("")
	test.Tap(s.apply)
	if want := "Saved. The server now presents the generated certificate again, with a new fingerprint: apps that pinned the old one must be reprovisioned."; s.result.Text != want {
		t.Errorf("result %q, want %q", s.result.Text, want)
	}
	if err := ls.ping(t, gen); err != nil || h.c.fingerprint != gen || s.certProblem.Visible() {
		t.Errorf("generated certificate not back: %v, fingerprint %q, problem %q", err, h.c.fingerprint, s.certProblem.Text)
	}
}

// TestServerScreen_ApplyWarnsOfNewFingerprintShownMeanwhile: a save that
// changes the certificate served warns that pinned apps must be
// reprovisioned, even when another read of the certificate (the status
// clock's, the change's own event on an attached console) showed the new
// fingerprint before the save's answer came. The warning compared with
// the fingerprint on screen, by then the new one, and said only "Saved.".
func TestServerScreen_ApplyWarnsOfNewFingerprintShownMeanwhile(t *testing.T) {
	var armed, meanwhile atomic.Bool
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		d.Certificate = func() CertInfo {
			// The server names itself by the advertised address: a new
			// one gets another certificate.
			if h.svc.Settings().Advertise != "hq.example.org" {
				return CertInfo{Fingerprint: "11:22:33"}
			}
			if armed.Load() && !meanwhile.Swap(true) {
				h.c.followCertificate() // another read, shown first
			}
			return CertInfo{Fingerprint: "44:55:66"}
		}
	})
	// Only the save reads it from now on, on the test's goroutine.
	h.stopStatusClock()
	h.c.followCertificate()
	armed.Store(true)
	s := h.c.server
	h.c.showScreen(s.content)
	s.advertise.entry.SetText("hq.example.org")
	test.Tap(s.apply)
	h.answered()
	if !meanwhile.Load() {
		t.Fatal("the test's other read did not happen")
	}
	want := "Saved. The server now presents the generated certificate again, with a new fingerprint: apps that pinned the old one must be reprovisioned."
	if s.result.Text != want {
		t.Errorf("result %q, want %q", s.result.Text, want)
	}
	if got := h.c.certLine.Text; got != "Certificate SHA-256 44:55:66" {
		t.Errorf("certificate line %q", got)
	}
}
