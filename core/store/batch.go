package store

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds the calls one commit carries (bbolt's DefaultMaxBatchSize),
// so that a failing call, which makes the rest of its group run again,
// never repeats an unbounded amount of work.
const maxGroup = 1000

// errLead is sent to a waiting call to make it the next leader; it never
// reaches a caller of do.
var errLead = errors.New("store: lead the next group commit")

// errTrySolo is sent to a call whose fn failed inside a group: it runs
// again alone, so that its failure is its own and fails no other call.
var errTrySolo = errors.New("store: retry the call alone")

// groupCommit is a group commit without an idle wait. Each call joins a
// queue; when no commit is running, the caller becomes the leader: it takes
// every call queued so far (its own included), runs them all in one
// db.Update (one commit, one fsync), hands leadership to the first call that
// queued meanwhile, and only then tells its group the result. So a commit
// starts as soon as the previous one has ended and carries every call that
// arrived while it ran. A lone call commits at once; under load the group
// grows by itself to whatever arrived during one commit. Compare bbolt's
// DB.Batch, which waits MaxBatchDelay for a group to fill unless
// MaxBatchSize calls arrive first.
//
// Every call returns only after the commit that carried it, fsync included,
// has finished, and with that commit's error.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*call // waiting calls, oldest first; queue[0] leads next
	leading bool    // a leader exists (committing, or woken to commit)
}

// call is one Batch waiting for its commit.
type call struct {
	fn func(*bolt.Tx) error
	// done receives the commit's result, errTrySolo, or errLead.
	done chan error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan error, 1)} }}

// do runs fn in a shared write transaction and returns once it is durable.
// fn may run more than once (when another call in its group fails), as
// with bbolt's Batch.
func (g *groupCommit) do(fn func(*bolt.Tx) error) error {
	c := callPool.Get().(*call)
	c.fn = fn
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()

	if !lead {
		// Follower: wait for the result, or for the leader's hand-off.
		if err := <-c.done; err != errLead {
			return g.finish(c, err)
		}
	}
	g.lead()
	return g.finish(c, <-c.done)
}

// finish recycles c (its channel is empty again) and returns err, retrying
// fn alone when its group said so.
func (g *groupCommit) finish(c *call, err error) error {
	fn := c.fn
	c.fn = nil
	callPool.Put(c)
	if err == errTrySolo {
		// Outside any group: the error (or panic) is fn's own.
		return g.db.Update(fn)
	}
	return err
}

// lead commits one group: the calls queued so far, up to maxGroup. The
// caller is queue[0] and is part of the group.
func (g *groupCommit) lead() {
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	group := make([]*call, n)
	copy(group, g.queue)
	rest := copy(g.queue, g.queue[n:])
	clear(g.queue[rest:])
	g.queue = g.queue[:rest]
	g.mu.Unlock()

	for len(group) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, c := range group {
				if err := safeCall(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			// Roll back and try again without it; it runs alone later,
			// in its own goroutine (finish), so a panic surfaces there.
			group[failed].done <- errTrySolo
			group = append(group[:failed], group[failed+1:]...)
			continue
		}
		// Hand the lead over before waking the group, so the next commit
		// starts while this group's callers write their replies.
		g.handOff()
		for _, c := range group {
			c.done <- err
		}
		return
	}
	g.handOff()
}

// handOff makes the oldest waiting call the next leader, or ends leadership
// when nobody waits.
func (g *groupCommit) handOff() {
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
		g.mu.Unlock()
		return
	}
	next := g.queue[0]
	g.mu.Unlock()
	next.done <- errLead
}

// safeCall runs fn, turning a panic into an error so that one bad call
// cannot leave its group waiting forever; the call then runs alone and
// panics in its own goroutine.
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: batch call panicked: %v", p)
		}
	}()
	return fn(tx)
}
