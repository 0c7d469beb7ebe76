// Package etcdstore keeps Provisio's records in an etcd cluster (issue
// #16), so several Provisio servers can share them. It implements the
// bucket/key/value seam of core/store (store.Backend), so the record code,
// sealing, the log chain and login state are the same code as over the
// bbolt file; Open returns a *store.Store.
//
// Keys mirror the bbolt schema (core/store/schema.go) under a prefix per
// site: /provisio/<site>/<bucket>/<key>; a bucket's sequence is the key
// /provisio/<site>/.seq/<bucket>. Outside the records: relayed events
// (.events/, events.go), the leader election (.leader, leader.go) and
// sessionstart sessions (.sessions/, sessions.go).
//
// Transactions are optimistic and serializable. Reads record the mod
// revision of each key read (0 for a missing key) and, for cursor walks,
// the key range read with the revision it was read at; writes are
// buffered. Commit is one etcd Txn whose If compares every read key's mod
// revision and every range's "nothing newer than when I read it", and
// whose Then holds the writes. When the compares fail another writer came
// first: the transaction runs again from the start. etcd answers a Txn
// only once a quorum of members has accepted it, so a nil from Update or
// Batch means the change survives the loss of any minority of members.
package etcdstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"provisio/core/store"
)

// Config says where the cluster is and how to reach it.
type Config struct {
	// Endpoints are the members' client addresses, host:port.
	Endpoints []string
	// Site names this Provisio installation inside the cluster; every
	// key is under /provisio/<Site>/. Empty means "default".
	Site string
	// TLS, when set, is used for every connection (ParseURL with CA,
	// certificate and key files builds it).
	TLS *tls.Config
	// DialTimeout bounds the first connection. Zero means RequestTimeout
	// when that is set (request-timeout in the address), 5 s otherwise.
	DialTimeout time.Duration
	// RequestTimeout bounds one read or commit, including retries by
	// the client after a member fails. Zero means 10 s.
	RequestTimeout time.Duration
	// MaxTxnOps is the most compares (and writes) one commit may carry:
	// the servers' --max-txn-ops (etcd's default is 128). A group of
	// concurrent Batch calls is cut to fit it. Zero means 128.
	MaxTxnOps int
}

// DefaultSite is the site used when the URL names none.
const DefaultSite = "default"

// ParseURL reads etcd://host1:2379,host2:2379,host3:2379[/site][?max-txn-ops=N&request-timeout=D]
// (N as the servers' --max-txn-ops, default 128; D bounds one read or
// commit, default 10s: how long a request waits without a quorum). With
// caFile, certFile and keyFile (any may be empty) the connections use TLS:
// caFile verifies the members, certFile and keyFile authenticate Provisio.
func ParseURL(raw, caFile, certFile, keyFile string) (Config, error) {
	var c Config
	// A password written into the address is never repeated: the
	// sentences reach terminals, dialogs and journals.
	shown := userInfo.ReplaceAllString(raw, "***@")
	rest, ok := strings.CutPrefix(raw, "etcd://")
	if !ok {
		return c, addressErr("the store %q is not an etcd:// address; write it as etcd://host1:2379,host2:2379,host3:2379", shown)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, site, _ := strings.Cut(rest, "/")
	if strings.Contains(hosts, "@") {
		// Provisio would not send it, and Where would show it on the
		// Server screen: etcd authenticates Provisio by its certificate.
		return c, addressErr("the store address %q cannot carry a user or password (before @): Provisio does not send them; remove them, and give etcd a client certificate with --etcd-cert and --etcd-key instead", shown)
	}
	site = strings.Trim(site, "/")
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return c, addressErr("the store address %q has a bad query: %v", shown, err)
		}
		if v := q.Get("max-txn-ops"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return c, addressErr("max-txn-ops=%q in the store address is not a positive number", v)
			}
			c.MaxTxnOps = n
		}
		if v := q.Get("request-timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
				return c, addressErr("request-timeout=%q in the store address is not a duration between 100ms and 5m (write it as 3s)", v)
			}
			c.RequestTimeout = d
		}
	}
	if site != "" {
		if s, err := url.PathUnescape(site); err == nil {
			site = s
		}
		if strings.ContainsAny(site, "/ ") {
			return c, addressErr("the site %q in the store address must be one word without slashes or spaces", site)
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			h += ":2379"
		}
		c.Endpoints = append(c.Endpoints, h)
	}
	if len(c.Endpoints) == 0 {
		return c, addressErr("the store %q names no etcd member; write it as etcd://host1:2379,host2:2379,host3:2379", shown)
	}
	c.Site = site
	if caFile == "" && certFile == "" && keyFile == "" {
		return c, nil
	}
	if (certFile == "") != (keyFile == "") {
		return c, addressErr("--etcd-cert and --etcd-key go together: give both or neither")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return c, fmt.Errorf("read the etcd CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("the etcd CA %s holds no PEM certificate", caFile)
		}
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return c, fmt.Errorf("load the etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	c.TLS = tc
	return c, nil
}

// AddressError is a ParseURL error in how the store was written (the
// address, or the TLS flags given together), as against a file it could
// not read: a command exits with its usage code for it.
type AddressError struct{ msg string }

func (e *AddressError) Error() string { return e.msg }

func addressErr(format string, args ...any) error {
	return &AddressError{msg: fmt.Sprintf(format, args...)}
}

// userInfo matches a user name and password before a host of a store
// address (ParseURL).
var userInfo = regexp.MustCompile(`[^/,@?]*@`)

// IsURL reports whether s names an etcd store rather than a data file.
func IsURL(s string) bool { return strings.HasPrefix(s, "etcd://") }

// KV is the etcd side of the seam: a store.Backend.
type KV struct {
	cli     *clientv3.Client
	cfg     Config
	prefix  string // /provisio/<site>/
	timeout time.Duration
	maxOps  int
	cache   cache
	tails   tails
	group   group
	// sessions are the site's sessionstart sessions (sessions.go).
	sessions sessionTable
	owned    bool // Close closes cli
}

var _ store.Backend = (*KV)(nil)

// DefaultDialTimeout bounds the first connection when the address sets
// no request-timeout.
const DefaultDialTimeout = 5 * time.Second

// Connect dials the cluster and checks that a member answers, within
// cfg.DialTimeout; the KV's Config holds the timeout it used.
func Connect(cfg Config) (*KV, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
		if cfg.RequestTimeout > 0 {
			// Whoever set how long a request may wait (request-timeout)
			// expects the first one, the connect, to wait as long: a
			// script with 1s must not hang 5 s on a cluster that is down.
			cfg.DialTimeout = cfg.RequestTimeout
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:          cfg.Endpoints,
		DialTimeout:        cfg.DialTimeout,
		TLS:                cfg.TLS,
		MaxCallSendMsgSize: 32 << 20,
		MaxCallRecvMsgSize: 64 << 20,
		Logger:             quietLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	kv := NewKV(cli, cfg)
	kv.owned = true
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, kv.prefix+"config/settings"); err != nil {
		cli.Close()
		return nil, connectError(cfg, err)
	}
	return kv, nil
}

// NewKV uses an existing client; Close leaves it open.
func NewKV(cli *clientv3.Client, cfg Config) *KV {
	if cfg.Site == "" {
		cfg.Site = DefaultSite
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MaxTxnOps == 0 {
		cfg.MaxTxnOps = 128
	}
	kv := &KV{cli: cli, cfg: cfg, prefix: "/provisio/" + cfg.Site + "/", timeout: cfg.RequestTimeout, maxOps: cfg.MaxTxnOps}
	kv.group.kv = kv
	kv.sessions.kv = kv
	kv.cache.m = map[string]centry{}
	kv.tails.m = map[string]string{}
	return kv
}

// Open connects and opens the records with the data key from opt
// (store.OpenBackend); dataDir is this node's data directory.
func Open(cfg Config, dataDir string, opt store.Options) (*store.Store, error) {
	kv, err := Connect(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenBackend(kv, dataDir, opt)
	if err != nil {
		kv.Close()
		return nil, err
	}
	return st, nil
}

// Client returns the etcd client, for watches, elections and the
// cluster's status.
func (kv *KV) Client() *clientv3.Client { return kv.cli }

// Prefix returns the site's key prefix, /provisio/<site>/.
func (kv *KV) Prefix() string { return kv.prefix }

// Config returns the configuration the store was opened with.
func (kv *KV) Config() Config { return kv.cfg }

// Where implements store.Backend.
func (kv *KV) Where() string {
	return "etcd://" + strings.Join(kv.cfg.Endpoints, ",") + "/" + kv.cfg.Site
}

// Close implements store.Backend.
func (kv *KV) Close() error {
	if kv.owned {
		return kv.cli.Close()
	}
	return nil
}

// View implements store.Backend: fn reads at one revision, the newest
// when its first read runs.
func (kv *KV) View(fn func(store.KVTx) error) error {
	t := kv.newTx(false)
	err := fn(t)
	if t.err != nil {
		// A failed read returned nothing, which fn may have taken for a
		// missing record ("There is no user"): the read's error is the
		// answer.
		return t.err
	}
	return err
}

// Update implements store.Backend: fn runs, and runs again on a conflict,
// until its commit succeeds.
func (kv *KV) Update(fn func(store.KVTx) error) error {
	for attempt := 0; ; attempt++ {
		t := kv.newTx(true)
		err := fn(t)
		if t.err != nil {
			err = t.err // as in View
		}
		if err != nil {
			t.abandon()
			if t.err == nil && len(t.hits) > 0 {
				// A refusal on cached values: the answer only once they
				// are the newest.
				stale, verr := t.staleHits(t.hits)
				if verr != nil {
					return verr
				}
				if stale {
					if err := backoff(attempt); err != nil {
						return err
					}
					continue
				}
			}
			return err
		}
		err = t.commit()
		if !errors.Is(err, errConflict) {
			return err
		}
		if err := backoff(attempt); err != nil {
			return err
		}
	}
}

// Batch implements store.Backend with a group commit: concurrent calls
// share one Txn (group.go).
func (kv *KV) Batch(fn func(store.KVTx) error) error { return kv.group.do(fn) }

// maxAttempts bounds the reruns of one transaction under contention.
const maxAttempts = 200

// errConflict is a commit whose compares failed: another writer changed
// what the transaction read.
var errConflict = errors.New("etcdstore: conflict")

// ErrContended is returned when a transaction kept conflicting.
var ErrContended = errors.New("the change kept conflicting with changes made by other Provisio servers; try again")

func backoff(attempt int) error {
	if attempt >= maxAttempts {
		return ErrContended
	}
	if attempt > 2 {
		time.Sleep(time.Duration(min(attempt, 20)) * 500 * time.Microsecond)
	}
	return nil
}

// ctx returns a context bounded by the request timeout.
func (kv *KV) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), kv.timeout)
}

// cache keeps the values this node read or wrote last, with their mod
// revisions, so that a write transaction's point reads cost no round
// trip. It is only a guess: every value used is checked at commit by its
// mod revision, and a failed commit drops what it read from the cache.
type cache struct {
	mu sync.Mutex
	m  map[string]centry
}

type centry struct {
	rev int64  // mod revision; 0 when the key does not exist
	val []byte // nil: the key does not exist
}

// maxCache bounds the cache; when full it starts again empty.
const maxCache = 1 << 17

func (c *cache) get(k string) (centry, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	return e, ok
}

func (c *cache) put(k string, e centry) {
	c.mu.Lock()
	if len(c.m) >= maxCache {
		clear(c.m)
	}
	c.m[k] = e
	c.mu.Unlock()
}

func (c *cache) dropKeys(keys []string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.m, k)
	}
	c.mu.Unlock()
}

func (c *cache) drop(keys map[string]read) {
	c.mu.Lock()
	for k := range keys {
		delete(c.m, k)
	}
	c.mu.Unlock()
}

// tails remembers, per bucket, the newest key this node saw in it (read
// at a bucket's end or written by a commit), so that Last can read forward
// from there (cursor.fetchTail). Like the cache it is only a guess: a key
// since deleted or a lower one only costs the usual backward read.
type tails struct {
	mu sync.Mutex
	m  map[string]string // bucket prefix -> full key
	// ends holds, per bucket, its newest key as the last commit of this
	// node that appended to it left it (cursor.cachedTail).
	ends map[string]tailEnd
}

// tailEnd is a bucket's newest key, its value and the revision at which
// it was the newest.
type tailEnd struct {
	key string
	val []byte
	rev int64
}

func (h *tails) end(prefix string) (tailEnd, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.ends[prefix]
	return e, ok
}

// committed records the bucket ends t's commit at rev leaves: for each
// range t read up to a bucket's end, when t put a key after every key the
// range held, that key is the bucket's newest at rev (the commit's
// compares made sure no other key came into the range), unless t deleted
// it again.
func (h *tails) committed(t *tx, rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range t.spans {
		if s.tail == "" {
			continue
		}
		var newest string
		for k := range t.writes {
			if k >= s.from && k < s.to && k > newest {
				newest = k
			}
		}
		ok := newest != ""
		for _, k := range s.keys {
			if k >= newest {
				ok = false
			}
		}
		if !ok {
			delete(h.ends, s.tail)
			continue
		}
		if h.ends == nil {
			h.ends = map[string]tailEnd{}
		}
		h.ends[s.tail] = tailEnd{key: newest, val: t.writes[newest], rev: rev}
	}
}

// forget drops the bucket ends of the ranges a failed commit read.
func (h *tails) forget(spans []span) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range spans {
		if s.tail != "" {
			delete(h.ends, s.tail)
		}
	}
}

func (h *tails) get(prefix string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[prefix]
}

// saw records key, the newest key of the bucket at prefix.
func (h *tails) saw(prefix, key string) {
	h.mu.Lock()
	h.m[prefix] = key
	h.mu.Unlock()
}

// wrote moves the hint of a bucket past the keys a commit wrote there
// (appends to the log).
func (h *tails) wrote(site string, keys map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range keys {
		rest, ok := strings.CutPrefix(k, site)
		if !ok {
			continue
		}
		b, _, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		// Only a hint a read set moves: a key written in the middle of a
		// bucket whose end was never read would make Last read forward
		// over the rest of it.
		p := site + b + "/"
		if old, ok := h.m[p]; ok && old < k {
			h.m[p] = k
		}
	}
}

// CompactHistory implements store.HistoryCompactor: it compacts the
// cluster's history up to its current revision, so no earlier value of
// any key is served (every site's: compaction is cluster-wide, and drops
// only values that have been replaced). The members' files keep the
// freed pages, values included, until each is defragmented.
func (kv *KV) CompactHistory() error {
	ctx, cancel := kv.ctx()
	defer cancel()
	resp, err := kv.cli.Get(ctx, kv.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return readError(err)
	}
	_, err = kv.cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) { // compacted since: done
		return commitError(err)
	}
	return nil
}

// stepBytes bounds the keys and values one step of a key rotation
// writes: under etcd's default --max-request-bytes (1.5 MiB), with room
// for the step's compares and the last step's own writes.
const stepBytes = 1 << 20

// StepLimits implements store.StepLimits: a key rotation works in
// transactions of at most the servers' --max-txn-ops writes and about
// 1 MiB each.
func (kv *KV) StepLimits() (ops, bytes int) { return kv.maxOps, stepBytes }
