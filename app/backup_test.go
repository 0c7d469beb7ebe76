package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"provisio/core"
	"provisio/core/adminapi"
	"provisio/core/certs"
	"provisio/core/store"
	"provisio/core/store/storetest"
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
	o := newBackupOffice(t, "correct horse battery staple", 64)
	root, dir, pass, e, agent, users := o.root, o.dir, o.pass, o.e, o.agent, o.users
	out := filepath.Join(root, "backup.age")
	// The device CA (#14), made as a server start makes it: the backup
	// must carry it, or restored phones' certificates would not verify.
	if _, err := certs.NewDeviceCA(e.keyDir).Pool(); err != nil {
		t.Fatal(err)
	}
	caKey, err := os.ReadFile(filepath.Join(e.keyDir, certs.DeviceCAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	// And the console CA (#12), or paired consoles would have to pair again.
	if _, err := certs.NewConsoleCA(e.keyDir).Pool(); err != nil {
		t.Fatal(err)
	}
	consoleCAKey, err := os.ReadFile(filepath.Join(e.keyDir, certs.ConsoleCAKeyFile))
	if err != nil {
		t.Fatal(err)
	}

	// 64 clients log in, each at the next index, while the backup runs.
	// acked[i] is the newest index user i's login was acknowledged at
	// before the backup began.
	var stop, before atomic.Bool
	before.Store(true)
	acked, started, wait := loginWhile(t, e, agent, users, &stop, &before)
	<-started
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
	wait()
	e.close()

	t.Run("restore into a fresh directory", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "new-office")
		code, stdout, stderr := runCLI(t, fresh, "restore", out, "--passphrase-file", pass)
		if code != exitOK || !strings.Contains(stdout, "Restored ") {
			t.Fatalf("restore: %d %q %q", code, stdout, stderr)
		}
		keys := keyDirFor(fresh, "")
		if got, err := os.ReadFile(filepath.Join(keys, certs.DeviceCAKeyFile)); err != nil || !bytes.Equal(got, caKey) {
			t.Errorf("the device CA key was not restored: %v", err)
		}
		if got, err := os.ReadFile(filepath.Join(keys, certs.ConsoleCAKeyFile)); err != nil || !bytes.Equal(got, consoleCAKey) {
			t.Errorf("the console CA key was not restored: %v", err)
		}
		checkRestored(t, fresh, agent, users, acked)
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
		if code != exitError || !strings.Contains(stderr, "already using") || !strings.HasSuffix(stderr, "at a time. Nothing was changed: restore again once it is stopped.\n") {
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

// loginWhile runs one client per user, each logging in at its next index
// until stop; acked[i] is the newest index of user i acknowledged while
// before was set. started is closed once every client has logged in
// three times.
func loginWhile(t *testing.T, e *env, agent core.Agent, users []*phoneUser, stop, before *atomic.Bool) (acked []atomic.Int64, started chan struct{}, wait func()) {
	acked = make([]atomic.Int64, len(users))
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	started = make(chan struct{})
	for i, u := range users {
		acked[i].Store(-1)
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			signalled := false
			defer func() {
				if !signalled {
					ready.Done()
				}
			}()
			for idx := 0; idx < core.StringsPerDownload && !stop.Load(); idx++ {
				if err := e.svc.Login(agent, u.name, u.code(idx)); err != nil {
					t.Errorf("login %s #%d: %v", u.name, idx, err)
					return
				}
				if before.Load() {
					acked[i].Store(int64(idx))
				}
				if idx == 2 {
					signalled = true
					ready.Done()
				}
			}
		}()
	}
	go func() { ready.Wait(); close(started) }()
	return acked, started, wg.Wait
}

// backupOffice is a data directory with an agent and provisioned users,
// and a passphrase file beside it, for the backup tests.
type backupOffice struct {
	root, dir, pass string
	e               *env
	agent           core.Agent
	users           []*phoneUser
}

// newBackupOffice makes a backupOffice of n users in a new temp dir;
// opts are service options (a test clock).
func newBackupOffice(t *testing.T, passphrase string, n int, opts ...core.Option) backupOffice {
	t.Helper()
	o := backupOffice{root: t.TempDir()}
	o.dir, o.pass = filepath.Join(o.root, "office"), filepath.Join(o.root, "pass.txt")
	if err := os.WriteFile(o.pass, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if o.e, err = openEnvKey(o.dir, "", opts...); err != nil {
		t.Fatal(err)
	}
	loopbackEnv(t, o.e)
	o.agent = core.Agent{Name: "vpn", Host: "127.0.0.1", Secret: "agent-s3cret-4567", Group: core.GroupAny}
	if err := o.e.svc.PutAgent(o.agent); err != nil {
		t.Fatal(err)
	}
	o.users = provisionUsers(t, o.e, n)
	return o
}

// checkRestored opens a restored directory and checks that every login
// acknowledged before the backup is in it and the next OTC passes.
func checkRestored(t *testing.T, dir string, agent core.Agent, users []*phoneUser, acked []atomic.Int64) {
	t.Helper()
	r, err := openEnvKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if _, err := r.svc.VerifyLog(); err != nil {
		t.Fatalf("restored log: %v", err)
	}
	for i, u := range users {
		// A user who never logged in has no login record yet: index 0.
		var ls core.LoginState
		if err := r.st.View(func(tx core.Tx) error { ls, err = tx.LoginState(u.name); return err }); err != nil && core.ErrorCode(err) != core.CodeNotFound {
			t.Fatal(err)
		}
		if acked != nil && int64(ls.Next) < acked[i].Load()+1 {
			t.Errorf("%s: restored next index %d, but #%d was acknowledged before the backup", u.name, ls.Next, acked[i].Load())
		}
		if ls.Next >= core.StringsPerDownload {
			continue
		}
		if err := r.svc.Login(agent, u.name, u.code(ls.Next)); err != nil {
			t.Errorf("%s: the next OTC (#%d) after the restore: %v", u.name, ls.Next, err)
		}
	}
}

// TestBackupOnline: with a server holding the data directory (its admin
// socket open) and 64 clients logging in, "provisio backup" attaches,
// the server takes the copy and streams it back, and the passphrase
// never reaches the log; "restore" is refused while the server runs;
// the backup restores into a fresh directory with every acknowledged
// login, and the next OTC passes.
func TestBackupOnline(t *testing.T) {
	const passphrase = "online backup passphrase 42"
	o := newBackupOffice(t, passphrase, 64)
	root, dir, pass, e, agent, users := o.root, o.dir, o.pass, o.e, o.agent, o.users
	out := filepath.Join(root, "online.age")
	var errOut bytes.Buffer
	stopAdmin := e.startAdmin(&errOut)

	var stop, before atomic.Bool
	before.Store(true)
	acked, started, wait := loginWhile(t, e, agent, users, &stop, &before)
	<-started
	before.Store(false)
	code, stdout, stderr := runCLI(t, dir, "backup", "--out", out, "--passphrase-file", pass)
	stop.Store(true)
	wait()
	if code != exitOK || !strings.Contains(stderr, "attached to the Provisio running on") ||
		!strings.Contains(stdout, "Backup taken by the running server and written to "+out+" (64 users") {
		t.Fatalf("online backup: %d %q %q", code, stdout, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(root, ".online.age.*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}

	code, _, stderr = runCLI(t, dir, "restore", out, "--passphrase-file", pass)
	if code != exitError || !strings.Contains(stderr, "a Provisio server is running on "+dir) || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("restore while serving: %d %q", code, stderr)
	}

	logs, err := e.svc.LogTail(500)
	if err != nil {
		t.Fatal(err)
	}
	var logged bool
	for _, l := range logs {
		if strings.Contains(l.Message, passphrase) {
			t.Errorf("the passphrase is in the log: %q", l.Message)
		}
		logged = logged || strings.HasPrefix(l.Message, "Backup of 64 users") && strings.HasSuffix(l.Message, "written through the admin API.") && strings.HasPrefix(l.Actor, "a console or command on this machine (uid ")
	}
	if !logged {
		t.Error("the server did not log the online backup")
	}
	stopAdmin()
	e.close()

	fresh := filepath.Join(t.TempDir(), "new-office")
	if code, stdout, stderr := runCLI(t, fresh, "restore", out, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("restore: %d %q %q", code, stdout, stderr)
	}
	checkRestored(t, fresh, agent, users, acked)
}

// TestScheduledBackups: the schedule runs on the service clock, so the
// test moves a fake clock instead of waiting for 02:30. Nothing happens
// before the time; at the time a backup is written into the folder with
// a dated name and restores; one per day, pruned to backup.keep; a
// folder that went away is an error line in the log, the recorded
// failure, and a health problem (the status bar).
func TestScheduledBackups(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 2, 2, 29, 0, 0, time.Local))
	o := newBackupOffice(t, "scheduled backup passphrase", 3, core.WithClock(clock))
	root, dir, pass, e, agent, users := o.root, o.dir, o.pass, o.e, o.agent, o.users
	folder := filepath.Join(root, "backups")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"backup.folder": folder, "backup.passphrase_file": pass, "backup.keep": "2", "backup.time": "02:30"} {
		if err := e.svc.SetSetting(k, v); err != nil {
			t.Fatal(k, err)
		}
	}
	// The runner as app wires it, checking every millisecond.
	startRunner := func(svc *core.Service) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); svc.RunScheduledBackups(ctx, time.Millisecond) }()
		var once sync.Once
		return func() { once.Do(func() { cancel(); <-done }) }
	}
	stopRunner := startRunner(e.svc)
	defer func() { stopRunner() }()

	files := func() []string {
		m, _ := filepath.Glob(filepath.Join(folder, "provisio-*.age"))
		return m
	}
	waitState := func(what string, ok func(core.BackupState) bool) core.BackupState {
		t.Helper()
		// A backup is an age scrypt encryption (about a second of CPU),
		// many times slower under the race detector on a busy machine: the
		// deadline only bounds how long a failure takes to show.
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if st := e.svc.BackupState(); ok(st) {
				return st
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; state %+v", what, e.svc.BackupState())
		return core.BackupState{}
	}
	time.Sleep(30 * time.Millisecond)
	if f := files(); len(f) != 0 || !e.svc.BackupState().Last.At.IsZero() {
		t.Fatalf("a backup before its time: %v", f)
	}

	// 02:30: the first backup, named by the local date and time.
	clock.Advance(90 * time.Second)
	st := waitState("the 02:30 backup", func(s core.BackupState) bool { return s.Last.OK })
	want := filepath.Join(folder, "provisio-20260302-023030.age")
	if st.Last.File != want || !st.Last.Scheduled || !st.LastScheduled.Equal(clock.Now()) {
		t.Fatalf("state %+v, want the file %s", st, want)
	}
	first := filepath.Join(root, "first.age")
	if data, err := os.ReadFile(st.Last.File); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(first, data, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if f := files(); len(f) != 1 {
		t.Fatalf("one slot, backups %v", f)
	}
	// A login after the backup is not in it: the restore must bring back
	// the state at its point.
	if err := e.svc.Login(agent, users[0].name, users[0].code(0)); err != nil {
		t.Fatal(err)
	}

	// Three more days: three more backups, and the folder keeps two.
	for day := 1; day <= 3; day++ {
		clock.Advance(24 * time.Hour)
		at := clock.Now()
		waitState(fmt.Sprintf("day %d", day), func(s core.BackupState) bool { return s.LastScheduled.Equal(at) && s.Last.OK })
	}
	if f := files(); len(f) != 2 || filepath.Base(f[1]) != "provisio-20260305-023030.age" {
		t.Fatalf("kept %v, want the newest 2", f)
	}

	// The folder goes away (an unmounted disk): an error in the log, the
	// failure recorded, and the health problem the status bar shows.
	if err := os.RemoveAll(folder); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	st = waitState("the failure", func(s core.BackupState) bool { return !s.Last.OK && !s.Last.At.IsZero() })
	wantErr := "The backup folder " + folder + " does not exist; create it first."
	if st.Last.Error != wantErr {
		t.Errorf("recorded %q, want %q", st.Last.Error, wantErr)
	}
	if h := e.svc.Health(); h.BackupError != wantErr || !strings.Contains(h.Message(), "The last backup failed. "+wantErr) {
		t.Errorf("health %+v", h)
	}
	logs, _ := e.svc.LogTail(20)
	var errLine bool
	for _, l := range logs {
		if l.Level == core.LevelError && l.Message == "Scheduled backup failed: "+wantErr {
			errLine = true
		}
	}
	if !errLine {
		t.Errorf("no error line in the log: %+v", logs)
	}

	// The recorded outcome survives a restart, and the health shows it
	// again once the runner starts.
	stopRunner()
	e.close()
	e, err := openEnvKey(dir, "", core.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.svc.BackupState().Last.Error; got != wantErr {
		t.Errorf("after a restart the state says %q", got)
	}
	stopRunner = startRunner(e.svc)
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.Health().BackupError == "" && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if e.svc.Health().BackupError != wantErr {
		t.Errorf("health after a restart: %+v", e.svc.Health())
	}
	stopRunner()
	e.close()

	// The first scheduled backup (pruned since; a copy was kept)
	// restores into a fresh directory: it holds the state at 02:30, so
	// the login made after it is not there, and the next OTC passes.
	fresh := filepath.Join(t.TempDir(), "new-office")
	if code, stdout, stderr := runCLI(t, fresh, "restore", first, "--passphrase-file", pass); code != exitOK {
		t.Fatalf("restore: %d %q %q", code, stdout, stderr)
	}
	r, err := openEnvKey(fresh, "")
	if err != nil {
		t.Fatal(err)
	}
	var ls core.LoginState
	if err := r.st.View(func(tx core.Tx) error { ls, err = tx.LoginState(users[0].name); return err }); err != nil && core.ErrorCode(err) != core.CodeNotFound {
		t.Fatal(err)
	}
	r.close()
	if ls.Next != 0 {
		t.Errorf("the restored backup holds a login made after it (next index %d)", ls.Next)
	}
	checkRestored(t, fresh, agent, users, nil)
}
