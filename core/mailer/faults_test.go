package mailer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/store/storetest"
)

// faultServer is a real go-smtp server on 127.0.0.1 whose answers to RCPT
// and DATA a test decides, for the failures smtpcapture does not play: a
// 4xx, a refusal after DATA, a connection dropped mid-DATA, a server that
// hangs. Hooks that block should also wait on done, which is closed
// before the server, so that Close never waits for them.
type faultServer struct {
	host string
	port int
	done chan struct{}

	rcpt func(to string) error
	data func(c *smtp.Conn, r io.Reader) error

	mu  sync.Mutex
	got []string // recipients of the messages accepted, in order
}

func newFaultServer(t *testing.T, rcpt func(string) error, data func(*smtp.Conn, io.Reader) error) *faultServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &faultServer{done: make(chan struct{}), rcpt: rcpt, data: data}
	addr := l.Addr().(*net.TCPAddr)
	f.host, f.port = addr.IP.String(), addr.Port
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &faultSession{f: f, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(l) }()
	t.Cleanup(func() {
		close(f.done)
		srv.Close()
		<-served
	})
	return f
}

func (f *faultServer) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

type faultSession struct {
	f    *faultServer
	conn *smtp.Conn
	to   []string
}

func (s *faultSession) AuthMechanisms() []string             { return nil }
func (s *faultSession) Auth(string) (sasl.Server, error)     { return nil, smtp.ErrAuthUnsupported }
func (s *faultSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *faultSession) Reset()                               { s.to = nil }
func (s *faultSession) Logout() error                        { return nil }
func (s *faultSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.f.rcpt != nil {
		if err := s.f.rcpt(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *faultSession) Data(r io.Reader) error {
	if s.f.data != nil {
		if err := s.f.data(s.conn, r); err != nil {
			return err
		}
	} else if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.got = append(s.f.got, s.to...)
	s.f.mu.Unlock()
	return nil
}

// Hooks for newFaultServer.
func replyWith(code int, ec smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}

func refuseRcpt(err error) func(string) error { return func(string) error { return err } }

func refuseData(err error) func(*smtp.Conn, io.Reader) error {
	return func(_ *smtp.Conn, r io.Reader) error {
		io.Copy(io.Discard, r)
		return err
	}
}

// dropMidData reads the first bytes of the message and hangs up.
func dropMidData(c *smtp.Conn, r io.Reader) error {
	io.ReadFull(r, make([]byte, 200))
	c.Conn().Close()
	return errors.New("dropped")
}

// rawErrorText is Go's or a library's own wording, which a person should
// never have to read alone in the Outbox, the log or the test result.
var rawErrorText = []string{"EOF", "x509:", "tls:", "read tcp", "write tcp", "broken pipe", "connection reset", "use of closed", "i/o timeout", "smtp:"}

func checkPlainWords(t *testing.T, what, s string) {
	t.Helper()
	for _, raw := range rawErrorText {
		if strings.Contains(s, raw) {
			t.Errorf("%s %q shows the raw error text %q", what, s, raw)
		}
	}
}

// TestSend_ServerFaults plays the answers a small office's relay gives
// besides "250 OK", over a real SMTP conversation: a 4xx is worth a retry,
// a 5xx is not, a dropped connection or a hang is, and a hang costs no
// more than the Timeout.
func TestSend_ServerFaults(t *testing.T) {
	tests := []struct {
		name      string
		rcpt      func(string) error
		data      func(*smtp.Conn, io.Reader) error
		hang      string // "rcpt" or "data": the server never answers there
		want      string // the whole sentence, or a part of it after "~"
		kind      error
		temporary bool
	}{
		{
			name:      "greylisted at RCPT",
			rcpt:      refuseRcpt(replyWith(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again later")),
			want:      "The mail server would not take the mail for bob@example.org just now: 451 4.7.1 Greylisted, try again later.",
			kind:      mailer.ErrRecipient,
			temporary: true,
		},
		{
			name: "relaying denied at RCPT",
			rcpt: refuseRcpt(replyWith(554, smtp.EnhancedCode{5, 7, 1}, "Relay access denied")),
			want: "The mail server refused the recipient bob@example.org: 554 5.7.1 Relay access denied.",
			kind: mailer.ErrRecipient,
		},
		{
			name: "refused after DATA",
			data: refuseData(replyWith(554, smtp.EnhancedCode{5, 7, 1}, "Message rejected as spam")),
			want: "The mail server refused the message to bob@example.org: 554 5.7.1 Message rejected as spam.",
			kind: mailer.ErrRejected,
		},
		{
			name:      "temporary refusal after DATA",
			data:      refuseData(replyWith(451, smtp.EnhancedCode{4, 3, 0}, "Local error in processing")),
			want:      "The mail server would not take the message to bob@example.org just now: 451 4.3.0 Local error in processing.",
			kind:      mailer.ErrRejected,
			temporary: true,
		},
		{
			name:      "connection dropped mid-DATA",
			data:      dropMidData,
			want:      "~closed the connection unexpectedly.",
			kind:      mailer.ErrConnect,
			temporary: true,
		},
		{
			name:      "hangs at RCPT",
			hang:      "rcpt",
			want:      "~did not answer in time.",
			kind:      mailer.ErrTimeout,
			temporary: true,
		},
		{
			name:      "hangs after the message",
			hang:      "data",
			want:      "~did not answer in time.",
			kind:      mailer.ErrTimeout,
			temporary: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *faultServer
			// A hook that hangs waits for the end of the test.
			hang := func() { <-f.done }
			rcpt, data := tt.rcpt, tt.data
			switch tt.hang {
			case "rcpt":
				rcpt = func(string) error { hang(); return nil }
			case "data":
				data = func(_ *smtp.Conn, r io.Reader) error { io.Copy(io.Discard, r); hang(); return nil }
			}
			f = newFaultServer(t, rcpt, data)
			cfg := mailer.Config{Host: f.host, Port: f.port, Security: mailer.SecurityNone, From: from, Timeout: 500 * time.Millisecond}
			// A message of some size, so that a drop mid-DATA is one.
			m := mailer.Message{To: to, Subject: "Hello", Text: strings.Repeat("A line of the message body.\n", 2000)}

			start := time.Now()
			err := mailer.Send(context.Background(), cfg, m)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Send took %v with a Timeout of %v", took, cfg.Timeout)
			}
			if err == nil {
				t.Fatal("Send succeeded")
			}
			got := mailer.Describe(err)
			if want, ok := strings.CutPrefix(tt.want, "~"); ok {
				if !strings.Contains(got, want) {
					t.Errorf("Describe = %q, want it to contain %q", got, want)
				}
			} else if got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
			checkPlainWords(t, "Describe", got)
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if mailer.Temporary(err) != tt.temporary {
				t.Errorf("Temporary = %v, want %v", mailer.Temporary(err), tt.temporary)
			}
			if n := len(f.received()); n != 0 {
				t.Errorf("the server accepted %d messages", n)
			}
		})
	}
}

// TestWorker_ServerFaults: what the outbox and the log say after each
// fault, for a provision message: a temporary one waits for the back-off,
// a permanent one fails for "Retry now", and every log line is a sentence
// that shows neither the code nor a raw error.
func TestWorker_ServerFaults(t *testing.T) {
	tests := []struct {
		name    string
		rcpt    func(string) error
		data    func(*smtp.Conn, io.Reader) error
		state   core.MailState
		reason  string // "~" a part of it
		logLine string // with %s for the retry time
	}{
		{
			name:    "greylisted",
			rcpt:    refuseRcpt(replyWith(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again later")),
			state:   core.MailQueued,
			reason:  "The mail server would not take the mail for bob@example.org just now: 451 4.7.1 Greylisted, try again later.",
			logLine: "Message for user: bob, destination: bob@example.org not sent, will retry at %s: The mail server would not take the mail for bob@example.org just now: 451 4.7.1 Greylisted, try again later.",
		},
		{
			name:    "unknown recipient",
			rcpt:    refuseRcpt(replyWith(550, smtp.EnhancedCode{5, 1, 1}, "User unknown")),
			state:   core.MailFailed,
			reason:  "The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.",
			logLine: "Message for user: bob, destination: bob@example.org failed: The mail server refused the recipient bob@example.org: 550 5.1.1 User unknown.",
		},
		{
			name:    "dropped mid-DATA",
			data:    dropMidData,
			state:   core.MailQueued,
			reason:  "~closed the connection unexpectedly.",
			logLine: "~not sent, will retry at %s: The mail server 127.0.0.1:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaultServer(t, tt.rcpt, tt.data)
			clock := storetest.NewClock(time.Now())
			svc := storetest.MustService(t, core.WithClock(clock))
			MustAddUser(t, svc, to)
			MustSetMail(t, svc, mailTo(f.host, f.port))
			ic, err := svc.MailProvisionCode("bob")
			if err != nil {
				t.Fatal(err)
			}
			if err := (&mailer.Worker{Service: svc, QRPNG: qrPNG}).Flush(t.Context()); err == nil {
				t.Fatal("Flush succeeded")
			}
			m := MustOnlyMessage(t, svc)
			if m.State != tt.state || m.Attempts != 1 {
				t.Errorf("outbox: state %s, %d attempts; want %s, 1", m.State, m.Attempts, tt.state)
			}
			if want, ok := strings.CutPrefix(tt.reason, "~"); ok && !strings.Contains(m.LastError, want) || !ok && m.LastError != want {
				t.Errorf("last error %q, want %q", m.LastError, tt.reason)
			}
			if m.Code != ic.Code {
				t.Error("the code is gone while the message can still be sent")
			}
			if tt.state == core.MailQueued && !m.NextAttempt.Equal(clock.Now().Add(30*time.Second)) {
				t.Errorf("next attempt %v, want 30 s from now", m.NextAttempt)
			}
			line := tt.logLine
			if strings.Contains(line, "%s") {
				line = strings.Replace(line, "%s", m.NextAttempt.Local().Format("15:04:05"), 1)
			}
			want, part := strings.CutPrefix(line, "~")
			found := false
			for _, l := range logLines(t, svc, "destination: bob@example.org") {
				checkPlainWords(t, "log line", l)
				if strings.Contains(l, ic.Code) {
					t.Errorf("the log line shows the code: %q", l)
				}
				found = found || part && strings.Contains(l, want) || !part && l == want
			}
			if !found {
				t.Errorf("no log line %q in %q", line, logLines(t, svc, "bob"))
			}
		})
	}
}

// holdFirst is a DATA hook that keeps the first message until release is
// closed, signalling entered once it has it: a slow server, on cue.
func holdFirst(f **faultServer, entered, release chan struct{}) func(*smtp.Conn, io.Reader) error {
	var once sync.Once
	return func(_ *smtp.Conn, r io.Reader) error {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		held := false
		once.Do(func() { held = true })
		if held {
			close(entered)
			select {
			case <-release:
			case <-(*f).done:
			}
		}
		return nil
	}
}

// TestWorker_ChangesDuringARoundAreHonoured: a round works from the list
// of due messages it read at its start, and a slow server can hold it up
// on one message for as long as its Timeout. Meanwhile the admin discards
// a message (a wrong address, say) and a code is replaced; neither may
// go out when the round reaches it.
func TestWorker_ChangesDuringARoundAreHonoured(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var f *faultServer
	f = newFaultServer(t, nil, holdFirst(&f, entered, release))
	svc := storetest.MustService(t)
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(f.host, f.port))
	MustQueue(t, svc, "first@example.org", "first")
	ic, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	wrong := MustQueue(t, svc, "wrong@example.org", "third")

	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush(context.Background()) }()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first message never reached the server")
	}
	if err := svc.DiscardMail(wrong.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProvisionCode("bob"); err != nil { // bob's mailed code dies
		t.Fatal(err)
	}
	close(release)
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush did not return")
	}

	if got := f.received(); len(got) != 1 || got[0] != "first@example.org" {
		t.Errorf("the server received mail for %v, want only first@example.org", got)
	}
	m, err := svc.OutMessage(ic.MailID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != core.MailWithdrawn || m.Attempts != 0 || m.Code != "" {
		t.Errorf("bob's message: %+v, want withdrawn and never tried", m)
	}
	if lines := logLines(t, svc, "Message sent"); len(lines) != 1 {
		t.Errorf("the log has %d sent lines, want 1: %q", len(lines), lines)
	}
}

// TestWorker_HungServerHoldsUpNothingElse: while the sender waits on a
// server that took the message and never answers, the rest of Provisio
// works (users, codes, the outbox screen, Discard and Retry), and stopping
// the sender ends the wait at once without charging the message an
// attempt. The wait itself is bounded by the Timeout (TestSend_ServerFaults).
func TestWorker_HungServerHoldsUpNothingElse(t *testing.T) {
	entered := make(chan struct{})
	var f *faultServer
	f = newFaultServer(t, nil, holdFirst(&f, entered, make(chan struct{})))
	svc := storetest.MustService(t)
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(f.host, f.port))
	held := MustQueue(t, svc, "first@example.org", "first")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() { defer close(stopped); (&mailer.Worker{Service: svc, QRPNG: qrPNG, Poll: time.Hour}).Run(ctx) }()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the message never reached the server")
	}

	start := time.Now()
	if _, err := svc.AddUser(core.User{Name: "carol", Email: "carol@example.org", MobileAllowed: true, PIN: "2468"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.MailProvisionCode("carol"); err != nil {
		t.Fatal(err)
	}
	other := MustQueue(t, svc, "other@example.org", "other")
	if err := svc.DiscardMail(other.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.RetryMail(held.ID); err != nil {
		t.Fatal(err)
	}
	if box := MustOutbox(t, svc); len(box) != 2 {
		t.Errorf("outbox holds %d messages, want 2", len(box))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the console's work took %v while the sender waited", took)
	}

	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the sender did not stop within 5 s")
	}
	if m, err := svc.OutMessage(held.ID); err != nil || m.State != core.MailQueued || m.Attempts != 0 {
		t.Errorf("the held message: %+v, %v; want queued without an attempt charged", m, err)
	}
}
