package mailer_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/mailer"
	"provisio/core/mailer/smtpcapture"
	"provisio/core/store"
)

// killChildEnv makes the test binary the process that queues a provision
// mail and is killed, for TestWorker_QueuedCodeSurvivesKill.
const killChildEnv = "PROVISIO_MAIL_KILL_CHILD_DIR"

// TestWorker_QueuedCodeSurvivesKill: a separate process reprovisions bob
// with mail and prints the code once MailProvisionCode returned; it is
// killed with SIGKILL at once, before any mail went out. The next run
// delivers that code exactly once, and wipes it from the outbox.
func TestWorker_QueuedCodeSurvivesKill(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorker_QueuedCodeSurvivesKill$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	code := ""
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	for code == "" && lines.Scan() {
		code, _ = strings.CutPrefix(lines.Text(), "code ")
	}
	deadline.Stop()
	if code == "" {
		t.Fatal("the child did not queue a code")
	}
	cmd.Process.Kill() // no Close, no chance to flush anything
	cmd.Wait()

	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, smtpcapture.Options{})
	MustSetMail(t, svc, mailTo(s.Host(), s.Port()))
	w := &mailer.Worker{Service: svc, QRPNG: qrPNG}
	for i := range 2 {
		if err := w.Flush(t.Context()); err != nil {
			t.Fatalf("Flush %d: %v (%s)", i, err, mailer.Describe(err))
		}
	}
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the server received %d messages, want exactly 1", len(msgs))
	}
	if m := codeLine.FindStringSubmatch(string(parse(t, msgs[0].Data).one(t, "text/plain").body)); m == nil || m[1] != code {
		t.Errorf("delivered code %v, want %q", m, code)
	}
	if m := MustOnlyMessage(t, svc); m.State != core.MailSent || m.Code != "" || m.URL != "" {
		t.Errorf("outbox after delivery: %+v", m)
	}
}

// killChild queues bob's provision mail, prints the code and waits to be
// killed.
func killChild(dir string) {
	fail := func(err error) { fmt.Fprintln(os.Stderr, err); os.Exit(3) }
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		fail(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
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
	fmt.Printf("code %s\n", ic.Code) // unbuffered: printed means acknowledged
	time.Sleep(time.Hour)
}
