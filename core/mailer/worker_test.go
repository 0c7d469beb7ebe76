package mailer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"image/png"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/qr/qrtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// qrPNG is the Worker's QR renderer in tests: go-qrcode directly, as the
// app's core/qr does, with 8-pixel modules.
func qrPNG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.PNG(-8)
}

// mailTo is plain SMTP settings for a server on host:port.
func mailTo(host string, port int) core.MailSettings {
	return core.MailSettings{Host: host, Port: port, Security: core.MailSecurityNone, From: from, FromName: "Provisio"}
}

// MustSetMail saves ms as the mail settings.
func MustSetMail(tb testing.TB, svc *core.Service, ms core.MailSettings) {
	tb.Helper()
	set := svc.Settings()
	set.Mail = ms
	if err := svc.SetSettings(set, "Mail settings"); err != nil {
		tb.Fatalf("set mail settings: %v", err)
	}
}

// MustAddUser adds bob with a full name and the given address.
func MustAddUser(tb testing.TB, svc *core.Service, email string) core.User {
	tb.Helper()
	u, err := svc.AddUser(core.User{Name: "bob", FullName: "Bob Example", Email: email, MobileAllowed: true, PIN: "1234"})
	if err != nil {
		tb.Fatalf("add user: %v", err)
	}
	return u
}

// MustQueue queues a plain message to addr.
func MustQueue(tb testing.TB, svc *core.Service, addr, subject string) core.OutMessage {
	tb.Helper()
	m, err := svc.QueueMail("bob", addr, subject, "Hello.")
	if err != nil {
		tb.Fatalf("queue mail: %v", err)
	}
	return m
}

// MustOutbox returns the whole outbox.
func MustOutbox(tb testing.TB, svc *core.Service) []core.OutMessage {
	tb.Helper()
	box, err := svc.Outbox()
	if err != nil {
		tb.Fatalf("outbox: %v", err)
	}
	return box
}

// MustOnlyMessage returns the one message in the outbox.
func MustOnlyMessage(tb testing.TB, svc *core.Service) core.OutMessage {
	tb.Helper()
	box := MustOutbox(tb, svc)
	if len(box) != 1 {
		tb.Fatalf("outbox holds %d messages, want 1: %v", len(box), box)
	}
	return box[0]
}

// MustListenOn starts a capture server on opt.Addr, retrying briefly: a
// port just closed by another socket can take a moment to be free again.
func MustListenOn(tb testing.TB, opt smtpcapture.Options) *smtpcapture.Server {
	tb.Helper()
	var err error
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var s *smtpcapture.Server
		if s, err = smtpcapture.New(opt); err == nil {
			tb.Cleanup(func() { s.Close() })
			return s
		}
	}
	tb.Fatalf("listen on %s: %v", opt.Addr, err)
	return nil
}

// StartRun runs w in the background until the test ends, and checks that
// Run returns promptly once cancelled.
func StartRun(tb testing.TB, w *mailer.Worker) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			tb.Error("Run did not return within 5 s of cancel")
		}
	})
}

// logLines returns the audit log lines that contain s.
func logLines(tb testing.TB, svc *core.Service, s string) []string {
	tb.Helper()
	entries, err := svc.LogTail(1000)
	if err != nil {
		tb.Fatalf("log: %v", err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Message, s) {
			out = append(out, e.Message)
		}
	}
	return out
}

var codeLine = regexp.MustCompile(`Provision code:\s+(\S+)`)

func TestWorker_ProvisionEndToEnd(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	svc := storetest.MustService(t)
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	ic, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}

	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v (%s)", err, mailer.Describe(err))
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server captured %d messages, want 1", len(msgs))
	}
	if msgs[0].From != from || fmt.Sprint(msgs[0].To) != "["+to+"]" {
		t.Errorf("envelope from %q to %v", msgs[0].From, msgs[0].To)
	}
	p := parse(t, msgs[0].Data)
	wantShape := []string{"0:multipart/alternative", "1:text/plain", "1:multipart/related", "2:text/html", "2:image/png"}
	if fmt.Sprint(p.shape) != fmt.Sprint(wantShape) {
		t.Fatalf("MIME shape %v, want %v", p.shape, wantShape)
	}
	if subj, _ := p.header.Subject(); subj != "Your mobile authenticator provision code" {
		t.Errorf("Subject = %q", subj)
	}

	// The HTML shows the very part that carries the PNG.
	src := imgSrc.FindStringSubmatch(string(p.one(t, "text/html").body))
	if src == nil {
		t.Fatal("no <img src> in the HTML")
	}
	img := p.one(t, "image/png")
	cid := strings.Trim(img.header.Get("Content-Id"), "<>")
	if cid == "" || src[1] != "cid:"+cid {
		t.Errorf("img src %q does not refer to the PNG's Content-ID %q", src[1], cid)
	}
	decoded, err := png.Decode(bytes.NewReader(img.body))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	if got := qrtest.MustDecode(t, decoded); got != ic.URL {
		t.Errorf("QR code reads %q, want the Provision URL %q", got, ic.URL)
	}

	// A person copies the code from the text part, and it works.
	m := codeLine.FindStringSubmatch(string(p.one(t, "text/plain").body))
	if m == nil || m[1] != ic.Code {
		t.Fatalf("text part code = %v, want %q", m, ic.Code)
	}
	if _, err := svc.Provision("127.0.0.1", "bob", m[1], ""); err != nil {
		t.Fatalf("Provision with the mailed code: %v", err)
	}

	got := MustOnlyMessage(t, svc)
	if got.State != core.MailSent || got.Attempts != 1 || got.SentAt.IsZero() || got.Code != "" || got.URL != "" {
		t.Errorf("outbox after delivery: %+v", got)
	}
	if lines := logLines(t, svc, ic.Code); len(lines) != 0 {
		t.Errorf("the audit log shows the code: %q", lines)
	}

	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("second Flush: %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("after a second Flush the server has %d messages, want 1", n)
	}
}

func TestWorker_ServerDownThenUp(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	svc := storetest.MustService(t, core.WithClock(clock))
	MustAddUser(t, svc, to)
	host, port := closedPort(t)
	MustSetMail(t, svc, mailTo(host, port))
	if _, err := svc.MailProvisionCode("bob"); err != nil {
		t.Fatal(err)
	}
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}

	err := w.Flush(t.Context())
	want := fmt.Sprintf("Could not connect to the mail server 127.0.0.1:%d: connection refused.", port)
	if !errors.Is(err, mailer.ErrConnect) || mailer.Describe(err) != want {
		t.Fatalf("Flush = %v (%q), want the connect sentence %q", err, mailer.Describe(err), want)
	}
	m := MustOnlyMessage(t, svc)
	if m.State != core.MailQueued || m.Attempts != 1 || m.LastError != want || !m.NextAttempt.Equal(clock.Now().Add(30*time.Second)) {
		t.Fatalf("outbox after the failure: %+v", m)
	}

	s := MustListenOn(t, smtpcapture.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port))})
	// Within the back-off nothing is due, even with the server back.
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("Flush during back-off: %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("sent %d messages during the back-off", n)
	}

	clock.Advance(31 * time.Second)
	for i := range 3 {
		if err := w.Flush(t.Context()); err != nil {
			t.Fatalf("Flush %d after the back-off: %v", i, err)
		}
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("server has %d messages, want exactly 1", n)
	}
	if m := MustOnlyMessage(t, svc); m.State != core.MailSent || m.Attempts != 2 || m.LastError != "" {
		t.Errorf("outbox after delivery: %+v", m)
	}
}

func TestWorker_DeliversAfterRestart(t *testing.T) {
	dir := t.TempDir()
	host, port := closedPort(t)

	// First run: the server is down, so the message stays in the file.
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	MustAddUser(t, svc, to)
	MustSetMail(t, svc, mailTo(host, port))
	ic, err := svc.MailProvisionCode("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&mailer.Worker{Service: svc, QRPNG: qrPNG}).Flush(t.Context()); !errors.Is(err, mailer.ErrConnect) {
		t.Fatalf("Flush with the server down = %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Second run a minute later, past the back-off, with the server up.
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err = core.NewService(st, core.WithClock(storetest.NewClock(time.Now().Add(time.Minute))))
	if err != nil {
		t.Fatal(err)
	}
	s := MustListenOn(t, smtpcapture.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port))})
	const poll = 20 * time.Millisecond
	StartRun(t, &mailer.Worker{Service: svc, QRPNG: qrPNG, Poll: poll})

	msgs, err := s.Wait(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m := codeLine.FindStringSubmatch(string(parse(t, msgs[0].Data).one(t, "text/plain").body)); m == nil || m[1] != ic.Code {
		t.Errorf("delivered code %v, want %q", m, ic.Code)
	}
	// The capture server has the message before it answers 250, and the
	// worker records the delivery only after the 250: wait for the record
	// rather than assume it is there.
	var m core.OutMessage
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(poll) {
		if m = MustOnlyMessage(t, svc); m.State == core.MailSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery was not recorded: %+v", m)
		}
	}
	// Many polls later it has still gone only once.
	time.Sleep(20 * poll)
	if n := len(s.Messages()); n != 1 {
		t.Errorf("server has %d messages, want exactly 1", n)
	}
	if m := MustOnlyMessage(t, svc); m.State != core.MailSent || m.Attempts != 2 {
		t.Errorf("outbox after delivery: %+v", m)
	}
}

func TestWorker_Templates(t *testing.T) {
	const qrCodeURL = "https://127.0.0.1:8443/userportal/getQRCode?text="
	tests := []struct {
		name     string
		tmpl     core.MailTemplate
		qrURL    string
		noQRPNG  bool
		subject  string
		shape    []string
		qrCalled bool
		failure  string // LastError when the message cannot be rendered
	}{
		{
			name:     "defaults",
			subject:  "Your mobile authenticator provision code",
			shape:    []string{"0:multipart/alternative", "1:text/plain", "1:multipart/related", "2:text/html", "2:image/png"},
			qrCalled: true,
		},
		{
			name:     "own subject, default bodies",
			tmpl:     core.MailTemplate{Subject: "Code for {username}"},
			subject:  "Code for bob",
			shape:    []string{"0:multipart/alternative", "1:text/plain", "1:multipart/related", "2:text/html", "2:image/png"},
			qrCalled: true,
		},
		{
			name:    "HTML without the QR code",
			tmpl:    core.MailTemplate{HTML: "<p>Your code is {code}.</p>"},
			subject: "Your mobile authenticator provision code",
			shape:   []string{"0:multipart/alternative", "1:text/plain", "1:text/html"},
		},
		{
			name:    "QR Code URL links the image instead",
			qrURL:   qrCodeURL,
			subject: "Your mobile authenticator provision code",
			shape:   []string{"0:multipart/alternative", "1:text/plain", "1:text/html"},
		},
		{
			name:    "no QR renderer",
			noQRPNG: true,
			failure: "The mail template shows the QR code (url4), but no QR code image was made.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, smtpcapture.Options{})
			svc := storetest.MustService(t)
			MustAddUser(t, svc, to)
			set := svc.Settings()
			set.Mail = mailTo(s.Host(), s.Port())
			set.ProvisionTemplate = tt.tmpl
			set.SelfReset.QRCodeURL = tt.qrURL
			if err := svc.SetSettings(set, "Settings"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.MailProvisionCode("bob"); err != nil {
				t.Fatal(err)
			}
			var called atomic.Bool
			w := &mailer.Worker{Service: svc}
			if !tt.noQRPNG {
				w.QRPNG = func(text string) ([]byte, error) { called.Store(true); return qrPNG(text) }
			}
			err := w.Flush(t.Context())

			if tt.failure != "" {
				if !errors.Is(err, mailer.ErrInvalid) {
					t.Errorf("Flush = %v, want a template error", err)
				}
				if m := MustOnlyMessage(t, svc); m.State != core.MailFailed || m.LastError != tt.failure {
					t.Errorf("outbox: %+v, want failed with %q", m, tt.failure)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, s.Messages()[0].Data)
			if subj, _ := p.header.Subject(); subj != tt.subject {
				t.Errorf("Subject = %q, want %q", subj, tt.subject)
			}
			if fmt.Sprint(p.shape) != fmt.Sprint(tt.shape) {
				t.Errorf("MIME shape %v, want %v", p.shape, tt.shape)
			}
			if called.Load() != tt.qrCalled {
				t.Errorf("QRPNG called = %v, want %v", called.Load(), tt.qrCalled)
			}
			if tt.qrURL != "" && !strings.Contains(string(p.one(t, "text/html").body), `src="`+tt.qrURL) {
				t.Errorf("HTML does not link the image to %s", tt.qrURL)
			}
		})
	}
}

func TestWorker_NotConfigured(t *testing.T) {
	svc := storetest.MustService(t)
	MustQueue(t, svc, to, "Hello")
	w := &mailer.Worker{Service: svc}
	for i := range 3 {
		if err := w.Flush(t.Context()); !errors.Is(err, mailer.ErrNotConfigured) {
			t.Fatalf("Flush %d = %v, want ErrNotConfigured", i, err)
		}
	}
	if m := MustOnlyMessage(t, svc); m.State != core.MailQueued || m.Attempts != 0 || m.LastError != "" {
		t.Errorf("outbox: %+v, want queued and untouched", m)
	}
	if lines := logLines(t, svc, "waiting in the outbox"); len(lines) != 1 {
		t.Errorf("the audit log says %d times that mail waits, want once: %q", len(lines), lines)
	}
}

func TestWorker_Run_WakesOnQueue(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	svc := storetest.MustService(t)
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	MustQueue(t, svc, to, "first")
	// An hour's poll: only the event can explain a quick delivery.
	StartRun(t, &mailer.Worker{Service: svc, Poll: time.Hour})

	// The first goes in the round Run starts with, so the worker is past
	// it and waiting when the second is queued.
	if _, err := s.Wait(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	MustQueue(t, svc, to, "second")
	if _, err := s.Wait(2, 5*time.Second); err != nil {
		t.Fatalf("not woken by the queued message: %v", err)
	}
}

func TestWorker_Run_WakesWhenMailIsSetUp(t *testing.T) {
	s := newServer(t, smtpcapture.Options{})
	svc := storetest.MustService(t)
	MustQueue(t, svc, to, "Hello")
	StartRun(t, &mailer.Worker{Service: svc, Poll: time.Hour})

	// Once the worker has said mail waits, saving the settings sends it.
	deadline := time.Now().Add(5 * time.Second)
	for len(logLines(t, svc, "waiting in the outbox")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker never noticed the waiting message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	if _, err := s.Wait(1, 5*time.Second); err != nil {
		t.Fatalf("not woken by the settings: %v", err)
	}
}

func TestSendTest(t *testing.T) {
	serverTLS, pool := newTLS(t)
	tests := []struct {
		name   string
		server func(t *testing.T) (core.MailSettings, *smtpcapture.Server)
		want   string // Describe's sentence; "" means delivered
		temp   bool
	}{
		{
			name: "plain",
			server: func(t *testing.T) (core.MailSettings, *smtpcapture.Server) {
				s := newServer(t, smtpcapture.Options{})
				return mailTo(s.Host(), s.Port()), s
			},
		},
		{
			name: "STARTTLS and login",
			server: func(t *testing.T) (core.MailSettings, *smtpcapture.Server) {
				s := newServer(t, smtpcapture.Options{TLS: serverTLS, Username: "alice", Password: "s3cret"})
				ms := mailTo(s.Host(), s.Port())
				ms.Security, ms.Username, ms.Password = core.MailSecurityStartTLS, "alice", "s3cret"
				return ms, s
			},
		},
		{
			name: "closed port",
			server: func(t *testing.T) (core.MailSettings, *smtpcapture.Server) {
				return mailTo(closedPort(t)), nil
			},
			want: "Could not connect to the mail server 127.0.0.1:%d: connection refused.",
			temp: true,
		},
		{
			name: "no server set",
			server: func(t *testing.T) (core.MailSettings, *smtpcapture.Server) {
				return core.MailSettings{From: from}, nil
			},
			want: "Enter the mail server's host name.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, s := tt.server(t)
			err := mailer.SendTest(t.Context(), ms, &tls.Config{RootCAs: pool}, to)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("SendTest: %v", err)
				}
				msgs := s.Messages()
				if len(msgs) != 1 {
					t.Fatalf("server has %d messages, want 1", len(msgs))
				}
				p := parse(t, msgs[0].Data)
				if subj, _ := p.header.Subject(); subj != "Provisio test message" {
					t.Errorf("Subject = %q", subj)
				}
				return
			}
			want := tt.want
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, ms.Port)
			}
			if got := mailer.Describe(err); got != want {
				t.Errorf("Describe = %q, want %q", got, want)
			}
			if mailer.Temporary(err) != tt.temp {
				t.Errorf("Temporary = %v, want %v", mailer.Temporary(err), tt.temp)
			}
		})
	}
}
