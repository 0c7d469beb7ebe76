package etcdstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"provisio/core"
)

// BenchmarkBatch_LoginShaped is the store's part of a login over etcd:
// 64 concurrent read-modify-write Batch calls, each reading a user, its
// strings and login state and appending an audit line, on one node of a
// 3-member embedded cluster.
func BenchmarkBatch_LoginShaped(b *testing.B) {
	t := &testing.T{}
	_ = t
	st := openSiteB(b)
	const users = 64
	for i := 0; i < users; i++ {
		ss := core.NewStringSet()
		name := fmt.Sprintf("u%02d", i)
		if err := st.Update(func(tx core.Tx) error {
			if err := tx.PutUser(core.User{Name: name, PIN: "1234"}); err != nil {
				return err
			}
			return tx.PutStrings(name, &ss)
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan int)
	start := time.Now()
	for w := 0; w < users; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("u%02d", w)
			for range work {
				err := st.Batch(func(tx core.Tx) error {
					if _, err := tx.User(name); err != nil {
						return err
					}
					if _, err := tx.Strings(name); err != nil {
						return err
					}
					ls, _ := tx.LoginState(name)
					ls.Next++
					if err := tx.PutLoginState(name, ls); err != nil {
						return err
					}
					_, err := tx.AppendLog(core.LogEntry{Time: time.Now().UTC(), Message: "Login successful for user: " + name})
					return err
				})
				if err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
}
