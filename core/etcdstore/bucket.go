package etcdstore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/store"
)

// bucket is one bucket of a transaction: the keys under prefix.
type bucket struct {
	t      *tx
	name   string
	prefix string // /provisio/<site>/<bucket>/
	end    string // first key after the bucket's keys
}

func (b *bucket) Get(key []byte) []byte { return b.t.get(b.prefix + string(key)) }

func (b *bucket) Put(key, value []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("etcdstore: empty key in %s", b.name)
	}
	return b.t.put(b.prefix+string(key), value)
}

func (b *bucket) Delete(key []byte) error { return b.t.del(b.prefix + string(key)) }

// seqKey is the counter of the bucket's sequence.
func (b *bucket) seqKey() string { return b.t.kv.prefix + ".seq/" + b.name }

// Sequence implements store.KVBucket: the counter, an 8-byte big-endian
// number, read like any key (and so compared at commit).
func (b *bucket) Sequence() uint64 {
	v := b.t.get(b.seqKey())
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetSequence implements store.KVBucket.
func (b *bucket) SetSequence(n uint64) error {
	return b.t.put(b.seqKey(), binary.BigEndian.AppendUint64(nil, n))
}

// NextSequence implements store.KVBucket: the counter is written in the
// same commit, so two nodes never hand out the same number.
func (b *bucket) NextSequence() (uint64, error) {
	n := b.Sequence() + 1
	if err := b.t.put(b.seqKey(), binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return 0, err
	}
	return n, nil
}

func (b *bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.t.err
}

func (b *bucket) Cursor() store.KVCursor { return &cursor{b: b} }

// pageSize is how many keys one cursor read fetches.
const pageSize = 256

// cursor walks the bucket as the transaction sees it: the keys in etcd at
// the transaction's revision, overlaid with its buffered writes.
type cursor struct {
	b   *bucket
	key string // full key the cursor is on; "" when off the end
	// page holds the etcd keys fetched in direction fwd after (or
	// before) the current key; more says etcd has keys past the page.
	page []kvPair
	fwd  bool
	more bool
	// lastFetched is the last key of the last page.
	lastFetched string
}

type kvPair struct {
	k string
	v []byte
}

func (c *cursor) First() ([]byte, []byte) { return c.position(c.b.prefix, true, true) }
func (c *cursor) Last() ([]byte, []byte)  { return c.position(c.b.end, false, false) }
func (c *cursor) Seek(seek []byte) ([]byte, []byte) {
	return c.position(c.b.prefix+string(seek), true, true)
}

func (c *cursor) Next() ([]byte, []byte) {
	if c.key == "" {
		return nil, nil
	}
	return c.step(true)
}

func (c *cursor) Prev() ([]byte, []byte) {
	if c.key == "" {
		return nil, nil
	}
	return c.step(false)
}

func (c *cursor) Delete() error {
	if c.key == "" {
		return fmt.Errorf("etcdstore: cursor delete off the end of %s", c.b.name)
	}
	return c.b.t.del(c.key)
}

// position fetches a fresh page from from (inclusive when incl) in the
// direction fwd and returns the first visible key.
func (c *cursor) position(from string, fwd, incl bool) ([]byte, []byte) {
	c.fwd = fwd
	c.page, c.more = nil, false
	if err := c.fetch(from, incl); err != nil {
		c.b.t.fail(err)
		c.key = ""
		return nil, nil
	}
	return c.pick(from, incl)
}

// step moves one key in direction fwd from the current key.
func (c *cursor) step(fwd bool) ([]byte, []byte) {
	from := c.key
	if fwd != c.fwd {
		return c.position(from, fwd, false)
	}
	return c.pick(from, false)
}

// backPage is how many keys one backward cursor read fetches: backward
// walks are short (the newest log entry, a log tail).
const backPage = 32

// rangePage is one cursor read as fetched, kept for the transaction: its
// pairs in the read's order, whether etcd has more, and the span it
// covered.
type rangePage struct {
	pairs []kvPair
	more  bool
	sp    span
	// tail is the bucket's newest key as this node's last commit left it
	// (KV.tails), not read from etcd: its key is compared as a point read.
	tail *read
}

// fetch reads a page from etcd in c.fwd's direction from from (itself
// included when incl) and records the span it covered for the commit's
// checks: [from, to) of keys as they were at the transaction's revision.
// A page read before in the transaction is used again as it is (all reads
// are at one revision): each log append finds the newest entry this way
// without a round trip or a copy.
func (c *cursor) fetch(from string, incl bool) error {
	t := c.b.t
	var id, start, end string
	if c.fwd {
		start, end = from, c.b.end
		if !incl {
			start = from + "\x00"
		}
		id = "f" + start
	} else {
		start, end = c.b.prefix, from
		if incl {
			end = from + "\x00"
		}
		id = "b" + end
	}
	pg, seen := t.ranges[id]
	fresh := !seen || t.rev == 0 && pg.tail == nil
	if fresh && !c.fwd {
		// etcd reads a whole range to answer a descending read, however
		// small its limit: the newest log entry would cost a read of the
		// whole log. Take the bucket's end as this node's last commit
		// left it, else read forward from the bucket's last key seen.
		p := c.cachedTail(start, end)
		if p == nil {
			var err error
			if p, err = c.fetchTail(start, end); err != nil {
				return err
			}
		}
		if p != nil {
			pg, seen, fresh = p, false, false
			if t.ranges == nil {
				t.ranges = map[string]*rangePage{}
			}
			t.ranges[id] = pg
		}
	}
	if fresh {
		var resp *clientv3.GetResponse
		var err error
		if c.fwd {
			resp, err = t.getRev(start, clientv3.WithRange(end), clientv3.WithLimit(pageSize))
		} else {
			resp, err = t.getRev(start, clientv3.WithRange(end), clientv3.WithLimit(backPage),
				clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		}
		if err != nil {
			return err
		}
		pg = &rangePage{more: resp.More, sp: span{from: start, to: end, rev: t.rev}}
		for _, kv := range resp.Kvs {
			k := string(kv.Key)
			pg.pairs = append(pg.pairs, kvPair{k, kv.Value})
			pg.sp.keys = append(pg.sp.keys, k)
		}
		if n := len(pg.pairs); n > 0 && pg.more {
			// The span ends at the last key returned.
			if c.fwd {
				pg.sp.to = pg.pairs[n-1].k + "\x00"
			} else {
				pg.sp.from = pg.pairs[n-1].k
			}
		}
		if pg.sp.to == c.b.end {
			pg.sp.tail = c.b.prefix
		}
		if t.ranges == nil {
			t.ranges = map[string]*rangePage{}
		}
		t.ranges[id] = pg
		seen = false
		if n := len(pg.pairs); n > 0 && end == c.b.end {
			// The read reached the bucket's end: its newest key.
			newest := pg.pairs[0].k
			if c.fwd {
				newest = pg.pairs[n-1].k
			}
			if c.fwd && !pg.more || !c.fwd {
				t.kv.tails.saw(c.b.prefix, newest)
			}
		}
	}
	// pick only reslices the page, so it may be shared.
	c.page, c.more = pg.pairs, pg.more
	if n := len(pg.pairs); n > 0 {
		c.lastFetched = pg.pairs[n-1].k
	}
	if t.write {
		if pg.tail != nil {
			// The newest key as a point read, compared at commit (a
			// rollback may have taken it away).
			k := pg.pairs[0].k
			if _, ok := t.reads[k]; !ok {
				t.noteRead(k, *pg.tail)
			}
		}
		// A range walked again is recorded once, unless a rollback took
		// its span away.
		if i, ok := t.spanAt[id]; seen && ok && i < len(t.spans) && t.spans[i].from == pg.sp.from && t.spans[i].to == pg.sp.to {
			return nil
		}
		if t.spanAt == nil {
			t.spanAt = map[string]int{}
		}
		t.spanAt[id] = len(t.spans)
		t.spans = append(t.spans, pg.sp)
	}
	return nil
}

// fetchTail reads the keys of [start, end), the end of the bucket, in
// ascending order from the bucket's last key this node saw (KV.tails), and
// returns them as a backward page: nil when there is no such key in
// [start, end) or none is left there, and the caller reads backward as
// usual. The page's span is [hint, end), all of it read, so the commit's
// range compare sees any key added there; keys before the hint are read
// backward only if the cursor walks past it (more is set).
func (c *cursor) fetchTail(start, end string) (*rangePage, error) {
	t := c.b.t
	if end != c.b.end {
		return nil, nil
	}
	hint := t.kv.tails.get(c.b.prefix)
	if hint == "" || hint < start || hint >= end {
		return nil, nil
	}
	var pairs []kvPair
	from := hint
	for {
		resp, err := t.getRev(from, clientv3.WithRange(end), clientv3.WithLimit(pageSize))
		if err != nil {
			return nil, err
		}
		for _, kv := range resp.Kvs {
			pairs = append(pairs, kvPair{string(kv.Key), kv.Value})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	slices.Reverse(pairs)
	pg := &rangePage{pairs: pairs, more: pairs[len(pairs)-1].k > start, sp: span{from: hint, to: end, rev: t.rev, tail: c.b.prefix}}
	for _, p := range pairs {
		pg.sp.keys = append(pg.sp.keys, p.k)
	}
	t.kv.tails.saw(c.b.prefix, pairs[0].k)
	return pg, nil
}

// cachedTail returns, in a write transaction, the bucket's end as this
// node's last commit that appended to it left it (KV.tails): its newest
// key X with its value and the commit's revision R. At R, [X, end) held X
// alone (that commit's range compare made sure nothing else came in), so
// the page costs no round trip. The commit compares X's mod revision
// with R (X changed or deleted since) and the span [X, end) with "nothing
// newer than R" (another node appended since): either fails the commit,
// which then drops the cached end and runs again from etcd.
func (c *cursor) cachedTail(start, end string) *rangePage {
	t := c.b.t
	if !t.write || end != c.b.end {
		return nil
	}
	e, ok := t.kv.tails.end(c.b.prefix)
	if !ok || e.key < start {
		return nil
	}
	r := read{rev: e.rev, val: e.val}
	return &rangePage{
		pairs: []kvPair{{e.key, e.val}},
		more:  e.key > start,
		sp:    span{from: e.key, to: end, rev: e.rev, tail: c.b.prefix, keys: []string{e.key}},
		tail:  &r,
	}
}

// pick returns the first visible key after from (from itself when incl)
// in c.fwd's direction: the nearer of the next etcd key not overridden by
// the transaction's buffer and the next key the buffer puts.
func (c *cursor) pick(from string, incl bool) ([]byte, []byte) {
	t := c.b.t
	past := func(k string) bool {
		if c.fwd {
			return k > from || incl && k == from
		}
		return k < from || incl && k == from
	}
	// Next etcd key.
	var ek string
	var ev []byte
	for {
		for len(c.page) > 0 && !past(c.page[0].k) {
			c.page = c.page[1:]
		}
		for len(c.page) > 0 && t.write && t.dels[c.page[0].k] {
			c.page = c.page[1:]
		}
		if len(c.page) > 0 && past(c.page[0].k) {
			ek, ev = c.page[0].k, c.page[0].v
			break
		}
		if len(c.page) > 0 {
			continue
		}
		if !c.more {
			break
		}
		if err := c.fetch(c.lastFetched, false); err != nil {
			t.fail(err)
			c.key = ""
			return nil, nil
		}
	}
	// Next buffered put.
	var bk string
	if t.write {
		for k := range t.writes {
			if !strings.HasPrefix(k, c.b.prefix) || !past(k) {
				continue
			}
			if bk == "" || c.fwd && k < bk || !c.fwd && k > bk {
				bk = k
			}
		}
	}
	switch {
	case ek == "" && bk == "":
		c.key = ""
		return nil, nil
	case ek == "" || bk != "" && (c.fwd && bk <= ek || !c.fwd && bk >= ek):
		c.key = bk
		return []byte(bk[len(c.b.prefix):]), t.writes[bk]
	}
	c.key = ek
	if t.write {
		if v, ok := t.writes[ek]; ok {
			ev = v
		}
	}
	return []byte(ek[len(c.b.prefix):]), ev
}
