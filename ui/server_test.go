package ui

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2/test"

	"provisio/core/agentxml"
	"provisio/core/agentxml/agentxmltest"
	"provisio/core/certs"
)

// liveServer is what app/ does for the console: a real AgentXML server
// on loopback that RestartServer reopens with the current settings and
// RegenerateCert gives a new certificate, kept in a temporary directory.
type liveServer struct {
	mu   sync.Mutex
	h    *harness
	dir  string
	cert tls.Certificate
	srv  *agentxml.Server
}

func newLiveHarness(t *testing.T) (*harness, *liveServer) {
	t.Helper()
	ls := &liveServer{dir: t.TempDir()}
	h := newHarnessWith(t, func(h *harness, d *Deps) {
		ls.h = h
		if err := h.svc.SetSetting("server.listen", "127.0.0.1:"+freePort(t)); err != nil {
			t.Fatal(err)
		}
		cert, err := certs.LoadOrCreate(ls.dir, []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		ls.cert = cert
		d.Fingerprint = certs.Fingerprint(cert)
		d.StartErr = ls.restart()
		d.ServerURLs = ls.urls
		d.RestartServer = ls.restart
		d.RegenerateCert = ls.regenerate
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
	ls.srv = agentxml.New(ls.h.svc, agentxml.Options{Certificate: ls.cert, Fingerprint: certs.Fingerprint(ls.cert)})
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
	ls.cert = cert
	ls.mu.Unlock()
	return certs.Fingerprint(cert), nil
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
	for fl, v := range map[*field]string{s.siteID: "head office", s.port: "99999", s.httpListen: "8080", s.advertise: "phones here"} {
		fl.entry.SetText(v)
	}
	test.Tap(s.apply)
	want := map[*field]string{
		s.siteID:     "A Site ID uses letters, digits, '-', '_' and '.' only.",
		s.port:       "Enter a port from 1 to 65535.",
		s.httpListen: `"8080" is not a listen address like 0.0.0.0:8443.`,
		s.advertise:  `"phones here" is not a host name or IP address.`,
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
	if !strings.HasPrefix(s.state.Text, "Running at "+now) || !strings.HasPrefix(h.c.status.Text, now) {
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
	want := "Saved. The server could not start: another program already uses that port. Choose another port, or stop the other program."
	h.waitFor("failure", func() bool { return s.result.Text == want })
	if !strings.HasPrefix(s.state.Text, "Stopped: another program already uses that port.") {
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
	if s.fingerprint.Text != old || !strings.Contains(h.c.status.Text, old) {
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
	if fp == old || s.fingerprint.Text != fp || !strings.Contains(h.c.status.Text, fp) {
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
