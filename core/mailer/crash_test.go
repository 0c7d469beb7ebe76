package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// The child process of TestWorker_KilledMidDeliverySendsAgainAsTheSameMessage:
// it sends bob's provision mail to the capture server at sendChildAddr
// from the data directory sendChildEnv; with sendChildKillEnv set it
// kills itself with SIGKILL as the outbox's next write begins, the one
// that marks the message sent.
const (
	sendChildEnv     = "PROVISIO_MAIL_SEND_CHILD_DIR"
	sendChildAddr    = "PROVISIO_MAIL_SEND_CHILD_ADDR"
	sendChildKillEnv = "PROVISIO_MAIL_SEND_CHILD_KILL_AT_MARK"
)

// TestWorker_KilledMidDeliverySendsAgainAsTheSameMessage is the window
// between the mail server taking a message and the outbox marking it
// sent, with kill -9 at both of its ends: once while the server holds
// the whole message but has not answered its 250 (the server took it,
// Provisio never heard), once after the 250 and before the outbox's
// write. Either way the restarted outbox sends the message again, at
// least once and so twice in all, which is the decision (a second copy
// of a code beats none, and which end of the window was hit cannot be
// known): the second copy is the same message, with the same code and
// the same Message-ID, so a mail system that drops a message it already
// has drops it, and a person sees the same mail twice, never two codes.
// After it, the outbox holds the message as sent, wiped, and sends
// nothing more.
func TestWorker_KilledMidDeliverySendsAgainAsTheSameMessage(t *testing.T) {
	if dir := os.Getenv(sendChildEnv); dir != "" {
		sendChild(dir)
		return
	}
	tests := []struct {
		name string
		// atMark: the child kills itself as the outbox marks the message
		// sent; otherwise the server kills it as the message arrives.
		atMark bool
	}{
		{"after the server took the message, before its 250", false},
		{"after the 250, before the outbox marked the message sent", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestWorker_KilledMidDeliverySendsAgainAsTheSameMessage$")
			kill := &killOnWrite{started: make(chan *os.Process, 1)}
			opt := smtpcapture.Options{}
			if !tt.atMark {
				// Echo is written as the server records a message, before
				// it answers 250.
				opt.Echo = kill
			}
			s := newServer(t, opt)
			cmd.Env = append(os.Environ(), sendChildEnv+"="+dir, sendChildAddr+"="+s.Addr())
			if tt.atMark {
				cmd.Env = append(cmd.Env, sendChildKillEnv+"=1")
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			kill.started <- cmd.Process
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the child was not killed:\n%s", out.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed: %v\n%s", err, out.String())
			}
			code, _ := strings.CutPrefix(strings.SplitN(out.String(), "\n", 2)[0], "code ")
			if code == "" || len(s.Messages()) != 1 {
				t.Fatalf("before the kill the server got %d messages (want 1); child said:\n%s", len(s.Messages()), out.String())
			}

			// The next start.
			st, err := store.Open(dir, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			svc, err := core.NewService(st)
			if err != nil {
				t.Fatal(err)
			}
			w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
			for i := range 2 {
				if err := w.Flush(t.Context()); err != nil {
					t.Fatalf("Flush %d: %v (%s)", i, err, mailer.Describe(err))
				}
			}
			msgs := s.Messages()
			if len(msgs) != 2 {
				t.Fatalf("the server received %d messages, want 2: the one before the kill and the same again", len(msgs))
			}
			var ids []string
			for _, m := range msgs {
				if c := codeLine.FindStringSubmatch(string(parse(t, m.Data).one(t, "text/plain").body)); c == nil || c[1] != code {
					t.Errorf("delivered code %v, want %q", c, code)
				}
				h, err := mail.ReadMessage(bytes.NewReader(m.Data))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, h.Header.Get("Message-Id"))
			}
			if ids[0] == "" || ids[0] != ids[1] {
				t.Errorf("Message-IDs %q: the copy sent again is not the same message", ids)
			}
			if m := MustOnlyMessage(t, svc); m.State != core.MailSent || m.Code != "" || m.URL != "" {
				t.Errorf("outbox after delivery: %+v", m)
			}
		})
	}
}

// killOnWrite kills the child with SIGKILL at its first Write. The
// process comes through a channel, not a shared *exec.Cmd: the server's
// goroutine writes because the child connected, an ordering the race
// detector cannot see through the process boundary.
type killOnWrite struct {
	started chan *os.Process
	once    sync.Once
}

func (k *killOnWrite) Write(p []byte) (int, error) {
	k.once.Do(func() {
		(<-k.started).Kill()
		// Wait (in the test) reaps it; the server goes on to answer a
		// connection whose other end is gone.
	})
	return len(p), nil
}

// sendChild queues bob's provision mail, prints the code and sends it.
func sendChild(dir string) {
	fail := func(err error) { fmt.Fprintln(os.Stderr, err); os.Exit(3) }
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		fail(err)
	}
	m := storetest.NewMeanwhile(st)
	svc, err := core.NewService(m)
	if err != nil {
		fail(err)
	}
	host, port, _ := strings.Cut(os.Getenv(sendChildAddr), ":")
	p, _ := strconv.Atoi(port)
	set := svc.Settings()
	set.Mail = mailTo(host, p)
	if err := svc.SetSettings(set, "Mail settings"); err != nil {
		fail(err)
	}
	if err := svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		fail(err)
	}
	if _, err := svc.AddUser(core.User{Name: "bob", FullName: "Bob Example", Email: to, MobileAllowed: true, PIN: "1234"}); err != nil {
		fail(err)
	}
	ic, err := svc.MailProvisionCode("bob")
	if err != nil {
		fail(err)
	}
	fmt.Printf("code %s\n", ic.Code)
	if os.Getenv(sendChildKillEnv) != "" {
		// Sending reads the outbox only; its first write is MailSent.
		m.Before(func() {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		})
	}
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	err = w.Flush(context.Background())
	fmt.Printf("flushed without being killed: %v\n", err)
	time.Sleep(time.Hour)
}
