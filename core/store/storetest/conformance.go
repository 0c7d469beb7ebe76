package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
)

// Conformance runs the promises every store makes to core (core/store.go)
// against stores made by open: the bbolt file and the etcd adapter
// (issue #16) run the same suite. open returns a fresh, empty store with
// a data key, closed by the test's cleanup.
func Conformance(t *testing.T, open func(t *testing.T) *store.Store) {
	t.Run("RecordsRoundTrip", func(t *testing.T) { conformRecords(t, open(t)) })
	t.Run("ReadYourWrites", func(t *testing.T) { conformReadYourWrites(t, open(t)) })
	t.Run("LogChainAndTrim", func(t *testing.T) { conformLog(t, open(t)) })
	t.Run("LogActorUnderMAC", func(t *testing.T) { conformLogActor(t, open(t)) })
	t.Run("BatchNoLostUpdate", func(t *testing.T) { conformBatch(t, open(t)) })
	t.Run("BatchFailureIsolated", func(t *testing.T) { conformBatchFailure(t, open(t)) })
	t.Run("UpdateRollsBack", func(t *testing.T) { conformRollback(t, open(t)) })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func conformRecords(t *testing.T, st *store.Store) {
	ss := core.NewStringSet()
	ss.Next = 42
	must(t, st.Update(func(tx core.Tx) error {
		for _, n := range []string{"Carol", "alice", "Bob"} {
			if err := tx.PutUser(core.User{Name: n, PIN: "1234", DeviceID: "dev-" + n}); err != nil {
				return err
			}
		}
		if err := tx.PutDevice("dev-bob", "Bob"); err != nil {
			return err
		}
		if err := tx.PutStrings("Bob", &ss); err != nil {
			return err
		}
		if err := tx.PutLoginState("bob", core.LoginState{Next: 7, Failures: 2}); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			if err := tx.PutMail(&core.OutMessage{To: fmt.Sprintf("u%d@example.org", i), Code: "secret"}); err != nil {
				return err
			}
		}
		return tx.PutSettings(core.DefaultSettings())
	}))
	must(t, st.View(func(tx core.Tx) error {
		var names []string
		if err := tx.Users(func(u core.User) bool { names = append(names, u.Name); return true }); err != nil {
			return err
		}
		if fmt.Sprint(names) != "[alice Bob Carol]" {
			t.Errorf("users in key order = %v", names)
		}
		u, err := tx.User("BOB")
		if err != nil || u.PIN != "1234" {
			t.Errorf("user = %+v, %v", u, err)
		}
		if got, err := tx.DeviceUser("dev-bob"); err != nil || got != "Bob" {
			t.Errorf("device user = %q, %v", got, err)
		}
		if got, err := tx.Strings("bob"); err != nil || got != ss {
			t.Errorf("strings round trip: %v", err)
		}
		if ls, err := tx.LoginState("Bob"); err != nil || ls.Next != 7 || ls.Failures != 2 {
			t.Errorf("login state = %+v, %v", ls, err)
		}
		var ids []uint64
		if err := tx.Mails(func(m core.OutMessage) bool {
			if m.Code != "secret" {
				t.Errorf("mail %d code = %q", m.ID, m.Code)
			}
			ids = append(ids, m.ID)
			return true
		}); err != nil {
			return err
		}
		if fmt.Sprint(ids) != "[1 2 3]" {
			t.Errorf("mail ids = %v", ids)
		}
		if _, err := tx.User("nobody"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("missing user: %v", err)
		}
		return nil
	}))
	must(t, st.Update(func(tx core.Tx) error {
		if err := tx.DeleteUser("bob"); err != nil {
			return err
		}
		return tx.DeleteMail(2)
	}))
	must(t, st.View(func(tx core.Tx) error {
		if _, err := tx.User("bob"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("deleted user: %v", err)
		}
		if _, err := tx.LoginState("bob"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("login state of deleted user: %v", err)
		}
		if _, err := tx.Mail(2); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("deleted mail: %v", err)
		}
		return nil
	}))
}

// conformReadYourWrites: inside one transaction, reads and cursors see
// the transaction's own puts and deletes.
func conformReadYourWrites(t *testing.T, st *store.Store) {
	must(t, st.Update(func(tx core.Tx) error {
		for _, n := range []string{"a", "c", "e"} {
			if err := tx.PutUser(core.User{Name: n}); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, st.Update(func(tx core.Tx) error {
		if err := tx.PutUser(core.User{Name: "b"}); err != nil {
			return err
		}
		if err := tx.DeleteUser("c"); err != nil {
			return err
		}
		if err := tx.PutUser(core.User{Name: "f", Email: "f@example.org"}); err != nil {
			return err
		}
		var names []string
		if err := tx.Users(func(u core.User) bool { names = append(names, u.Name); return true }); err != nil {
			return err
		}
		if fmt.Sprint(names) != "[a b e f]" {
			t.Errorf("users seen inside the transaction = %v", names)
		}
		if u, err := tx.User("f"); err != nil || u.Email != "f@example.org" {
			t.Errorf("own put = %+v, %v", u, err)
		}
		for i := 0; i < 3; i++ {
			if _, err := tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		tail, err := tx.LogTail(2)
		if err != nil || len(tail) != 2 || tail[1].Message != "2" || tail[1].Seq != 3 {
			t.Errorf("log tail inside the transaction = %+v, %v", tail, err)
		}
		return nil
	}))
	if _, err := st.VerifyLog(); err != nil {
		t.Fatalf("verify log: %v", err)
	}
}

func conformLog(t *testing.T, st *store.Store) {
	for i := 0; i < 30; i++ {
		must(t, st.Batch(func(tx core.Tx) error {
			_, err := tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: fmt.Sprintf("entry %d", i)})
			return err
		}))
	}
	must(t, st.View(func(tx core.Tx) error {
		after, err := tx.Logs(25, 0)
		if err != nil || len(after) != 5 || after[0].Seq != 26 {
			t.Errorf("logs after 25 = %+v, %v", after, err)
		}
		n, size, err := tx.LogSize()
		if err != nil || n != 30 || size <= 0 {
			t.Errorf("log size = %d, %d, %v", n, size, err)
		}
		return nil
	}))
	var trimmed int
	must(t, st.Update(func(tx core.Tx) (err error) {
		trimmed, _, err = tx.TrimLog(1000, func(e core.LogEntry, _ int) bool { return e.Seq <= 20 })
		return err
	}))
	if trimmed != 20 {
		t.Fatalf("trimmed %d, want 20", trimmed)
	}
	v, err := st.VerifyLog()
	if err != nil || v.Checkpoint != 20 || v.Last != 30 || v.Checked != 10 {
		t.Fatalf("verify after trim = %+v, %v", v, err)
	}
	must(t, st.Batch(func(tx core.Tx) error {
		e, err := tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: "after"})
		if err == nil && e.Seq != 31 {
			t.Errorf("seq after trim = %d", e.Seq)
		}
		return err
	}))
	if _, err := st.VerifyLog(); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// conformLogActor: an entry's Actor is stored and covered by the chain's
// MAC, so changing who acted in a stored record makes VerifyLog name the
// entry; an entry without an actor (every entry written before the field
// existed) is stored without the key, exactly as before, and verifies.
func conformLogActor(t *testing.T, st *store.Store) {
	now := time.Now().UTC()
	must(t, st.Update(func(tx core.Tx) error {
		if _, err := tx.AppendLog(core.LogEntry{Time: now, Level: core.LevelInfo, Message: "no actor"}); err != nil {
			return err
		}
		_, err := tx.AppendLog(core.LogEntry{Time: now, Level: core.LevelInfo, User: "alice", Actor: `agent "vpn"`, Message: "Login successful for user: alice."})
		return err
	}))
	if v, err := st.VerifyLog(); err != nil || v.Last != 2 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	must(t, st.View(func(tx core.Tx) error {
		got, err := tx.Logs(0, 0)
		if err != nil || len(got) != 2 || got[0].Actor != "" || got[1].Actor != `agent "vpn"` {
			t.Errorf("entries read back = %+v, %v", got, err)
		}
		return nil
	}))
	key := func(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
	var old, withActor []byte
	must(t, st.EditRaw(func(tx store.KVTx) error {
		b := tx.Bucket([]byte("log"))
		old, withActor = bytes.Clone(b.Get(key(1))), bytes.Clone(b.Get(key(2)))
		return nil
	}))
	if bytes.Contains(old, []byte(`"actor"`)) {
		t.Errorf("an entry without an actor is stored with the key: %s", old)
	}
	if !bytes.Contains(withActor, []byte(`"actor":"agent \"vpn\""`)) {
		t.Fatalf("the actor is not in the stored record: %s", withActor)
	}
	for _, tamper := range [][]byte{
		bytes.Replace(withActor, []byte(`agent \"vpn\"`), []byte(`agent \"vpm\"`), 1),
		bytes.Replace(withActor, []byte(`agent \"vpn\"`), []byte(`the console`), 1),
		bytes.Replace(withActor, []byte(`"actor":"agent \"vpn\"",`), nil, 1),
	} {
		must(t, st.EditRaw(func(tx store.KVTx) error { return tx.Bucket([]byte("log")).Put(key(2), tamper) }))
		_, err := st.VerifyLog()
		var ce *store.LogChainError
		if !errors.As(err, &ce) || ce.Seq != 2 {
			t.Errorf("verify after the stored record became %s: %v, want entry #2 named", tamper, err)
		}
	}
	must(t, st.EditRaw(func(tx store.KVTx) error { return tx.Bucket([]byte("log")).Put(key(2), withActor) }))
	if _, err := st.VerifyLog(); err != nil {
		t.Fatalf("verify with the record put back: %v", err)
	}
}

// conformBatch: concurrent read-modify-write Batch calls lose nothing.
func conformBatch(t *testing.T, st *store.Store) {
	const n = 64
	must(t, st.Update(func(tx core.Tx) error { return tx.PutLoginState("counter", core.LoginState{}) }))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- st.Batch(func(tx core.Tx) error {
				ls, err := tx.LoginState("counter")
				if err != nil {
					return err
				}
				ls.Failures++
				if err := tx.PutLoginState("counter", ls); err != nil {
					return err
				}
				_, err = tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: "inc"})
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	must(t, st.View(func(tx core.Tx) error {
		ls, err := tx.LoginState("counter")
		if err != nil || ls.Failures != n {
			t.Errorf("counter = %d, %v; want %d", ls.Failures, err, n)
		}
		return nil
	}))
	if v, err := st.VerifyLog(); err != nil || v.Checked != n {
		t.Fatalf("log after concurrent batches = %+v, %v", v, err)
	}
}

// conformBatchFailure: a failing call in a group fails alone.
func conformBatchFailure(t *testing.T, st *store.Store) {
	boom := errors.New("boom")
	var wg sync.WaitGroup
	res := make([]error, 20)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = st.Batch(func(tx core.Tx) error {
				if err := tx.PutUser(core.User{Name: fmt.Sprintf("u%02d", i)}); err != nil {
					return err
				}
				if i%5 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	must(t, st.View(func(tx core.Tx) error {
		for i, err := range res {
			_, uerr := tx.User(fmt.Sprintf("u%02d", i))
			if i%5 == 0 {
				if !errors.Is(err, boom) || !errors.Is(uerr, core.ErrNotFound) {
					t.Errorf("failing call %d: %v, user %v", i, err, uerr)
				}
			} else if err != nil || uerr != nil {
				t.Errorf("call %d: %v, user %v", i, err, uerr)
			}
		}
		return nil
	}))
}

func conformRollback(t *testing.T, st *store.Store) {
	boom := errors.New("boom")
	err := st.Update(func(tx core.Tx) error {
		if err := tx.PutUser(core.User{Name: "ghost"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update = %v", err)
	}
	must(t, st.View(func(tx core.Tx) error {
		if _, err := tx.User("ghost"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("rolled back user: %v", err)
		}
		return nil
	}))
}
