package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store"
)

type phoneUser struct {
	name, pin string
	ss        core.StringSet
}

func provisionUsers(t *testing.T, e *env, n int) []*phoneUser {
	t.Helper()
	var out []*phoneUser
	for i := range n {
		u := &phoneUser{name: fmt.Sprintf("user%02d", i), pin: fmt.Sprintf("7%08d", 31945862+i)}
		if _, err := e.svc.AddUser(core.User{Name: u.name, PIN: u.pin, MobileAllowed: true}); err != nil {
			t.Fatal(err)
		}
		ic, err := e.svc.CreateProvisionCode(u.name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Provision("127.0.0.1", u.name, ic.Code, "TestOS 1")
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.SecurityStrings(p.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range strings.Split(d.Strings, ";") {
			copy(u.ss.S[j][:], s)
		}
		out = append(out, u)
	}
	return out
}

func (u *phoneUser) code(i int) string { return core.MobileCode(core.ExtractOTC(u.ss.S[i], u.pin), i) }

// TestBackupRestore is #13's third done-when: a backup taken while 64
// users log in restores into a fresh directory with every login
// acknowledged before the backup's point, and the next OTC passes; a
// backup with one flipped byte is refused without touching the data; a
// restore is refused while a server holds the directory.
func TestBackupRestore(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "office")
	pass := filepath.Join(root, "pass.txt")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "backup.age")

	e, err := openEnvKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	agent := core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := e.svc.PutAgent(agent); err != nil {
		t.Fatal(err)
	}
	users := provisionUsers(t, e, 64)
	// The device CA (#14), made as a server start makes it: the backup
	// must carry it, or restored phones' certificates would not verify.
	if _, err := certs.NewDeviceCA(e.keyDir).Pool(); err != nil {
		t.Fatal(err)
	}
	caKey, err := os.ReadFile(filepath.Join(e.keyDir, certs.DeviceCAKeyFile))
	if err != nil {
		t.Fatal(err)
	}

	// 64 clients log in, each at the next index, while the backup runs.
	// acked[i] is the newest index user i's login was acknowledged at
	// before the backup began.
	var stop atomic.Bool
	var before atomic.Bool
	before.Store(true)
	acked := make([]atomic.Int64, len(users))
	var wg sync.WaitGroup
	started := make(chan struct{}, len(users))
	for i, u := range users {
		acked[i].Store(-1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := 0; idx < core.StringsPerDownload && !stop.Load(); idx++ {
				if err := e.svc.Login(agent, u.name, u.code(idx)); err != nil {
					t.Errorf("login %s #%d: %v", u.name, idx, err)
					return
				}
				// Acknowledged while the backup had not begun: it
				// must be in the backup.
				if before.Load() {
					acked[i].Store(int64(idx))
				}
				if idx == 2 {
					started <- struct{}{}
				}
			}
		}()
	}
	for range users {
		<-started
	}
	c := &cli{dataDir: dir, out: &bytes.Buffer{}, errOut: &bytes.Buffer{}}
	enc, err := backupEncryption(pass, "")
	if err != nil {
		t.Fatal(err)
	}
	before.Store(false)
	if err := c.backup(adminapi.Local{Svc: e.svc}, e, out, enc); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	e.close()

	t.Run("restore into a fresh directory", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "new-office")
		code, stdout, stderr := runCLI(t, fresh, "restore", out, "--passphrase-file", pass)
		if code != exitOK || !strings.Contains(stdout, "Restored ") {
			t.Fatalf("restore: %d %q %q", code, stdout, stderr)
		}
		r, err := openEnvKey(fresh, "")
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		if _, err := r.svc.VerifyLog(); err != nil {
			t.Fatalf("restored log: %v", err)
		}
		if got, err := os.ReadFile(filepath.Join(r.keyDir, certs.DeviceCAKeyFile)); err != nil || !bytes.Equal(got, caKey) {
			t.Errorf("the device CA key was not restored: %v", err)
		}
		for i, u := range users {
			var ls core.LoginState
			if err := r.st.View(func(tx core.Tx) error { ls, err = tx.LoginState(u.name); return err }); err != nil {
				t.Fatal(err)
			}
			if int64(ls.Next) < acked[i].Load()+1 {
				t.Errorf("%s: restored next index %d, but #%d was acknowledged before the backup", u.name, ls.Next, acked[i].Load())
			}
			if ls.Next >= core.StringsPerDownload {
				continue
			}
			if err := r.svc.Login(agent, u.name, u.code(ls.Next)); err != nil {
				t.Errorf("%s: the next OTC (#%d) after the restore: %v", u.name, ls.Next, err)
			}
		}
	})

	t.Run("to an age recipient, back with its identity", func(t *testing.T) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		idFile := filepath.Join(t.TempDir(), "id.txt")
		if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "b.age")
		if code, _, stderr := runCLI(t, dir, "backup", "--out", file, "--recipient", id.Recipient().String()); code != exitOK {
			t.Fatalf("backup: %q", stderr)
		}
		fresh := filepath.Join(t.TempDir(), "x")
		if code, _, stderr := runCLI(t, fresh, "restore", file, "--identity", idFile); code != exitOK {
			t.Fatalf("restore: %q", stderr)
		}
		if code, out, _ := runCLI(t, fresh, "user", "list"); code != exitOK || !strings.Contains(out, "user63") {
			t.Fatalf("restored users: %q", out)
		}
	})

	t.Run("one flipped byte is refused, nothing touched", func(t *testing.T) {
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(t.TempDir(), "bad.age")
		data[len(data)/2] ^= 0x01
		if err := os.WriteFile(bad, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, store.FileName)
		was, _ := os.ReadFile(db)
		code, _, stderr := runCLI(t, dir, "restore", bad, "--passphrase-file", pass)
		if code != exitError || !strings.Contains(stderr, "nothing was changed") || strings.Count(stderr, "\n") != 1 {
			t.Fatalf("restore of a damaged backup: %d %q", code, stderr)
		}
		if now, _ := os.ReadFile(db); !bytes.Equal(now, was) {
			t.Fatal("the data file changed")
		}
		if m, _ := filepath.Glob(dir + ".replaced-*"); len(m) != 0 {
			t.Fatalf("data moved aside: %v", m)
		}
	})

	t.Run("wrong passphrase", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "wrong.txt")
		_ = os.WriteFile(wrong, []byte("not the passphrase\n"), 0o600)
		code, _, stderr := runCLI(t, dir, "restore", out, "--passphrase-file", wrong)
		if code != exitError || !strings.Contains(stderr, "does not open it") {
			t.Fatalf("%d %q", code, stderr)
		}
	})

	t.Run("refused while a server holds the directory", func(t *testing.T) {
		held, err := openEnvKey(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		defer held.close()
		code, _, stderr := runCLI(t, dir, "restore", out, "--passphrase-file", pass)
		if code != exitError || !strings.Contains(stderr, "already using") {
			t.Fatalf("%d %q", code, stderr)
		}
	})

	t.Run("restore over the current data keeps it aside", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, dir, "restore", out, "--passphrase-file", pass)
		if code != exitOK {
			t.Fatalf("%d %q", code, stderr)
		}
		m, _ := filepath.Glob(dir + ".replaced-*")
		if len(m) != 1 || !strings.Contains(stdout, m[0]) {
			t.Fatalf("aside %v, output %q", m, stdout)
		}
		if _, err := os.Stat(filepath.Join(m[0], store.FileName)); err != nil {
			t.Fatal(err)
		}
	})
}
