package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"provisio/core"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

func TestTx_LoginState(t *testing.T) {
	tests := []struct {
		name string
		ls   core.LoginState
	}{
		{"zero", core.LoginState{}},
		{"spent and counted", core.LoginState{Next: 42, Failures: 7, Locks: 1,
			LockedUntil: time.Date(2026, 3, 2, 10, 5, 0, 123, time.UTC), LastLogin: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}},
		{"permanent", core.LoginState{Next: 99, Failures: 25, Locks: 5, Permanent: true}},
	}
	st := storetest.MustOpen(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.Update(func(tx core.Tx) error {
				if _, err := tx.LoginState("Alice"); !errors.Is(err, core.ErrNotFound) {
					t.Fatalf("before: %v, want not found", err)
				}
				if err := tx.PutLoginState("Alice", tt.ls); err != nil {
					return err
				}
				got, err := tx.LoginState("ALICE")
				if err != nil {
					return err
				}
				if got != tt.ls && !(got.LockedUntil.Equal(tt.ls.LockedUntil) && got.LastLogin.Equal(tt.ls.LastLogin)) {
					t.Fatalf("got %+v, want %+v", got, tt.ls)
				}
				if err := tx.PutUser(core.User{Name: "alice"}); err != nil {
					return err
				}
				// Deleting the user deletes the login record.
				if err := tx.DeleteUser("alice"); err != nil {
					return err
				}
				if _, err := tx.LoginState("alice"); !errors.Is(err, core.ErrNotFound) {
					t.Fatalf("after delete: %v, want not found", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A data file from before the logins bucket opens with every user's
// lock, failures, last login and next index moved into it, and the user
// records rewritten without them.
func TestOpen_MigratesLoginState(t *testing.T) {
	dir := t.TempDir()
	last := time.Date(2025, 2, 28, 17, 30, 0, 0, time.UTC)
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	strs := make([]byte, 1+core.StringsPerDownload*10)
	strs[0] = 17
	for i := 1; i < len(strs); i++ {
		strs[i] = '0' + byte(i%10)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		users, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		for k, v := range map[string]string{
			"alice": `{"name":"Alice","mobile_allowed":true,"pin":"9132","failures":2,"created":"2025-01-06T08:00:00Z","last_login":"2025-02-28T17:30:00Z"}`,
			"bob":   `{"name":"bob","mobile_allowed":true,"pin":"2468","locked":true,"failures":5,"created":"2025-01-06T08:05:00Z"}`,
		} {
			if err := users.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket([]byte("strings"))
		if err != nil {
			return err
		}
		return b.Put([]byte("alice"), strs)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	for round := range 2 { // the second open finds nothing to do
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := core.NewService(st, core.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		alice, _ := svc.User("alice")
		bob, _ := svc.User("bob")
		if alice.Locked || alice.Failures != 2 || !alice.LastLogin.Equal(last) || alice.PIN != "9132" {
			t.Errorf("round %d: alice %+v", round, alice)
		}
		if !bob.Locked || bob.Failures != 5 || !bob.LastLogin.IsZero() {
			t.Errorf("round %d: bob %+v", round, bob)
		}
		if lock, _ := svc.Lock("bob"); !lock.Permanent {
			t.Errorf("round %d: bob's lock %+v, want one an administrator lifts", round, lock)
		}
		var ls core.LoginState
		if err := st.View(func(tx core.Tx) (err error) { ls, err = tx.LoginState("alice"); return err }); err != nil || ls.Next != 17 {
			t.Errorf("round %d: alice's next index %d (%v), want 17", round, ls.Next, err)
		}
		st.Close()
	}

	db, err = bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("users")).ForEach(func(k, v []byte) error {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(v, &fields); err != nil {
				return err
			}
			for _, moved := range []string{"locked", "failures", "last_login"} {
				if _, ok := fields[moved]; ok {
					t.Errorf("user %s still has %q: %s", k, moved, v)
				}
			}
			if !bytes.Contains(v, []byte(`"pin"`)) {
				t.Errorf("user %s lost fields: %s", k, v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
