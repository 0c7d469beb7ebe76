package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/adminapi"
)

// TestEtcd_QuorumLostAttachedConsole: a console attached over the admin
// socket to a server whose etcd cluster lost its quorum (two of three
// members down), through adminapi.Console as the full console uses it.
// Each of its reads and changes is refused within a few request timeouts
// (2 s here; the client's own bound is 30 s) with one sentence naming
// etcd, never etcd's own text; the health line it shows in its status bar
// says the same (it showed "…nothing was changed.: read from etcd:
// context deadline exceeded."), and the Server screen says the members'
// state and that who leads is unknown. Once a member is back the same
// console works, and the health line clears with the first change saved.
func TestEtcd_QuorumLostAttachedConsole(t *testing.T) {
	const timeout = 2 * time.Second
	url, cluster, a, _ := twoNodesWith(t, "&request-timeout=2s")
	provisionOn(t, url, a, "carol")
	c, err := adminapi.Dial(filepath.Join(a.dir, adminapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	k := adminapi.NewConsole(c)
	if _, err := k.Users(); err != nil {
		t.Fatalf("users before: %v", err)
	}
	// Back up now needs a folder and a passphrase.
	folder, pass := t.TempDir(), filepath.Join(t.TempDir(), "backup.pass")
	if err := os.WriteFile(pass, []byte("attached backup passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.ChangeSettings(map[string]string{"backup.folder": folder, "backup.passphrase_file": pass}, "Backups"); err != nil {
		t.Fatal(err)
	}

	cluster.Kill(1)
	cluster.Kill(2)
	raw := []string{"deadline", "rpc error", "etcdserver:", "desc =", "commit to etcd", "read from etcd"}
	sentence := func(what, msg string) {
		t.Helper()
		if !strings.Contains(msg, "etcd") {
			t.Errorf("%s without quorum: %q; want a sentence naming etcd", what, msg)
		}
		for _, r := range raw {
			if strings.Contains(msg, r) {
				t.Errorf("%s without quorum: %q shows etcd's own text %q", what, msg, r)
			}
		}
	}
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"the users list", func() error { _, err := k.Users(); return err }},
		{"a user", func() error { _, err := k.User("carol"); return err }},
		{"adding a user", func() error { _, err := k.AddUser(core.User{Name: "eve", Email: "eve@example.org"}); return err }},
		{"unlocking", func() error {
			_, err := k.UpdateUser("carol", func(u *core.User) error { u.Locked = false; return nil })
			return err
		}},
		{"a provision code", func() error { _, err := k.CreateProvisionCode("carol"); return err }},
		{"resetting a PIN", func() error { _, err := k.ResetPIN("carol", false); return err }},
		{"revoking the device", func() error { return k.RevokeDevice("carol") }},
		{"deleting a user", func() error { return k.DeleteUser("carol") }},
		{"pending codes", func() error { _, err := k.PendingCodes(); return err }},
		{"the outbox", func() error { _, err := k.Outbox(); return err }},
		{"the log", func() error { _, err := k.LogTail(50); return err }},
		{"verifying the log", func() error { _, err := k.VerifyLog(); return err }},
		{"profiles", func() error { _, err := k.Profiles(); return err }},
		{"saving a setting", func() error { return k.SetSetting("policy.lockout.max_failures", "7") }},
		{"saving a policy", func() error {
			return k.ChangeSettings(map[string]string{"policy.lockout.lock_seconds": "600"}, "Policy PIN and Lockout")
		}},
		{"adding an agent", func() error {
			return k.PutAgent(core.Agent{Name: "helpdesk", Host: "127.0.0.1", Secret: "helpdesk-secret-1", Group: core.GroupAny})
		}},
		{"consoles", func() error { _, err := k.Consoles(); return err }},
		{"OATH states", func() error { _, err := k.OATHStatuses(); return err }},
		// The helpdesk's attached console (ui.Attached) calls the
		// client's core.AdminAPI.
		{"the helpdesk's users list", func() error { _, err := c.Users(); return err }},
		{"the helpdesk's unlock", func() error { _, err := c.Unlock("carol"); return err }},
		{"the helpdesk's reprovision", func() error { _, err := c.Reprovision("carol", false); return err }},
	} {
		began := time.Now()
		err := step.do()
		took := time.Since(began)
		t.Logf("%s without quorum after %v: %v", step.what, took, err)
		if err == nil {
			t.Errorf("%s without quorum succeeded", step.what)
			continue
		}
		sentence(step.what, core.ErrorMessage(err))
		if took > 3*timeout+2*time.Second {
			t.Errorf("%s without quorum took %v; want about one request timeout (%v)", step.what, took, timeout)
		}
	}
	began := time.Now()
	h := k.Health()
	t.Logf("health after %v: %+v (%s)", time.Since(began), h, h.Message())
	if h.OK() {
		t.Error("the service reports itself healthy without quorum")
	} else {
		sentence("the health line", h.Message())
	}
	began = time.Now()
	r := k.BackupNow(false)
	t.Logf("backup after %v: %+v", time.Since(began), r)
	if r.OK {
		t.Error("a backup without quorum succeeded")
	} else {
		sentence("backing up", r.Error)
	}
	if took := time.Since(began); took > 3*timeout+2*time.Second {
		t.Errorf("a backup without quorum took %v", took)
	}
	// The Server screen: the members' state, and who leads unknown.
	began = time.Now()
	st := k.ServerStatus().Store
	t.Logf("server status after %v: %+v", time.Since(began), st)
	if len(st.Members) != 3 || !strings.Contains(st.LeaderProblem, "no quorum") {
		t.Errorf("the Server screen without quorum: %+v; want the 3 members and that etcd has no quorum", st)
	}

	// A member back: the same console reads and changes again, and its
	// health line clears with the first change saved.
	if err := cluster.Restart(1); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := k.AddUser(core.User{Name: "eve", Email: "eve@example.org"})
		if err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("adding a user once the quorum is back: %v", err)
		}
	}
	// The failed backup stays on it until a backup succeeds, saying the
	// store did not answer: nothing on Server → Backups is wrong, and
	// the next scheduled backup, or Back up now, takes one.
	h = k.Health()
	if h.CommitError != "" {
		t.Errorf("health once the quorum is back and a change was saved: %q", h.Message())
	}
	msg := h.Message()
	sentence("the backup's health line", msg)
	for _, want := range []string{"did not answer", "next scheduled backup", "Back up now"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the backup's health line once the quorum is back: %q; want it to say %q", msg, want)
		}
	}
	if strings.Contains(msg, "Fix it") || strings.Contains(msg, "nothing was changed") {
		t.Errorf("the backup's health line once the quorum is back: %q; want no fix asked of the backup settings", msg)
	}
}
