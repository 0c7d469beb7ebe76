package ui

import (
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store/storetest"
)

// pairedRemote is a service serving the remote admin listener over
// mutual TLS on 127.0.0.1, and a helpdesk console's identity paired with
// it. listen opens the listener (again) on the same address, as a
// service that starts does; stop closes it.
type pairedRemote struct {
	id           *adminapi.Identity
	listen, stop func()
	svc          *core.Service
}

func newPairedRemote(t *testing.T) *pairedRemote {
	t.Helper()
	svc := storetest.MustService(t)
	keyDir := t.TempDir()
	cert, err := certs.LoadOrCreateIn(t.TempDir(), keyDir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	opts := adminapi.RemoteOptions{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
		CA:             certs.NewConsoleCA(keyDir)}
	var mu sync.Mutex
	var srv *adminapi.RemoteServer
	r := &pairedRemote{svc: svc}
	addr := "127.0.0.1:0"
	r.listen = func() {
		t.Helper()
		s, err := adminapi.ListenRemote(addr, svc, opts)
		if err != nil {
			t.Fatal(err)
		}
		addr = s.Addr() // the same port when it opens again
		mu.Lock()
		srv = s
		mu.Unlock()
	}
	r.stop = func() {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			srv.Close()
			srv = nil
		}
	}
	t.Cleanup(r.stop)
	r.listen()
	p, err := core.LocalAdmin{Svc: svc}.PairConsole("desk-2", core.RoleHelpdesk)
	if err != nil {
		t.Fatal(err)
	}
	fp, serverPEM, err := adminapi.ServerFingerprint(addr)
	if err != nil {
		t.Fatal(err)
	}
	id, err := adminapi.Pair(addr, fp, serverPEM, p.Code)
	if err != nil {
		t.Fatal(err)
	}
	r.id = id
	return r
}

// connectProblemWindow shows the connect-problem window for the first
// attempt's err, dialing id as app/console.go does and opening the
// helpdesk console once connected; every is how often it tries by
// itself. attached returns the console once it opened.
func connectProblemWindow(t *testing.T, id *adminapi.Identity, err error, every time.Duration) (p *ConnectProblem, w fyne.Window, attached func() *Attached, waitFor func(string, func() bool)) {
	t.Helper()
	test.NewTempApp(t)
	w = test.NewTempWindow(t, widget.NewLabel(""))
	do, waitFor := uiQueue(t)
	var at *Attached
	t.Cleanup(func() {
		if at != nil {
			at.Close()
		}
	})
	p = ShowConnectProblem(w, ConnectProblemDeps{
		Server: id.Addr, Err: err,
		Dial: func() (func(), error) {
			api, err := adminapi.DialRemote(id)
			if err != nil {
				return nil, err
			}
			return func() {
				at = NewAttached(w, AttachedDeps{API: api, Remote: id.Addr, do: do})
			}, nil
		},
		Repair: func() { t.Error("Pair again was not asked for") },
		do:     do, every: every,
	})
	t.Cleanup(p.Close)
	return p, w, func() *Attached { return at }, waitFor
}

// TestConnectProblem_ConnectsByItselfOnceTheServiceStarts: a paired
// console started while its service is down shows why, tries again by
// itself, and becomes the console as soon as the service answers,
// without anyone pressing Try again.
func TestConnectProblem_ConnectsByItselfOnceTheServiceStarts(t *testing.T) {
	r := newPairedRemote(t)
	r.stop()
	_, err := adminapi.DialRemote(r.id)
	if err == nil {
		t.Fatal("connected to a service that is down")
	}
	p, _, attached, waitFor := connectProblemWindow(t, r.id, err, 20*time.Millisecond)
	if !strings.Contains(p.Message(), "could not connect to "+r.id.Addr) || !strings.Contains(p.Message(), "tries again by itself") {
		t.Errorf("message %q", p.Message())
	}
	// It keeps trying while the service is down, and keeps saying why.
	tries := 0
	waitFor("attempts while the service is down", func() bool {
		if p.trying {
			tries++
		}
		return tries >= 3 && !p.trying
	})
	if attached() != nil {
		t.Fatal("the console opened while the service was down")
	}
	r.listen()
	waitFor("the console to open by itself", func() bool { return attached() != nil })
	if p.trying || !p.ui.closed.Load() {
		t.Error("the connect-problem window still tries once the console opened")
	}
}

// TestConnectProblem_TryAgainDoesNotHoldTheWindow: Try again over a
// network that carries nothing (a listener that accepts and never
// answers) comes back at once, says "Trying…" and waits disabled, and
// the next failure's sentence shows once the attempt ends.
func TestConnectProblem_TryAgainDoesNotHoldTheWindow(t *testing.T) {
	r := newPairedRemote(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}
	t.Cleanup(release)
	id := *r.id
	id.Addr = silent.Addr().String()
	// It does not try by itself during the test: the tap does.
	p, _, attached, waitFor := connectProblemWindow(t, &id, net.ErrClosed, time.Hour)
	test.Tap(p.retry)
	if released {
		t.Fatal("Try again held the window until the attempt ended")
	}
	if !p.retry.Disabled() || p.retry.Text != "Trying…" {
		t.Errorf("while trying: button %q, disabled %v", p.retry.Text, p.retry.Disabled())
	}
	before := p.Message()
	release()
	waitFor("the attempt to end", func() bool { return !p.trying })
	if p.retry.Disabled() || p.retry.Text != "Try again" || p.Message() == before || attached() != nil {
		t.Errorf("after a failed attempt: button %q, disabled %v, message %q", p.retry.Text, p.retry.Disabled(), p.Message())
	}
}

// TestConnectProblem_RevokedSaysPairAgain: a console revoked on the
// server is refused however often it tries, so the window says to pair
// it again and stops trying by itself. (It said "It tries again by
// itself every few seconds and opens the console as soon as the server
// answers" under "was revoked": the server answered every 5 s, refused
// each time, and the helpdesk waited for a console that never opened.)
func TestConnectProblem_RevokedSaysPairAgain(t *testing.T) {
	r := newPairedRemote(t)
	if err := (core.LocalAdmin{Svc: r.svc}).RevokeConsole("desk-2"); err != nil {
		t.Fatal(err)
	}
	_, err := adminapi.DialRemote(r.id)
	if core.ErrorCode(err) != core.CodeNotPaired {
		t.Fatalf("a revoked console connected, or not refused as unpaired: %v", err)
	}
	tries := 0
	p, _, _, waitFor := connectProblemWindow(t, r.id, err, 20*time.Millisecond)
	msg := p.Message()
	if !strings.Contains(msg, "was revoked") || !strings.Contains(msg, "Pair again") || strings.Contains(msg, "tries again by itself") {
		t.Errorf("message %q", msg)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	waitFor("ten intervals", func() bool {
		if p.trying {
			tries++
		}
		return time.Now().After(deadline)
	})
	if tries > 0 {
		t.Errorf("it tried %d times by itself after the server refused it as revoked", tries)
	}
	// Try again still asks, and the answer is the same sentence.
	test.Tap(p.retry)
	waitFor("the answer", func() bool { return !p.trying })
	if p.Message() != msg {
		t.Errorf("after Try again: %q", p.Message())
	}
}
