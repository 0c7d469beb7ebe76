package adminapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestClient drives every method of the Go client against a real server
// on a Unix socket and checks that the stream shows the phone's
// provisioning, and that a server's refusal arrives as its sentence.
func TestClient(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUser(adminapi.NewUser{Name: "bob", PIN: "9132", Group: "staff"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUser(adminapi.NewUser{Name: "bob"})
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Code != core.CodeConflict || ce.Message != `A user called "bob" already exists.` {
		t.Fatalf("duplicate add: %#v", err)
	}
	ic, err := c.Reprovision("bob", false)
	if err != nil || ic.Code == "" || ic.URL == "" || !ic.Expires.After(time.Now()) {
		t.Fatalf("reprovision: %+v %v", ic, err)
	}
	users, err := c.Users()
	if err != nil || len(users) != 1 || users[0].PendingUntil == nil || users[0].Group != "staff" {
		t.Fatalf("users: %+v %v", users, err)
	}
	if _, err := svc.Provision("127.0.0.1", "bob", ic.Code, "iOS 18"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream closed")
			}
			got = e.Kind == "provisioned" && e.User == "bob" && e.DeviceOS == "iOS 18"
		case <-deadline:
			t.Fatal("no provisioned event")
		}
	}
	if s, err := c.SetSetting("smtp.password", "hunter22"); err != nil || s.Value != "********" {
		t.Fatalf("secret setting: %+v %v", s, err)
	}
	if all, err := c.Settings(); err != nil || len(all) != len(core.SettingKeys()) {
		t.Fatalf("settings: %d %v", len(all), err)
	}
	if _, err := c.Setting("nope"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := c.PutAgent(adminapi.NewAgent{Name: "vpn", Host: "127.0.0.1", Secret: "short"}); core.ErrorCode(err) != core.CodeInvalid {
		t.Fatalf("short secret: %v", err)
	}
	if a, err := c.PutAgent(adminapi.NewAgent{Name: "vpn", Host: "127.0.0.1", Secret: "s3cret-123", Repository: true}); err != nil || a.Group != core.GroupAny || !a.Repository {
		t.Fatalf("agent: %+v %v", a, err)
	}
	if list, err := c.Agents(); err != nil || len(list) != 1 {
		t.Fatalf("agents: %+v %v", list, err)
	}
	if err := c.DeleteAgent("vpn"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser("bob"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser("bob"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
	// Nothing answers where no server runs.
	if _, err := adminapi.Dial(filepath.Join(t.TempDir(), adminapi.SocketName)); !errors.Is(err, adminapi.ErrNoServer) {
		t.Fatalf("dial without server: %v", err)
	}
}

// failingWriter is a backup writer that fails after writing after bytes
// (a disk error in the middle of a backup), to see what a client gets.
type failingWriter struct{ after int }

func (f failingWriter) WriteBackup(w io.Writer, _ core.BackupEncryption) (core.BackupSummary, error) {
	if f.after > 0 {
		// More than the server's buffer, so the bytes reach the client.
		if _, err := w.Write(bytes.Repeat([]byte("x"), f.after)); err != nil {
			return core.BackupSummary{}, err
		}
	}
	return core.BackupSummary{}, errors.New("read error on the data file")
}

func (failingWriter) CheckEncryption(core.BackupEncryption) error { return nil }

// TestClient_Backup: a backup comes back whole with its summary; a
// failure before the first byte is the server's sentence; one after it
// is an error at the client, never a short backup taken for whole; and
// the request's passphrase is never logged.
func TestClient_Backup(t *testing.T) {
	svc, sock := newServer(t)
	c, err := adminapi.Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "a passphrase of some length"
	if err := svc.Log(core.LevelInfo, "", "Before the backup."); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sum, err := c.Backup(&buf, core.BackupEncryption{Passphrase: pass})
	if err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("age-encryption.org/v1\n")) {
		t.Fatalf("backup: %v, %d bytes", err, buf.Len())
	}
	if sum.LogLast == 0 {
		t.Errorf("summary %+v", sum)
	}
	if _, err := c.Backup(&buf, core.BackupEncryption{Passphrase: "short"}); core.ErrorMessage(err) != "The passphrase is shorter than 8 characters." {
		t.Errorf("short passphrase: %v", err)
	}
	if _, err := c.Backup(&buf, core.BackupEncryption{Recipient: "age1nope"}); err == nil || !strings.Contains(err.Error(), "is not an age recipient") {
		t.Errorf("bad recipient: %v", err)
	}

	svc.SetBackupWriter(failingWriter{})
	if _, err := c.Backup(&buf, core.BackupEncryption{Passphrase: pass}); err == nil || core.ErrorCode(err) != core.CodeInternal {
		t.Errorf("failure before the first byte: %v", err)
	}
	svc.SetBackupWriter(failingWriter{after: 256 << 10})
	buf.Reset()
	_, err = c.Backup(&buf, core.BackupEncryption{Passphrase: pass})
	if err == nil || !strings.Contains(err.Error(), "did not arrive whole") {
		t.Errorf("failure after %d bytes arrived: %v", buf.Len(), err)
	}

	logs, err := svc.LogTail(50)
	if err != nil {
		t.Fatal(err)
	}
	var failed bool
	for _, l := range logs {
		if strings.Contains(l.Message, pass) {
			t.Errorf("the passphrase is in the log: %q", l.Message)
		}
		failed = failed || l.Level == core.LevelError && l.Message == "Backup through the admin API failed: read error on the data file" && strings.HasPrefix(l.Actor, "a console or command on this machine (uid ")
	}
	if !failed {
		t.Errorf("no error line for the failed backup: %+v", logs)
	}
}
