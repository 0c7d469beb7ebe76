package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
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

// With less free disk than server.min_free_mb (here set above what the
// test machine has), "serve" says so on stderr, refuses unauthenticated
// work with 503 and a sentence, and keeps answering agents.
func TestCLI_ServeLowDisk(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, dir, "settings", "set", "server.min_free_mb", "1000000"); code != 0 {
		t.Fatalf("settings set: %s", errOut)
	}
	stop := make(chan struct{})
	started := make(chan string, 1)
	var out, errOut syncBuffer
	c := &cli{out: &out, errOut: &errOut, stop: stop, started: started}
	done := make(chan int)
	go func() { done <- c.run([]string{"--data", dir, "serve", "--listen", "127.0.0.1:0"}) }()
	var addr string
	select {
	case addr = <-started:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	defer func() {
		close(stop)
		if code := <-done; code != 0 {
			t.Errorf("serve exit %d: %s", code, errOut.String())
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
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
