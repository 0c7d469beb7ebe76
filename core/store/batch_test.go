package store_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
)

// batchModes are the two ways Store.Batch can group writes: the default
// group commit without an idle wait, and bbolt's timed DB.Batch. Both must
// keep the same promises.
var batchModes = []struct {
	name string
	opt  store.Options
}{
	{"group", store.Options{}},
	{"bbolt-2ms", store.Options{MaxBatchDelay: 2 * time.Millisecond}},
}

func openStore(tb testing.TB, dir string, opt store.Options) *store.Store {
	tb.Helper()
	st, err := store.Open(dir, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// TestStore_BatchConcurrent runs many concurrent Batch calls (run it with
// -race): each gets its own log sequence number, sees what its fn wrote
// once Batch returns, and every write is in the store afterwards.
func TestStore_BatchConcurrent(t *testing.T) {
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			st := openStore(t, t.TempDir(), m.opt)
			const workers, each = 64, 20
			var seqs sync.Map
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						var got core.LogEntry // written by whichever goroutine commits
						err := st.Batch(func(tx core.Tx) error {
							id := fmt.Sprintf("w%02d-%02d", w, i)
							if err := tx.PutDevice(id, "u"); err != nil {
								return err
							}
							e, err := tx.AppendLog(core.LogEntry{Message: id})
							got = e
							return err
						})
						if err != nil {
							t.Errorf("batch: %v", err)
							return
						}
						if want := fmt.Sprintf("w%02d-%02d", w, i); got.Message != want || got.Seq == 0 {
							t.Errorf("after Batch the caller sees %+v, want message %s with a sequence number", got, want)
						}
						if prev, dup := seqs.LoadOrStore(got.Seq, got.Message); dup {
							t.Errorf("sequence %d given to %s and %s", got.Seq, prev, got.Message)
						}
					}
				}()
			}
			wg.Wait()
			err := st.View(func(tx core.Tx) error {
				logs, err := tx.Logs(0, 0)
				if err != nil {
					return err
				}
				if len(logs) != workers*each {
					t.Errorf("%d log entries, want %d", len(logs), workers*each)
				}
				for _, e := range logs {
					if _, err := tx.DeviceUser(e.Message); err != nil {
						t.Errorf("device %s of log %d: %v", e.Message, e.Seq, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStore_BatchFailingCallFailsAlone queues many calls behind a commit
// in progress so that they share the next one, among them calls that fail
// and one that panics. The failing calls get their own error and leave
// nothing behind; every other call commits; the panic reaches its own
// caller only.
func TestStore_BatchFailingCallFailsAlone(t *testing.T) {
	errBad := errors.New("this call is refused")
	for _, m := range batchModes {
		t.Run(m.name, func(t *testing.T) {
			st := openStore(t, t.TempDir(), m.opt)

			// Hold the writer so that everything below queues up.
			release := make(chan struct{})
			holding := make(chan struct{})
			holder := make(chan error, 1)
			go func() {
				holder <- st.Update(func(tx core.Tx) error {
					close(holding)
					<-release
					return tx.PutDevice("holder", "u")
				})
			}()
			<-holding

			const n = 48
			type result struct {
				err      error
				panicked any
			}
			results := make([]result, n)
			runs := make([]atomic.Int32, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { results[i].panicked = recover() }()
					results[i].err = st.Batch(func(tx core.Tx) error {
						runs[i].Add(1)
						if err := tx.PutDevice("d"+strconv.Itoa(i), "u"); err != nil {
							return err
						}
						switch {
						case i == 13:
							panic("call 13 is broken")
						case i%10 == 3:
							return errBad
						}
						return nil
					})
				}()
			}
			time.Sleep(100 * time.Millisecond) // let every call queue
			close(release)
			wg.Wait()
			if err := <-holder; err != nil {
				t.Fatal(err)
			}

			rerun := 0
			for i := range n {
				if i != 13 && i%10 != 3 && runs[i].Load() > 1 {
					rerun++
				}
			}
			if rerun == 0 {
				t.Errorf("no good call ran twice: the calls did not share a commit with a failing one, so the test proves nothing")
			}

			err := st.View(func(tx core.Tx) error {
				for i := range n {
					_, lookErr := tx.DeviceUser("d" + strconv.Itoa(i))
					r := results[i]
					switch {
					case i == 13:
						if r.panicked == nil {
							t.Errorf("call 13 panicked, but its caller did not see the panic (err %v)", r.err)
						}
						if lookErr == nil {
							t.Errorf("the panicking call's write was committed")
						}
					case i%10 == 3:
						if !errors.Is(r.err, errBad) || r.panicked != nil {
							t.Errorf("failing call %d: err %v, panic %v; want its own error", i, r.err, r.panicked)
						}
						if lookErr == nil {
							t.Errorf("failing call %d's write was committed", i)
						}
						if runs[i].Load() < 2 {
							t.Errorf("failing call %d ran %d times; it should have failed in its group and again alone", i, runs[i].Load())
						}
					default:
						if r.err != nil || r.panicked != nil {
							t.Errorf("call %d was failed by another call: err %v, panic %v", i, r.err, r.panicked)
						}
						if lookErr != nil {
							t.Errorf("call %d's write is missing: %v", i, lookErr)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// batchChildEnv makes the test binary a writer process for
// TestStore_BatchAcknowledgedSurviveKill.
const batchChildEnv = "PROVISIO_BATCH_CHILD_DIR"

// TestStore_BatchAcknowledgedSurviveKill has a separate process write with
// 64 concurrent Batch calls and print each key once its Batch returned,
// kills it with SIGKILL mid-flight, reopens the file and finds every
// acknowledged key.
func TestStore_BatchAcknowledgedSurviveKill(t *testing.T) {
	if dir := os.Getenv(batchChildEnv); dir != "" {
		batchChild(dir)
		return
	}
	for _, m := range batchModes[:1] {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestStore_BatchAcknowledgedSurviveKill$")
			cmd.Env = append(os.Environ(), batchChildEnv+"="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})

			const killAfter = 3000
			acked := map[string]bool{}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				acked[sc.Text()] = true
				if len(acked) == killAfter && !killed {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
					killed = true
				}
			}
			cmd.Wait()
			if !killed {
				t.Fatalf("the writer stopped after %d acknowledged writes, before it was killed", len(acked))
			}

			st := openStore(t, dir, m.opt)
			missing := 0
			err = st.View(func(tx core.Tx) error {
				for k := range acked {
					if _, err := tx.DeviceUser(k); err != nil {
						missing++
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if missing > 0 {
				t.Fatalf("%d of %d acknowledged writes are missing after kill -9", missing, len(acked))
			}
			t.Logf("%d acknowledged writes, all present after kill -9", len(acked))
		})
	}
}

// batchChild writes forever with 64 goroutines, printing each key after
// its Batch returned nil.
func batchChild(dir string) {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		os.Exit(3)
	}
	var mu sync.Mutex
	for w := range 64 {
		go func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("w%02d-%06d", w, i)
				if err := st.Batch(func(tx core.Tx) error { return tx.PutDevice(k, "u") }); err != nil {
					os.Exit(4)
				}
				mu.Lock()
				os.Stdout.WriteString(k + "\n") // unbuffered: printed means acknowledged
				mu.Unlock()
			}
		}()
	}
	select {}
}

// BenchmarkBatch64 writes one small key per Batch from 64 goroutines
// (SetParallelism(32) on 2 CPUs), with bbolt's timed DB.Batch and with the
// group commit. writes/s is the throughput; every write is durable.
func BenchmarkBatch64(b *testing.B) {
	for _, m := range batchModes {
		b.Run(m.name, func(b *testing.B) {
			st := openStore(b, b.TempDir(), m.opt)
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := "k" + strconv.FormatInt(next.Add(1), 10)
					if err := st.Batch(func(tx core.Tx) error { return tx.PutDevice(k, "u") }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}
