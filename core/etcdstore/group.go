package etcdstore

import (
	"errors"
	"fmt"
	"sync"

	"provisio/core/store"
)

// group is the group commit of Batch: while one Txn is in flight, the calls
// that arrive queue up, and the next Txn carries all of them. Every call
// runs in one shared transaction, each behind a savepoint, so a call whose
// fn fails is taken back alone and returns its own error, and a call that
// would make the Txn too big for the servers waits for the next one. A
// conflict runs the whole group again. Under load this turns many logins
// into one round of consensus, as the bbolt group commit turns them into
// one fsync (core/store/batch.go).
type group struct {
	kv      *KV
	mu      sync.Mutex
	queue   []*gcall
	running bool
}

type gcall struct {
	fn   func(store.KVTx) error
	done chan error
}

func (g *group) do(fn func(store.KVTx) error) error {
	c := &gcall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	return <-c.done
}

// loop commits groups until nobody waits.
func (g *group) loop() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		batch := g.queue
		g.queue = nil
		g.mu.Unlock()
		if rest := g.commit(batch); len(rest) > 0 {
			g.mu.Lock()
			g.queue = append(rest, g.queue...)
			g.mu.Unlock()
		}
	}
}

// commit runs as many of calls as fit in one Txn and commits them; it
// returns the calls left for the next Txn.
func (g *group) commit(calls []*gcall) (rest []*gcall) {
	for attempt := 0; ; attempt++ {
		t := g.kv.newTx(true)
		var undo []undoRec
		t.undo = &undo
		var in []*gcall
		rest = nil
		var stale *gcall // a refusal that rests on cached values since changed
		for i, c := range calls {
			n, ns := t.mark()
			h := len(t.hits)
			err := safeCall(c.fn, t)
			if t.err != nil {
				err = t.err // as in View
			}
			if err != nil {
				failed := t.err != nil
				t.err = nil
				t.rollback(n, ns)
				if hits := t.hits[h:]; !failed && t.down == nil && len(hits) > 0 {
					// A refusal on cached values is the answer only once
					// they are the newest; else the group runs again, as
					// on a conflict, with this call and the rest.
					s, verr := t.staleHits(hits)
					if verr != nil {
						t.down, err = verr, verr
					} else if s {
						stale, rest = c, calls[i+1:]
						break
					}
				}
				t.hits = t.hits[:h]
				c.done <- err
				continue
			}
			if cm, ops := t.size(); (cm > g.kv.maxOps || ops > g.kv.maxOps) && len(in) > 0 {
				// Too big with this call: it and the rest go next time.
				t.rollback(n, ns)
				rest = calls[i:]
				break
			}
			in = append(in, c)
		}
		if t.down != nil {
			// etcd failed a read of this group: its commit would wait
			// out the timeout again and most likely fail too.
			t.abandon()
			answer(in, t.down)
			return rest
		}
		var ok bool
		if stale != nil {
			t.abandon()
			if calls, ok = again(attempt, append(in, stale), rest); !ok {
				return rest
			}
			continue
		}
		if len(in) == 0 {
			return rest
		}
		err := t.commit()
		if errors.Is(err, errConflict) {
			// Everything runs again: reads are fresh this time.
			if calls, ok = again(attempt, in, rest); !ok {
				return rest
			}
			continue
		}
		answer(in, err)
		return rest
	}
}

// again readies a group to run once more, after a conflict or a refusal
// on stale values: the calls in the Txn, then the rest. Once the attempts
// are spent (backoff) it answers each of in with the error instead, and
// ok is false.
func again(attempt int, in, rest []*gcall) (calls []*gcall, ok bool) {
	if err := backoff(attempt); err != nil {
		answer(in, err)
		return nil, false
	}
	return append(in, rest...), true
}

// answer ends each of calls with err (nil: committed).
func answer(calls []*gcall, err error) {
	for _, c := range calls {
		c.done <- err
	}
}

// safeCall runs fn, turning a panic into an error so that one bad call
// cannot leave its group waiting forever.
func safeCall(fn func(store.KVTx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: batch call panicked: %v", p)
		}
	}()
	return fn(t)
}
