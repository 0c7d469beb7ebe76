package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serving is a "provisio serve" running in the test's process.
type serving struct {
	addr        string
	out, errOut *syncBuffer
	stop        chan struct{}
	done        chan int
}

// startServe runs the command line args (ending in "serve …") and
// returns once the server listens; it fails the test if serve exits or
// does not start within limit. A test that stops before halting it
// (t.Fatal) still has it halted before its directories are removed:
// serve writes in them until it returns.
func startServe(t *testing.T, limit time.Duration, args ...string) *serving {
	t.Helper()
	if i := slices.Index(args, "serve"); i > 0 {
		loopbackListeners(t, args[:i]...)
	}
	return startServeAsIs(t, limit, args...)
}

// startServeAsIs is startServe without loopbackListeners, whose commands
// open the data directory first: for a test that must be the first to
// open it with serve, and that set the listeners itself.
func startServeAsIs(t *testing.T, limit time.Duration, args ...string) *serving {
	t.Helper()
	s := &serving{out: &syncBuffer{}, errOut: &syncBuffer{}, stop: make(chan struct{}), done: make(chan int, 1)}
	started := make(chan string, 1)
	c := &cli{out: s.out, errOut: s.errOut, stop: s.stop, started: started}
	go func() { s.done <- c.run(args) }()
	t.Cleanup(func() { s.halt() })
	select {
	case s.addr = <-started:
	case code := <-s.done:
		close(s.stop) // it has returned: nothing for halt to wait for
		t.Fatalf("serve exited %d: %s", code, s.errOut.String())
	case <-time.After(limit):
		t.Fatal("server did not start")
	}
	return s
}

// halt stops the server (once) and returns its exit code (-1 when it was
// stopped before).
func (s *serving) halt() int {
	select {
	case <-s.stop:
		return -1
	default:
	}
	close(s.stop)
	return <-s.done
}

// With less free disk than server.min_free_mb (here set above what the
// test machine has), "serve" says so on stderr, refuses unauthenticated
// work with 503 and a sentence, and keeps answering agents.
func TestCLI_ServeLowDisk(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, dir, "settings", "set", "server.min_free_mb", "1000000"); code != 0 {
		t.Fatalf("settings set: %s", errOut)
	}
	srv := startServe(t, 10*time.Second, "--data", dir, "serve", "--listen", "127.0.0.1:0")
	addr, errOut := srv.addr, srv.errOut
	defer func() {
		if code := srv.halt(); code != 0 {
			t.Errorf("serve exit %d: %s", code, errOut.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), "almost full") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(errOut.String(), "provisio: The disk holding the data is almost full") {
		t.Fatalf("stderr: %q", errOut.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/proxy/TokenIndex?username=alice")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "short of disk space") {
		t.Errorf("TokenIndex: HTTP %d %q", resp.StatusCode, body)
	}
	resp, err = client.Post("https://"+addr+"/pinsafe/AgentXML", "application/xml",
		strings.NewReader(`<SASRequest><Version>3.6</Version><Action>ping</Action></SASRequest>`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<Result>PASS</Result>") {
		t.Errorf("ping: %s", body)
	}
}
