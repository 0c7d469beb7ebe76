package store_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
)

func TestOpen_SecondCopyFailsFast(t *testing.T) {
	if os.Getenv("PROVISIO_HOLD_DIR") != "" {
		// Child process: hold the file until killed. It makes no
		// t.TempDir of its own: being killed, it would never remove it.
		st, err := store.Open(os.Getenv("PROVISIO_HOLD_DIR"), store.Options{})
		if err != nil {
			os.Exit(3)
		}
		defer st.Close()
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		return
	}
	dir := t.TempDir()
	// bbolt's lock is per process (flock), so the second copy must be a
	// second process, as it would be in real life.
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpen_SecondCopyFailsFast$")
	cmd.Env = append(os.Environ(), "PROVISIO_HOLD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}

	start := time.Now()
	_, err = store.Open(dir, store.Options{})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("second open took %v, want under 2 s", took)
	}
	if !strings.Contains(err.Error(), "another Provisio is already using this data directory") {
		t.Fatalf("message %q does not say what happened", err)
	}
}

func TestStore_PersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(core.User{Name: "Alice", PIN: "1234", MobileAllowed: true}); err != nil {
		t.Fatal(err)
	}
	ic, err := svc.CreateProvisionCode("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetSetting("policy.selfreset.code_validity", "900"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// A restart keeps users, settings and the pending code.
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Fatal(err)
	}
	svc, err = core.NewService(st)
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Settings().SelfReset.CodeValidity; got != 900 {
		t.Fatalf("validity after reopen = %d", got)
	}
	p, err := svc.Provision("127.0.0.1", "alice", ic.Code, "")
	if err != nil {
		t.Fatalf("code did not survive a restart: %v", err)
	}
	d, err := svc.SecurityStrings(p.DeviceID)
	if err != nil || len(d.Strings) != 1099 {
		t.Fatalf("strings: %v", err)
	}
}

func TestTx_StringsAndLogs(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss := core.NewStringSet()
	ss.Next = 42
	err = st.Update(func(tx core.Tx) error {
		if err := tx.PutStrings("Bob", &ss); err != nil {
			return err
		}
		for i := 0; i < 10; i++ {
			if _, err := tx.AppendLog(core.LogEntry{Message: string(rune('a' + i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(func(tx core.Tx) error {
		got, err := tx.Strings("bob")
		if err != nil || got != ss {
			t.Fatalf("strings round trip: %v", err)
		}
		tail, _ := tx.LogTail(3)
		if len(tail) != 3 || tail[0].Message != "h" || tail[2].Message != "j" || tail[2].Seq != 10 {
			t.Fatalf("tail = %+v", tail)
		}
		after, _ := tx.Logs(8, 0)
		if len(after) != 2 || after[0].Seq != 9 {
			t.Fatalf("logs after 8 = %+v", after)
		}
		if _, err := tx.User("nobody"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
