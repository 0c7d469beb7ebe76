package etcdstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
)

// rotateKillEnv makes the test binary a "provisio key rotate" on an etcd
// site that kills itself with SIGKILL, as kill -9 would, right after the
// n-th commit of the rotation: "n\nendpoints\nsite\nkey dir\ndata dir".
const rotateKillEnv = "PROVISIO_TEST_ETCD_ROTATE_KILL"

// stepCounter is a site's KV that counts the commits made once counting
// is set, and with kill set kills the process after the kill-th, or
// fails the fail-th as etcd does when it does not answer, without
// committing it.
type stepCounter struct {
	*etcdstore.KV
	counting         bool
	done, kill, fail int
	// after, when set, runs after each counted commit.
	after func(n int)
}

func (c *stepCounter) Update(fn func(store.KVTx) error) error {
	if c.counting && c.fail > 0 && c.done+1 == c.fail {
		return etcdstore.CommitError(context.DeadlineExceeded)
	}
	err := c.KV.Update(fn)
	if err == nil && c.counting {
		c.done++
		if c.done == c.kill {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		if c.after != nil {
			c.after(c.done)
		}
	}
	return err
}

func init() {
	v := os.Getenv(rotateKillEnv)
	if v == "" {
		return
	}
	p := strings.Split(v, "\n")
	n, _ := strconv.Atoi(p[0])
	kv, err := etcdstore.Connect(etcdstore.Config{Endpoints: strings.Split(p[1], ","), Site: p[2]})
	if err != nil {
		os.Exit(3)
	}
	c := &stepCounter{KV: kv, kill: n}
	st, err := store.OpenBackend(c, p[4], store.Options{KeyDir: p[3]})
	if err != nil {
		os.Exit(3)
	}
	c.counting = true
	_, _ = st.RotateKey()
	os.Exit(4) // not killed: the rotation made fewer commits
}

// filledSite opens a new site on the cluster c, fills it and closes it,
// and returns its configuration, key directory and data key.
func filledSite(t *testing.T, c *etcdtest.Cluster, site string, users int) (etcdstore.Config, string, []byte) {
	t.Helper()
	cfg := etcdstore.Config{Endpoints: c.Endpoints(), Site: site}
	keyDir := t.TempDir()
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	fillSite(t, st, users, 150)
	st.Close()
	key, err := os.ReadFile(filepath.Join(keyDir, store.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, keyDir, key
}

// checkFinishedOnOpen: a server holding only the old key, or only the
// new one, is refused while the rotation is unfinished (the old one after
// it too, as after any rotation); the next open where the rotation ran finishes it, says so,
// and everything reads under the new key with the log verifying.
func checkFinishedOnOpen(t *testing.T, cfg etcdstore.Config, keyDir string, oldKey []byte, users int, finished bool) {
	t.Helper()
	other, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: oldKey})
	want := store.ErrRotationUnfinished
	if finished {
		want = store.ErrKeyMismatch
	}
	if !errors.Is(err, want) {
		if other != nil {
			other.Close()
		}
		t.Fatalf("a server with the old key only: %v; want %v", err, want)
	}
	if !finished {
		newKey, err := os.ReadFile(filepath.Join(keyDir, store.KeyFileName+".new"))
		if err != nil {
			t.Fatal(err)
		}
		if other, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: newKey}); !errors.Is(err, store.ErrRotationUnfinished) {
			if other != nil {
				other.Close()
			}
			t.Fatalf("a server with the new key only: %v; want %v", err, store.ErrRotationUnfinished)
		}
	}
	st, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatalf("the next open where the rotation ran: %v", err)
	}
	defer st.Close()
	if n := st.Notices(); len(n) != 1 || !strings.Contains(n[0], "it is finished now") {
		t.Errorf("notices %q; want one saying the rotation was finished", n)
	}
	checkSite(t, st, users)
	if _, err := os.Stat(filepath.Join(keyDir, store.KeyFileName+".new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("provisio.key.new is left: %v", err)
	}
	if k, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); bytes.Equal(k, oldKey) {
		t.Error("provisio.key is still the old key")
	}
	if _, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: oldKey}); !errors.Is(err, store.ErrKeyMismatch) {
		t.Errorf("the old key after the rotation: %v; want %v", err, store.ErrKeyMismatch)
	}
}

// TestRotateKey_InStepsKilledAnywhere is kill -9 during "provisio key
// rotate" on an etcd site under etcd's default limits, right after its
// first commit (the rotation's record), after the first step of records,
// half way, before its last commit and after it (before the new key's
// rename): every time, a server with the old key only is refused (it
// would read half the site) and the next open where the rotation ran
// finishes it.
func TestRotateKey_InStepsKilledAnywhere(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t)
	const users = 150
	// How many commits a whole rotation makes, on a twin site.
	cfg, keyDir, _ := filledSite(t, c, "twin", users)
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	counter := &stepCounter{KV: kv}
	st, err := store.OpenBackend(counter, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	counter.counting = true
	if _, err := st.RotateKey(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	total := counter.done
	if total < 6 {
		t.Fatalf("the rotation made %d commits; want it in steps", total)
	}
	for _, n := range []int{1, 2, total / 2, total - 1, total} {
		t.Run(fmt.Sprintf("after commit %d of %d", n, total), func(t *testing.T) {
			site := fmt.Sprintf("kill%d", n)
			cfg, keyDir, oldKey := filledSite(t, c, site, users)
			killRotationAfter(t, cfg, keyDir, n)
			checkFinishedOnOpen(t, cfg, keyDir, oldKey, users, n == total)
		})
	}
}

// TestRotateKey_InStepsEtcdGoneHalfWay: etcd stops answering half way
// through a rotation. The command says, in a sentence of its own (not
// etcd's "nothing was changed"), that the rotation stopped, where the new
// key is kept and to run any command there once etcd answers; that
// command's open finishes it.
func TestRotateKey_InStepsEtcdGoneHalfWay(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t)
	const users = 150
	cfg, keyDir, oldKey := filledSite(t, c, "gone", users)
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	counter := &stepCounter{KV: kv, fail: 4}
	st, err := store.OpenBackend(counter, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	counter.counting = true
	_, err = st.RotateKey()
	st.Close()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("rotate with etcd gone half way: %v; want a core.Error with a sentence", err)
	}
	for _, want := range []string{"stopped before it finished", store.KeyFileName + ".new", "provisio user list"} {
		if !strings.Contains(ce.Message, want) {
			t.Errorf("the sentence %q does not say %q", ce.Message, want)
		}
	}
	for _, bad := range []string{"nothing was changed", "nothing changed", "deadline", "etcdserver"} {
		if strings.Contains(ce.Message, bad) {
			t.Errorf("the sentence %q says %q", ce.Message, bad)
		}
	}
	checkFinishedOnOpen(t, cfg, keyDir, oldKey, users, false)
}

// TestRotateKey_InStepsKeepsChangesMadeMeanwhile: between the steps of a
// rotation, a server that opened the site before it (with the old key)
// changes a user the rotation has not reached yet, adds 130 users once
// the records are done (more than the last step can take on) and appends
// a log line after every step, each chained from whatever MAC the newest
// entry has then, re-chained or not. None of it is lost: the rotation
// re-seals the changed user and goes round again for the added ones, the
// lines are re-chained, and everything reads under the new key with the
// log verifying.
func TestRotateKey_InStepsKeepsChangesMadeMeanwhile(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t)
	const users = 150
	cfg, keyDir, oldKey := filledSite(t, c, "meanwhile", users)
	other, err := etcdstore.Open(cfg, t.TempDir(), store.Options{Key: oldKey})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	kv, err := etcdstore.Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	counter := &stepCounter{KV: kv}
	st, err := store.OpenBackend(counter, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var lines []string
	added, logSteps, trimmedTo := false, 0, uint64(0)
	counter.after = func(n int) {
		resp, err := kv.Client().Get(context.Background(), kv.Prefix()+"config/key_rotation")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return // finished: a server with the old key must not run now
		}
		var rec struct {
			LogSeq uint64 `json:"log_seq"`
		}
		if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
			t.Fatal(err)
		}
		err = other.Update(func(tx core.Tx) error {
			if n == 1 {
				u, err := tx.User("user0149")
				if err != nil {
					return err
				}
				u.PIN = "999999"
				if err := tx.PutUser(u); err != nil {
					return err
				}
			}
			_, err := tx.AppendLog(core.LogEntry{Time: time.Now(), Level: core.LevelInfo, Message: fmt.Sprintf("meanwhile %d", n)})
			return err
		})
		if err != nil {
			t.Fatalf("the other server's change after commit %d: %v", n, err)
		}
		lines = append(lines, fmt.Sprintf("meanwhile %d", n))
		if rec.LogSeq > 0 {
			// Trims, as the leader's log trim makes them: after the first
			// step of the log, of entries it re-chained; after the second,
			// past them.
			logSteps++
			var upTo uint64
			switch logSteps {
			case 1:
				upTo = rec.LogSeq / 2
			case 2:
				upTo = rec.LogSeq + 30
			}
			if upTo > 0 {
				if err := other.Update(func(tx core.Tx) error {
					_, _, err := tx.TrimLog(1000, func(e core.LogEntry, _ int) bool { return e.Seq <= upTo })
					return err
				}); err != nil {
					t.Fatalf("trim the log to #%d after commit %d: %v", upTo, n, err)
				}
				trimmedTo = upTo
			}
		}
		if rec.LogSeq > 0 && !added { // the site has no checkpoint
			added = true
			for from := 0; from < 130; from += 10 {
				if err := other.Update(func(tx core.Tx) error {
					for i := from; i < from+10; i++ {
						if err := tx.PutUser(core.User{Name: fmt.Sprintf("late%03d", i), PIN: fmt.Sprintf("%06d", 500000+i)}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					t.Fatalf("add users after commit %d: %v", n, err)
				}
			}
		}
	}
	counter.counting = true
	if _, err := st.RotateKey(); err != nil {
		t.Fatalf("rotate while another server writes between the steps: %v", err)
	}
	if !added {
		t.Fatal("the rotation never reached the log with users left to add")
	}
	st2, err := etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	err = st2.View(func(tx core.Tx) error {
		if u, err := tx.User("user0149"); err != nil || u.PIN != "999999" {
			return fmt.Errorf("the user changed meanwhile: %q %v", u.PIN, err)
		}
		for i := range 130 {
			if u, err := tx.User(fmt.Sprintf("late%03d", i)); err != nil || u.PIN != fmt.Sprintf("%06d", 500000+i) {
				return fmt.Errorf("late%03d added meanwhile: %q %v", i, u.PIN, err)
			}
		}
		tail, err := tx.LogTail(len(lines) + 1)
		if err != nil {
			return err
		}
		var got []string
		for _, e := range tail {
			if strings.HasPrefix(e.Message, "meanwhile") {
				got = append(got, e.Message)
			}
		}
		if strings.Join(got, ",") != strings.Join(lines, ",") {
			return fmt.Errorf("the lines appended meanwhile: %q, want %q", got, lines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := st2.VerifyLog(); err != nil || v.Checkpoint != trimmedTo || logSteps < 2 {
		t.Fatalf("the log chain: %+v %v; want it from the checkpoint at #%d, trimmed twice (%d steps of the log)", v, err, trimmedTo, logSteps)
	}
	t.Logf("%d commits; lines appended meanwhile: %d", counter.done, len(lines))
}

// killRotationAfter runs a child "provisio key rotate" on the site that
// kills itself after its n-th commit.
func killRotationAfter(t *testing.T, cfg etcdstore.Config, keyDir string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), rotateKillEnv+"="+strings.Join([]string{strconv.Itoa(n), strings.Join(cfg.Endpoints, ","), cfg.Site, keyDir, t.TempDir()}, "\n"))
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("the rotating child: %v; want it killed after commit %d", err, n)
	}
}

// TestRotateKey_InStepsFinishedByTwoOpensAtOnce: after a rotation killed
// half way, two servers of the machine it ran on (one key directory) start
// at once. Both finish it together, each step of one run again or skipped
// by the other, and both open under the new key with the log verifying.
func TestRotateKey_InStepsFinishedByTwoOpensAtOnce(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t)
	const users = 150
	cfg, keyDir, oldKey := filledSite(t, c, "twice", users)
	killRotationAfter(t, cfg, keyDir, 5)
	var sts [2]*store.Store
	var errs [2]error
	var wg sync.WaitGroup
	for i := range sts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sts[i], errs[i] = etcdstore.Open(cfg, t.TempDir(), store.Options{KeyDir: keyDir})
		}()
	}
	wg.Wait()
	for i, st := range sts {
		if errs[i] != nil {
			t.Fatalf("open %d of two at once: %v", i, errs[i])
		}
		defer st.Close()
	}
	for _, st := range sts {
		checkSite(t, st, users)
	}
	if k, _ := os.ReadFile(filepath.Join(keyDir, store.KeyFileName)); bytes.Equal(k, oldKey) {
		t.Error("provisio.key is still the old key")
	}
	if _, err := os.Stat(filepath.Join(keyDir, store.KeyFileName+".new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("provisio.key.new is left: %v", err)
	}
}
