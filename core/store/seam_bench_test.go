package store_test

import (
	"errors"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
)

var errRollback = errors.New("rollback")

// BenchmarkTx_LoginShaped measures the record code of one login on the
// bbolt file without the disk: read the user, strings and login state,
// write the login state and append a chained audit line, then roll back
// (no fsync). It shows what the bucket/key/value seam (kv.go) costs on
// the login path.
func BenchmarkTx_LoginShaped(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{Key: make([]byte, store.KeySize)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ss := core.NewStringSet()
	if err := st.Update(func(tx core.Tx) error {
		if err := tx.PutUser(core.User{Name: "alice", PIN: "1234"}); err != nil {
			return err
		}
		for i := 0; i < 100; i++ {
			if _, err := tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: "seed"}); err != nil {
				return err
			}
		}
		return tx.PutStrings("alice", &ss)
	}); err != nil {
		b.Fatal(err)
	}
	entry := core.LogEntry{Time: time.Now().UTC(), Level: core.LevelInfo, User: "alice", Message: "Login successful for user: alice."}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := st.Update(func(tx core.Tx) error {
			if _, err := tx.User("alice"); err != nil {
				return err
			}
			if _, err := tx.Strings("alice"); err != nil {
				return err
			}
			ls, _ := tx.LoginState("alice")
			ls.Next++
			if err := tx.PutLoginState("alice", ls); err != nil {
				return err
			}
			if _, err := tx.AppendLog(entry); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			b.Fatal(err)
		}
	}
}
