package termsecret

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a real pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// promptWriter records prompts and signals each one.
type promptWriter struct {
	mu    sync.Mutex
	b     strings.Builder
	asked chan struct{}
}

func (p *promptWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.b.Write(b)
	if strings.HasSuffix(string(b), ": ") {
		p.asked <- struct{}{}
	}
	return len(b), nil
}

func TestRead_TerminalNoEcho(t *testing.T) {
	tests := []struct {
		name, first, second, want, wantErr string
	}{
		{"confirmed", "9132", "9132", "9132", ""},
		{"typo", "9132", "9133", "", "differ"},
		{"nothing typed", "", "", "", "no PIN for bob was typed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, slave := openPTY(t)
			// Everything the terminal shows arrives on the master side.
			var shown strings.Builder
			var shownMu sync.Mutex
			go func() {
				buf := make([]byte, 256)
				for {
					n, err := master.Read(buf)
					shownMu.Lock()
					shown.Write(buf[:n])
					shownMu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			p := &promptWriter{asked: make(chan struct{}, 2)}
			// The typist is done before the subtest's cleanup closes the
			// terminal it watches.
			typed := make(chan struct{})
			defer func() { <-typed }()
			go func() {
				defer close(typed)
				for i, line := range []string{tt.first, tt.second} {
					if i == 1 && tt.first == "" {
						return
					}
					select {
					case <-p.asked:
					case <-time.After(5 * time.Second):
						return
					}
					// Type only once echo is off, as a person would after
					// the prompt appears.
					for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
						tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
						if err == nil && tio.Lflag&unix.ECHO == 0 {
							break
						}
					}
					master.WriteString(line + "\n")
				}
			}()
			got, err := Read(slave, p, "PIN for bob")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if !strings.HasPrefix(p.b.String(), "PIN for bob: ") {
				t.Fatalf("prompt %q", p.b.String())
			}
			time.Sleep(50 * time.Millisecond)
			shownMu.Lock()
			defer shownMu.Unlock()
			if tt.first != "" && strings.Contains(shown.String(), tt.first) {
				t.Fatalf("the terminal echoed the secret: %q", shown.String())
			}
		})
	}
}
