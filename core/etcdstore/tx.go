package etcdstore

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/store"
)

// tx is one transaction over etcd: a store.KVTx.
type tx struct {
	kv    *KV
	write bool
	// rev is the revision every etcd read of this transaction is made
	// at (0 until the first one sets it), so a View sees one snapshot
	// and the ranges of a write transaction are checked against it.
	rev int64
	// reads holds the mod revision of each key read by point (0 for a
	// missing key); the commit compares them.
	reads map[string]read
	// spans are the key ranges cursors read, all at rev.
	spans []span
	// writes are the buffered changes: a nil value deletes the key.
	writes map[string][]byte
	dels   map[string]bool
	// undo, when set (group commit), records how to take back changes.
	undo *[]undoRec
	// spanAt is where each memoized range's span is in spans.
	spanAt map[string]int
	// ranges memoizes the cursor reads: all are at rev, so a second walk
	// of the same range (each log append finds the newest entry) costs
	// no round trip.
	ranges map[string]*rangePage
	// err is the first failed etcd read: Get cannot return it, so the
	// transaction fails when fn returns.
	err error
	// down is the first failed etcd read of the transaction; unlike err,
	// a group commit's rollback of one call keeps it, so every later
	// read fails at once with it.
	down error
	// hits are the values fn took from the node's cache (KV.cache). A
	// commit checks them; a refusal (fn's error) checks them with
	// staleHits before it is the answer, since another server may have
	// changed them since this node cached them.
	hits []hit
}

// hit is a value a transaction took from the node's cache: its key and
// the mod revision cached with it.
type hit struct {
	key string
	rev int64
}

// span is a range of keys a cursor read, [from, to), and the keys it
// returned.
type span struct {
	from, to string
	keys     []string
	// rev is the revision the range was read at: the transaction's, or
	// an earlier commit's for a bucket end taken from KV.tails.
	rev int64
	// tail is the bucket prefix when the span reaches the bucket's end.
	tail string
}

// read is one point read of a write transaction.
type read struct {
	rev int64 // mod revision; 0: the key did not exist
	val []byte
	// cached: the value came from the node's cache, not from etcd in
	// this transaction.
	cached bool
}

type undoRec struct {
	key    string
	val    []byte
	had    bool // key was in writes before
	wasDel bool
	read   bool // a reads entry was added
	nspans int
	setRev bool
}

func (kv *KV) newTx(write bool) *tx {
	t := &tx{kv: kv, write: write}
	if write {
		t.reads = map[string]read{}
		t.writes = map[string][]byte{}
		t.dels = map[string]bool{}
	}
	return t
}

func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// Bucket implements store.KVTx.
func (t *tx) Bucket(name []byte) store.KVBucket {
	p := t.kv.prefix + string(name) + "/"
	return &bucket{t: t, name: string(name), prefix: p, end: t.kv.prefix + string(name) + "0"}
}

// getRev reads at the transaction's revision, fixing it on first use.
func (t *tx) getRev(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.down != nil {
		// A read of this transaction already failed: the rest fail at
		// once rather than each waiting out the request timeout (a
		// login reads several keys; a group commit runs many logins).
		return nil, t.down
	}
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	ctx, cancel := t.kv.ctx()
	defer cancel()
	resp, err := t.kv.cli.Get(ctx, key, opts...)
	if err != nil {
		t.down = readError(err)
		return nil, t.down
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
		if t.undo != nil {
			*t.undo = append(*t.undo, undoRec{setRev: true})
		}
	}
	return resp, nil
}

// get returns the value of a full key as this transaction sees it.
func (t *tx) get(key string) []byte {
	if t.write {
		if v, ok := t.writes[key]; ok {
			return v
		}
		if t.dels[key] {
			return nil
		}
		if r, ok := t.reads[key]; ok {
			if r.cached {
				t.hits = append(t.hits, hit{key, r.rev})
			}
			return r.val
		}
		// A write transaction may use the cache: the commit checks the
		// revision it read.
		if e, ok := t.kv.cache.get(key); ok {
			t.noteRead(key, read{rev: e.rev, val: e.val, cached: true})
			t.hits = append(t.hits, hit{key, e.rev})
			return e.val
		}
	}
	resp, err := t.getRev(key)
	if err != nil {
		t.fail(err)
		return nil
	}
	var r read
	if len(resp.Kvs) == 1 {
		r = read{rev: resp.Kvs[0].ModRevision, val: resp.Kvs[0].Value}
	}
	if t.write {
		t.noteRead(key, r)
		t.kv.cache.put(key, centry{rev: r.rev, val: r.val})
	}
	return r.val
}

func (t *tx) noteRead(key string, r read) {
	t.reads[key] = r
	if t.undo != nil {
		*t.undo = append(*t.undo, undoRec{key: key, read: true})
	}
}

func (t *tx) put(key string, val []byte) error {
	if !t.write {
		return fmt.Errorf("etcdstore: write in a read-only transaction")
	}
	t.note(key)
	t.writes[key] = bytes.Clone(val)
	delete(t.dels, key)
	return nil
}

func (t *tx) del(key string) error {
	if !t.write {
		return fmt.Errorf("etcdstore: write in a read-only transaction")
	}
	t.note(key)
	delete(t.writes, key)
	t.dels[key] = true
	return nil
}

// note records key's buffered state before a change, for rollback.
func (t *tx) note(key string) {
	if t.undo == nil {
		return
	}
	v, had := t.writes[key]
	*t.undo = append(*t.undo, undoRec{key: key, val: v, had: had, wasDel: t.dels[key]})
}

// mark returns a savepoint for rollback.
func (t *tx) mark() (int, int) { return len(*t.undo), len(t.spans) }

// rollback takes back every change since the savepoint.
func (t *tx) rollback(n, nspans int) {
	u := *t.undo
	for i := len(u) - 1; i >= n; i-- {
		r := u[i]
		switch {
		case r.setRev:
			t.rev = 0
			clear(t.ranges)
		case r.read:
			delete(t.reads, r.key)
		default:
			delete(t.writes, r.key)
			delete(t.dels, r.key)
			if r.had {
				t.writes[r.key] = r.val
			}
			if r.wasDel {
				t.dels[r.key] = true
			}
		}
	}
	*t.undo = u[:n]
	t.spans = t.spans[:nspans]
}

// abandon forgets the cached values this transaction read, after a
// failure or a conflict.
func (t *tx) abandon() {
	if t.write {
		t.kv.cache.drop(t.reads)
		t.kv.tails.forget(t.spans)
	}
}

// staleHits reports whether any of hits, values a refused call took from
// the node's cache, has changed in etcd since it was cached: then the
// refusal may rest on another server's old record (a user it deleted and
// another server added again), and the call must run again. The newest
// values go into the cache. It is one read-only Txn (compares, and reads
// on failure), so a refusal still costs no write; a refusal that used no
// cached value costs nothing more.
func (t *tx) staleHits(hits []hit) (bool, error) {
	seen := map[string]bool{}
	var cmps []clientv3.Cmp
	var gets []clientv3.Op
	var keys []string
	for _, h := range hits {
		if seen[h.key] {
			continue
		}
		seen[h.key] = true
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(h.key), "=", h.rev))
		gets = append(gets, clientv3.OpGet(h.key))
		keys = append(keys, h.key)
	}
	if len(cmps) > t.kv.maxOps {
		// Too many to check at once: forget them, so the rerun reads
		// each from etcd.
		t.kv.cache.dropKeys(keys)
		return true, nil
	}
	ctx, cancel := t.kv.ctx()
	defer cancel()
	resp, err := t.kv.cli.Txn(ctx).If(cmps...).Else(gets...).Commit()
	if err != nil {
		return false, readError(err)
	}
	if resp.Succeeded {
		return false, nil
	}
	for i, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil || i >= len(keys) {
			continue
		}
		e := centry{}
		if len(rr.Kvs) == 1 {
			e = centry{rev: rr.Kvs[0].ModRevision, val: rr.Kvs[0].Value}
		}
		t.kv.cache.put(keys[i], e)
	}
	return true, nil
}

// size is the number of compares and writes the commit will carry.
func (t *tx) size() (cmps, ops int) {
	return len(t.reads) + len(t.spans), len(t.writes) + len(t.dels)
}

// commit sends the transaction as one Txn. It returns errConflict when
// another writer changed what it read.
func (t *tx) commit() error {
	cmps := make([]clientv3.Cmp, 0, len(t.reads)+len(t.spans))
	// On a conflict the Txn's Else reads the current value of every key
	// read, into the cache, so the rerun costs no round trip per key.
	var elseOps []clientv3.Op
	var elseKeys []string
	for k, r := range t.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", r.rev))
		elseOps = append(elseOps, clientv3.OpGet(k))
		elseKeys = append(elseKeys, k)
	}
	budget := t.kv.maxOps - len(t.reads)
	ops, spanCmps, ranged := t.rangeOps(budget)
	cmps = append(cmps, spanCmps...)
	for k, v := range t.writes {
		ops = append(ops, clientv3.OpPut(k, string(v)))
	}
	for k := range t.dels {
		if !ranged[k] {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	if len(ops) == 0 && len(cmps) == 0 {
		return nil
	}
	if len(ops) > t.kv.maxOps || len(cmps) > t.kv.maxOps {
		t.abandon()
		return fmt.Errorf("the change is too big for one etcd transaction (%d writes, %d checks; the servers allow %d, their --max-txn-ops)", len(ops), len(cmps), t.kv.maxOps)
	}
	ctx, cancel := t.kv.ctx()
	defer cancel()
	resp, err := t.kv.cli.Txn(ctx).If(cmps...).Then(ops...).Else(elseOps...).Commit()
	if err != nil {
		t.abandon()
		return commitError(err)
	}
	if !resp.Succeeded {
		t.kv.tails.forget(t.spans)
		for i, r := range resp.Responses {
			rr := r.GetResponseRange()
			if rr == nil || i >= len(elseKeys) {
				continue
			}
			e := centry{}
			if len(rr.Kvs) == 1 {
				e = centry{rev: rr.Kvs[0].ModRevision, val: rr.Kvs[0].Value}
			}
			t.kv.cache.put(elseKeys[i], e)
		}
		return errConflict
	}
	rev := resp.Header.Revision
	t.kv.tails.wrote(t.kv.prefix, t.writes)
	t.kv.tails.committed(t, rev)
	for k, v := range t.writes {
		t.kv.cache.put(k, centry{val: v, rev: rev})
	}
	for k := range t.dels {
		t.kv.cache.put(k, centry{})
	}
	return nil
}

// rangeOps turns the spans cursors read into compares ("no key in the
// range changed or appeared since rev"), plus a compare of each key read
// inside a range while the budget of compares allows, so a concurrent
// deletion is seen too. A run of keys the transaction deletes that is the
// whole of what a span read between its ends becomes one range delete
// (the log trim deletes thousands of entries in one transaction).
func (t *tx) rangeOps(budget int) (ops []clientv3.Op, cmps []clientv3.Cmp, ranged map[string]bool) {
	if len(t.spans) == 0 {
		return nil, nil, nil
	}
	spans := mergeSpans(t.spans)
	ranged = map[string]bool{}
	budget -= len(spans)
	for _, s := range spans {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.from).WithRange(s.to), "<", s.rev+1))
		// Runs of deleted keys.
		run := []string{}
		// exists compares that a key the span read is still there: the
		// span's own compare cannot see a key deleted since (deleting
		// leaves nothing newer behind), so without it two servers
		// deleting the same keys, such as two log trims, both succeed.
		exists := func(k string) {
			if _, point := t.reads[k]; point || budget <= 0 {
				return // a point read's compare sees the deletion
			}
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), ">", 0))
			budget--
		}
		flush := func() {
			if len(run) == 0 {
				return
			}
			// While the budget lasts: a run's first and last keys (a
			// second trim of the same entries fails on the first), then
			// the keys between.
			exists(run[0])
			if len(run) > 1 {
				exists(run[len(run)-1])
			}
			for _, k := range run[1:max(1, len(run)-1)] {
				exists(k)
			}
			if len(run) > 1 && !t.putsWithin(run[0], run[len(run)-1]) {
				ops = append(ops, clientv3.OpDelete(run[0], clientv3.WithRange(run[len(run)-1]+"\x00")))
				for _, k := range run {
					ranged[k] = true
				}
			}
			run = run[:0]
		}
		for _, k := range s.keys {
			if t.dels[k] {
				run = append(run, k)
				continue
			}
			flush()
			if _, point := t.reads[k]; !point && budget > 0 {
				if _, written := t.writes[k]; !written {
					// The span's compare sees a change; this sees a delete.
					cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), ">", 0))
					budget--
				}
			}
		}
		flush()
	}
	return ops, cmps, ranged
}

// mergeSpans unites overlapping spans (all read at one revision).
func mergeSpans(in []span) []span {
	s := slices.Clone(in)
	sort.Slice(s, func(i, j int) bool { return s[i].from < s[j].from })
	var out []span
	for _, x := range s {
		if n := len(out); n > 0 && x.from <= out[n-1].to {
			last := &out[n-1]
			last.to = max(last.to, x.to)
			last.rev = min(last.rev, x.rev)
			last.keys = append(last.keys, x.keys...)
			continue
		}
		x.keys = slices.Clone(x.keys)
		out = append(out, x)
	}
	for i := range out {
		slices.Sort(out[i].keys)
		out[i].keys = slices.Compact(out[i].keys)
	}
	return out
}

// putsWithin reports whether the transaction puts a key in [from, to]: a
// range delete there would clash with the put.
func (t *tx) putsWithin(from, to string) bool {
	for k := range t.writes {
		if k >= from && k <= to {
			return true
		}
	}
	return false
}
