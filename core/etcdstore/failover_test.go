package etcdstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"provisio/core"
	"provisio/core/etcdstore"
	"provisio/core/etcdstore/etcdtest"
	"provisio/core/store"
	"provisio/core/store/storetest"
)

// TestLeader_VanishedLeaderReplaced: the server leading the run-once work
// is cut off from etcd (its connection is cut, as a dead process's or a
// pulled cable's: nothing resigns, nothing revokes its lease). Its work is told to stop once its lease has run out
// by its own count, and the other server's work starts once etcd has
// expired the lease: each within the lease (LeaderTTL) and a few seconds
// (they may overlap by up to a second: the cut-off one counts its lease
// from its last answer and looks every 0.5 s). Stopping the cut-off
// server's election takes no longer than its resign's timeout.
func TestLeader_VanishedLeaderReplaced(t *testing.T) {
	c := etcdtest.Start(t, 3)
	client := func(eps ...string) *clientv3.Client {
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		return cli
	}
	cfg := etcdstore.Config{Site: "lead", RequestTimeout: 2 * time.Second}
	pa := newCutter(t, c.Endpoints()[0])
	la := etcdstore.NewLeader(etcdstore.NewKV(client(pa.addr), cfg), "a")
	lb := etcdstore.NewLeader(etcdstore.NewKV(client(c.Endpoints()...), cfg), "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aEnded, bBegan atomic.Int64
	var wg sync.WaitGroup
	doneA := la.Start(ctx)
	for end := time.Now().Add(10 * time.Second); !la.Leading() && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if !la.Leading() {
		t.Fatal("a did not become the leader")
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		la.Run(ctx, func(c context.Context) {
			<-c.Done()
			aEnded.CompareAndSwap(0, time.Now().UnixNano())
		})
	}()
	doneB := lb.Start(ctx)
	go func() {
		defer wg.Done()
		lb.Run(ctx, func(c context.Context) { bBegan.CompareAndSwap(0, time.Now().UnixNano()); <-c.Done() })
	}()
	time.Sleep(300 * time.Millisecond)
	if lb.Leading() || bBegan.Load() != 0 {
		t.Fatal("b leads while a does")
	}

	pa.cut()
	cut := time.Now()
	limit := time.Duration(etcdstore.LeaderTTL)*time.Second + 4*time.Second
	for end := cut.Add(limit); (bBegan.Load() == 0 || aEnded.Load() == 0) && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if bBegan.Load() == 0 || aEnded.Load() == 0 {
		t.Fatalf("%v after a was cut off: a's work ended %v, b's began %v; want both", limit, aEnded.Load() != 0, bBegan.Load() != 0)
	}
	t.Logf("a's work ended %v after the cut, b's began %v after it",
		time.Duration(aEnded.Load()-cut.UnixNano()), time.Duration(bBegan.Load()-cut.UnixNano()))
	if who, err := lb.Current(context.Background()); err != nil || who != "b" {
		t.Errorf("current leader %q, %v; want b", who, err)
	}
	stopping := time.Now()
	cancel()
	<-doneA
	<-doneB
	wg.Wait()
	// A server cut off from etcd stops within the resign's 2 s, not
	// after a lease grant without deadline and a revoke of up to the TTL.
	if took := time.Since(stopping); took > 3*time.Second {
		t.Errorf("stopping the elections took %v with a cut off; want under 3 s", took)
	}
}

// TestTrimLog_TwoServersAtOnce: two servers trim the audit log at the same
// moment (a leader that lost its lease while trimming and the next one)
// while both append to it: each old entry is removed once, and the chain
// verifies on both servers afterwards.
func TestTrimLog_TwoServersAtOnce(t *testing.T) {
	site, key := newSite(), newKey(t)
	clock := storetest.NewClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	sta, stb := openSite(t, site, key), openSite(t, site, key)
	a, err := core.NewService(sta, core.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	b, err := core.NewService(stb, core.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	// 30 entries a day for 100 days; the default keeps 90 days.
	for d := 0; d < 100; d++ {
		err := sta.Update(func(tx core.Tx) error {
			for i := 0; i < 30; i++ {
				if _, err := tx.AppendLog(core.LogEntry{Time: clock.Now(), Level: core.LevelInfo, Message: fmt.Sprintf("day %d entry %d", d, i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour)
	}
	var wg sync.WaitGroup
	var trimmed [2]int
	for i, svc := range []*core.Service{a, b} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			n, err := svc.TrimLog()
			if err != nil {
				t.Errorf("trim on server %d: %v", i, err)
			}
			trimmed[i] = n
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if err := svc.Log(core.LevelInfo, "", "server %d line %d", i, j); err != nil {
					t.Errorf("log on server %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("trimmed %d on a, %d on b", trimmed[0], trimmed[1])
	if n := trimmed[0] + trimmed[1]; n < 300 || n > 330 {
		t.Errorf("trimmed %d entries in all, want about 300 (each once)", n)
	}
	logs, err := b.Logs(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, e := range logs {
		if strings.HasPrefix(e.Message, "Audit log trimmed: ") {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("%d \"Audit log trimmed\" lines, want 1", lines)
	}
	for i, st := range []*store.Store{sta, stb} {
		if v, err := st.VerifyLog(); err != nil {
			t.Errorf("log chain on server %d: %+v %v", i, v, err)
		}
	}
}

// TestCursor_DeleteConflicts: two servers delete the same keys they found
// by a cursor walk (two log trims): the second commit must fail and run
// again, finding nothing, rather than succeed and count the entries twice
// (the span's compare, "nothing newer than my read", passes on keys
// deleted since). A run of deleted keys (one range delete) and a key
// deleted alone are both checked.
func TestCursor_DeleteConflicts(t *testing.T) {
	for _, n := range []uint64{1, 20} {
		t.Run(fmt.Sprint(n, " keys"), func(t *testing.T) {
			site := newSite()
			a, b := connect(t, site), connect(t, site)
			putRange(t, a, 1, n+5)
			walkDelete := func(kv *etcdstore.KV, between func()) (attempts int, deleted []uint64) {
				t.Helper()
				err := kv.Update(func(tx store.KVTx) error {
					attempts++
					deleted = nil
					c := tx.Bucket(bucketT).Cursor()
					for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= n; k, _ = c.Next() {
						deleted = append(deleted, binary.BigEndian.Uint64(k))
						if err := c.Delete(); err != nil {
							return err
						}
					}
					if attempts == 1 && between != nil {
						between()
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return attempts, deleted
			}
			attempts, deleted := walkDelete(a, func() {
				if _, d := walkDelete(b, nil); len(d) != int(n) {
					t.Fatalf("b deleted %v", d)
				}
			})
			if attempts != 2 || len(deleted) != 0 {
				t.Fatalf("a's walk ran %d times and deleted %v at last; want 2 runs, the second deleting nothing", attempts, deleted)
			}
		})
	}
}

// cutter is a TCP proxy to an etcd member whose cut ends every connection
// and refuses new ones: a server cut off from the cluster, which carries on.
type cutter struct {
	addr  string
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutter{addr: l.Addr().String(), l: l}
	t.Cleanup(p.cut)
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutter) cut() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
