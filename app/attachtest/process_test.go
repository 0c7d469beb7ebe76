package attachtest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real service for the tests of consoles under failure: the provisio
// program built from ./app, run as `provisio serve` on a data directory
// in t.TempDir(), stopped cleanly or killed with SIGKILL and started
// again on the same directory, as systemd does. Every listener is on
// 127.0.0.1.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// provisioBin builds the program once per test run.
func provisioBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "provisio-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "provisio")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(goTool, "build", "-tags", "migrated_fynedo", "-o", binPath, "provisio/app").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build provisio: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// service is one data directory and the `provisio serve` running on it.
type service struct {
	t   *testing.T
	bin string
	dir string
	// phones and admin are the phones' and remote consoles' addresses.
	phones, admin string

	mu          sync.Mutex
	cmd         *exec.Cmd
	fingerprint string
}

// newService prepares a data directory whose listeners are all on
// loopback, and starts serve on it.
func newService(t *testing.T) *service {
	t.Helper()
	s := &service{t: t, bin: provisioBin(t), dir: t.TempDir(), phones: freeAddr(t), admin: freeAddr(t)}
	if err := os.Chmod(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{
		{"server.listen", s.phones}, {"server.advertise", "127.0.0.1"},
		{"server.mtls_listen", freeAddr(t)}, {"server.admin_listen", s.admin},
	} {
		s.cli("settings", "set", kv[0], kv[1])
	}
	s.start()
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	return s
}

// cli runs one command of the program on the data directory (attached
// to serve when it runs) and returns its standard output.
func (s *service) cli(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--data", s.dir}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("provisio %v: %v: %s", args, err, errOut.String())
	}
	return string(out)
}

// start runs serve and waits until it printed its certificate, which it
// does once it listens.
func (s *service) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--data", s.dir, "serve")
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	var errOut lockedBuffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	fpc := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), "Certificate SHA-256: "); ok {
				fpc <- v
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case fp := <-fpc:
		s.mu.Lock()
		s.cmd, s.fingerprint = cmd, fp
		s.mu.Unlock()
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		s.t.Fatalf("provisio serve did not start: %s", errOut.String())
	}
	// admin.sock answers once serve printed its certificate? Wait for it.
	waitUntil(s.t, "admin.sock", func() bool {
		c, err := net.Dial("unix", filepath.Join(s.dir, "admin.sock"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// lockedBuffer is serve's standard error, written by exec's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stop ends serve with sig (SIGTERM: a clean stop; SIGKILL: a crash) and
// waits for it.
func (s *service) stop(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
}

// Fingerprint is the certificate serve presents now.
func (s *service) Fingerprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fingerprint
}

// freeAddr is a free 127.0.0.1 port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitUntil polls cond off the UI thread until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// proxy is a loopback TCP proxy the test can cut, as a network that
// drops: cut closes every connection through it and refuses new ones
// until mend.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.serve()
	return p
}

// Addr is where consoles connect.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// Cut drops every connection and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Mend lets connections through again.
func (p *proxy) Mend() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}
