// Package store keeps Provisio's state in one bbolt file. It implements
// core.Store; the key layout is in schema.go.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"provisio/core"
)

// FileName is the name of the data file inside the data directory.
const FileName = "provisio.db"

// ErrLocked is returned by Open when another process holds the data file.
var ErrLocked = errors.New("another Provisio is already using this data directory (the service or a console); stop it first (sudo systemctl stop provisio, or close the console): only one may open the data at a time.")

// Options tune Open.
type Options struct {
	// LockTimeout is how long to wait for another process to release the
	// file. Zero means 1 s, so a second copy fails well within 2 s.
	LockTimeout time.Duration
	// MaxBatchDelay selects how Batch groups concurrent writes. Zero, the
	// default, is a group commit without an idle wait: a commit starts as
	// soon as the previous one ends and carries every Batch that arrived
	// meanwhile. A positive value uses bbolt's DB.Batch instead, which waits
	// up to this long for a group to fill; it is kept for comparison
	// (docs/benchmarks.md) and is slower under load.
	MaxBatchDelay time.Duration
	// CheckBudget bounds the time Open spends checking the file's pages.
	// Zero means 5 s; negative skips the page walk (the header pages and
	// the file size are always checked). A file too big to check in time
	// is opened unchecked; Check has no budget.
	CheckBudget time.Duration
	// HeldData, when set, says how the caller knows the data directory
	// has held data before (e.g. "the server certificate cert.pem"), so a
	// missing data file is refused instead of silently created empty.
	HeldData string
	// CreateEmpty allows a new, empty data file where one is missing or
	// zero-length although the directory has held data: the admin's
	// explicit choice to start again.
	CreateEmpty bool
	// Key is the data key (KeySize bytes; LoadKey). With it, secrets are
	// sealed at rest and the audit log is MAC-chained (crypt.go); a file
	// written without one is migrated on open. Nil opens a file that has
	// never been sealed, and refuses one that has.
	Key []byte
	// KeyDir, when Key is nil, is the key directory to read provisio.key
	// from (LoadKey); a file never sealed gets a new key there.
	KeyDir string
	// Actor is who opened the store: the console, the command line, the
	// server for serve (core/actor.go). The store writes a few audit lines
	// of its own (the first encryption of a data file on Open, a key
	// rotation by RotateKey) that no Service writes, and only the opener
	// knows who caused them; they carry Actor.String() like every other
	// line. The zero Actor leaves those lines without an actor.
	Actor core.Actor
}

// Store is a core.Store over the bbolt file (Open) or another key/value
// store through the seam of kv.go (OpenBackend).
type Store struct {
	db *bolt.DB // nil when the records are in kv
	// kv is the key/value store the records are in when it is not the
	// bbolt file (OpenBackend).
	kv    Backend
	group *groupCommit // nil: Batch uses bbolt's timed DB.Batch
	// oathDirty is set when an OATH record is deleted, so that ScrubFree
	// knows free pages may hold a secret (oath.go).
	oathDirty atomic.Bool
	// crypt seals secrets and chains the log; nil for a plain store.
	crypt *sealer
	// newKeyDir, when set, is where setupCrypt makes the data key of a
	// file that has never been sealed.
	newKeyDir, dataDir string
	// users caches decoded user records (usercache.go); logHead the
	// newest log record's MAC (logchain.go).
	users   userCache
	logHead logHead
	// keyDir is Options.KeyDir: where RotateKey writes and a rotation a
	// crash interrupted is finished (rotate.go).
	keyDir string
	// actor is Options.Actor's description for the store's own log
	// lines (ownLog); "" when the opener named no one.
	actor string
	// notices are what Open found and repaired that a person should be
	// told (Notices).
	notices []string
}

var (
	_ core.Store         = (*Store)(nil)
	_ core.SessionKeeper = (*Store)(nil)
)

// Open opens or creates the data file in dir and creates every bucket.
//
// Before bbolt sees an existing file, Open checks it (header pages, size,
// every page, within Options.CheckBudget) and refuses a damaged or empty
// file, or a missing one where the directory has held data, with a
// *FileError. On success it leaves a marker file (MarkerName) so a later
// loss of the data file is noticed.
func Open(dir string, opt Options) (st *Store, err error) {
	if opt.LockTimeout == 0 {
		opt.LockTimeout = time.Second
	}
	if opt.CheckBudget == 0 {
		opt.CheckBudget = 5 * time.Second
	}
	path := filepath.Join(dir, FileName)
	// bbolt panics on some damage the checks below cannot see (a flipped
	// bit inside a page that still looks sound); say so in one sentence.
	defer func() {
		if v := recover(); v != nil {
			st, err = nil, &FileError{Path: path, Problem: FileDamaged, Detail: fmt.Sprintf("the database library stopped on it: %v", v)}
		}
	}()
	if err := precheck(dir, path, opt); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	st = &Store{db: db, dataDir: dir, keyDir: opt.KeyDir, actor: actorOf(opt)}
	if opt.MaxBatchDelay > 0 {
		db.MaxBatchDelay = opt.MaxBatchDelay
	} else {
		st.group = &groupCommit{db: db}
	}
	if err := st.loadKey(opt); err != nil {
		db.Close()
		return nil, err
	}
	err = st.setup(func(fn func(KVTx) error) error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("create bucket %s: %w", b, err)
				}
			}
			return fn(boltKV(tx))
		})
	})
	if err == nil {
		err = st.clearInterruptedRotation()
	}
	if err == nil && st.oathDirty.Load() {
		// Sealing left the plain records on freed pages; overwrite them.
		err = st.ScrubFree(false)
	}
	if err == nil {
		err = writeMarker(dir)
	}
	// These are sentences for the admin already; "open PATH:" would only
	// bury them.
	if errors.Is(err, ErrWrongKey) || errors.Is(err, ErrKeyNeeded) || errors.Is(err, ErrKeyMismatch) || errors.Is(err, ErrNewerFormat) {
		db.Close()
		return nil, err
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return st, nil
}

// actorOf is the description the store's own log lines carry: "" for
// the zero Actor, whose String would otherwise say "the server" for an
// opener that named no one.
func actorOf(opt Options) string {
	if opt.Actor == (core.Actor{}) {
		return ""
	}
	return opt.Actor.String()
}

// ownLog is an INFO line the store writes itself, named for the opener
// (Options.Actor). It goes through AppendLog like a Service's lines, so
// the chain's MAC covers its actor as theirs.
func (s *Store) ownLog(message string) core.LogEntry {
	return core.LogEntry{Time: nowUTC(), Level: core.LevelInfo, Actor: s.actor, Message: message}
}

// loadKey reads the data key (Options.Key or KeyDir); a missing key file
// is made by setupCrypt if the store was never sealed.
func (s *Store) loadKey(opt Options) (err error) {
	if opt.Key == nil && opt.KeyDir != "" {
		opt.Key, err = LoadKey(s.dataDir, opt.KeyDir, false)
		if errors.Is(err, ErrKeyMissing) {
			s.newKeyDir, err = opt.KeyDir, nil
		}
		if err != nil {
			return err
		}
	}
	if opt.Key != nil {
		if s.crypt, err = newSealer(opt.Key); err != nil {
			return err
		}
	}
	return nil
}

// setup, in one transaction run by update, refuses a store of a newer
// data format (format.go), moves old login state, checks the key against
// the store or seals a store never sealed, and records the data format.
// Shared by Open and OpenBackend.
//
// The format check comes first: a newer build's records may mean
// something else, so nothing of them is read or migrated, and the
// refusal returns from the transaction before any write, which rolls it
// back (bbolt) or never commits it (etcd).
func (s *Store) setup(update func(func(KVTx) error) error) error {
	return update(func(tx KVTx) error {
		found, err := checkFormat(tx, s.Path())
		if err != nil {
			return err
		}
		if err := migrateLogins(tx); err != nil {
			return err
		}
		if err := s.setupCrypt(tx); err != nil {
			return err
		}
		// Last, so the number is only raised with the migrations that
		// bring the records up to it, and a key refused above leaves the
		// store as it was.
		return writeFormat(tx, found)
	})
}

// OpenBackend opens the records kept in another key/value store (kv.go),
// such as etcd (core/etcdstore), with the same record code as the bbolt
// file: it reads the data key from opt.Key or opt.KeyDir (made there on
// the first run when the store was never sealed), checks it against the
// store or seals the store, and moves old login state. dataDir is the
// node's data directory, which the key directory must lie outside of.
// Only Key, KeyDir and Actor of opt are used. Close closes b.
func OpenBackend(b Backend, dataDir string, opt Options) (*Store, error) {
	st := &Store{kv: b, dataDir: dataDir, keyDir: opt.KeyDir, actor: actorOf(opt)}
	if err := st.loadKey(opt); err != nil {
		return nil, err
	}
	if err := st.setup(b.Update); err != nil {
		if errors.Is(err, ErrKeyMismatch) && st.rotationUnderway() {
			// The new key without the old (copied as provisio.key).
			return nil, ErrRotationUnfinished
		}
		return nil, err
	}
	if err := st.resumeRotation(); err != nil {
		return nil, err
	}
	return st, nil
}

// Notices are the sentences, one each, saying what Open found left by a
// crash and repaired (a key rotation cut short); the command that opened
// the store shows them. Each is in the audit log too.
func (s *Store) Notices() []string { return s.notices }

// Path returns the data file's path, or where the backend keeps the data
// (e.g. etcd://h1:2379,h2:2379/site).
func (s *Store) Path() string {
	if s.db == nil {
		return s.kv.Where()
	}
	return s.db.Path()
}

// Backend returns the key/value store the records are kept in, nil for
// the bbolt file.
func (s *Store) Backend() Backend { return s.kv }

// SessionTable implements core.SessionKeeper: the backend's table when it
// keeps sessionstart sessions (etcd, shared by several servers), nil for
// the bbolt file, whose sessions stay in the Service's memory.
func (s *Store) SessionTable() core.SessionTable {
	if k, ok := s.kv.(core.SessionKeeper); ok {
		return k.SessionTable()
	}
	return nil
}

// Commits returns the id of the bbolt file's last committed write
// transaction: bbolt adds one with every commit, also one of
// Batch's group commits, and nothing for a write that rolled back. Tests
// of the open surface compare it before and after a run of refused
// requests to prove they cost no durable write (docs/decisions.md,
// "Security audit of the open surface"). It is 0 for another backend,
// which has no such count.
func (s *Store) Commits() (uint64, error) {
	if s.db == nil {
		return 0, nil
	}
	var id uint64
	err := s.db.View(func(tx *bolt.Tx) error { id = uint64(tx.ID()); return nil })
	return id, err
}

// Close closes the data file or the backend.
func (s *Store) Close() error {
	if s.db == nil {
		return s.kv.Close()
	}
	return s.db.Close()
}

// view runs fn in a read transaction of the seam, over either store.
func (s *Store) view(fn func(KVTx) error) error {
	if s.db == nil {
		return s.kv.View(fn)
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(boltKV(tx)) })
}

// EditRaw runs fn in a write transaction over the records exactly as
// they are stored (sealed values, log records with their MACs), past the
// record code, on either backend. It is for tests that alter what
// someone with the file or the etcd cluster but not the key could alter,
// to check that VerifyLog notices (storetest); Provisio never writes
// through it.
func (s *Store) EditRaw(fn func(KVTx) error) error { return s.update(fn) }

// update runs fn in a write transaction of the seam, over either store.
func (s *Store) update(fn func(KVTx) error) error {
	if s.db == nil {
		return s.kv.Update(fn)
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(boltKV(tx)) })
}

// View implements core.Store.
func (s *Store) View(fn func(core.Tx) error) error {
	if s.db == nil {
		return s.kv.View(func(tx KVTx) error { return fn(&txn{tx: tx, s: s}) })
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(&txn{tx: boltKV(tx), s: s}) })
}

// Update implements core.Store.
func (s *Store) Update(fn func(core.Tx) error) error {
	if s.db == nil {
		return s.kv.Update(func(tx KVTx) error { return fn(&txn{tx: tx, s: s}) })
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&txn{tx: boltKV(tx), s: s}) })
}

// Batch implements core.Store with a group commit (batch.go): concurrent
// calls share one commit and one fsync, and each returns once that commit
// is durable.
func (s *Store) Batch(fn func(core.Tx) error) error {
	if s.db == nil {
		return s.kv.Batch(func(tx KVTx) error { return fn(&txn{tx: tx, s: s}) })
	}
	f := func(tx *bolt.Tx) error { return fn(&txn{tx: boltKV(tx), s: s}) }
	if s.group == nil {
		return s.db.Batch(f)
	}
	return s.group.do(f)
}

// txn adapts a transaction of the seam (kv.go) to core.Tx.
type txn struct {
	tx KVTx
	s  *Store
}

func (t *txn) getJSON(bucket, key []byte, v any) error {
	data := t.tx.Bucket(bucket).Get(key)
	if data == nil {
		return core.ErrNotFound
	}
	// json.Unmarshal copies, so nothing refers to bbolt's mmap afterwards.
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (t *txn) putJSON(bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	return t.tx.Bucket(bucket).Put(key, data)
}

func (t *txn) delete(bucket, key []byte) error { return t.tx.Bucket(bucket).Delete(key) }
