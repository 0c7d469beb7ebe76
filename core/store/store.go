// Package store keeps Provisio's state in one bbolt file. It implements
// core.Store; the key layout is in schema.go.
package store

import (
	"encoding/binary"
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
var ErrLocked = errors.New("another Provisio is already using this data directory; close it first (only one copy may open the data at a time)")

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
}

var _ core.Store = (*Store)(nil)

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
	st = &Store{db: db, dataDir: dir, keyDir: opt.KeyDir}
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
	if err == nil && st.oathDirty.Load() {
		// Sealing left the plain records on freed pages; overwrite them.
		err = st.ScrubFree(false)
	}
	if err == nil {
		err = writeMarker(dir)
	}
	if errors.Is(err, ErrWrongKey) || errors.Is(err, ErrKeyNeeded) || errors.Is(err, ErrKeyMismatch) {
		db.Close()
		return nil, err
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return st, nil
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

// setup, in one transaction run by update, moves old login state and
// checks the key against the store or seals a store never sealed. Shared
// by Open and OpenBackend.
func (s *Store) setup(update func(func(KVTx) error) error) error {
	return update(func(tx KVTx) error {
		if err := migrateLogins(tx); err != nil {
			return err
		}
		return s.setupCrypt(tx)
	})
}

// OpenBackend opens the records kept in another key/value store (kv.go),
// such as etcd (core/etcdstore), with the same record code as the bbolt
// file: it reads the data key from opt.Key or opt.KeyDir (made there on
// the first run when the store was never sealed), checks it against the
// store or seals the store, and moves old login state. dataDir is the
// node's data directory, which the key directory must lie outside of.
// Only Key and KeyDir of opt are used. Close closes b.
func OpenBackend(b Backend, dataDir string, opt Options) (*Store, error) {
	st := &Store{kv: b, dataDir: dataDir, keyDir: opt.KeyDir}
	if err := st.loadKey(opt); err != nil {
		return nil, err
	}
	if err := st.setup(b.Update); err != nil {
		return nil, err
	}
	return st, nil
}

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

func userKey(name string) []byte { return []byte(core.Key(name)) }

func (t *txn) User(name string) (u core.User, err error) {
	key := userKey(name)
	v := t.tx.Bucket(bucketUsers).Get(key)
	if v == nil {
		return u, core.ErrNotFound
	}
	if u, err = t.s.users.decode(key, v); err != nil {
		return u, err
	}
	return t.openUser(key, u)
}

func (t *txn) PutUser(u core.User) error {
	key := userKey(u.Name)
	return t.putJSON(bucketUsers, key, t.sealUser(key, u))
}

// DeleteUser deletes the user record, the user's login state and the
// diagnostic logs their phone uploaded.
func (t *txn) DeleteUser(name string) error {
	if err := t.delete(bucketLogins, userKey(name)); err != nil {
		return err
	}
	if err := t.delete(bucketClientLogs, userKey(name)); err != nil {
		return err
	}
	return t.delete(bucketUsers, userKey(name))
}

func (t *txn) Users(fn func(core.User) bool) error {
	c := t.tx.Bucket(bucketUsers).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var u core.User
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("decode user %s: %w", k, err)
		}
		u, err := t.openUser(k, u)
		if err != nil {
			return err
		}
		if !fn(u) {
			return nil
		}
	}
	return nil
}

func (t *txn) ProvisionCode(username string) (c core.ProvisionCode, err error) {
	err = t.getJSON(bucketCodes, userKey(username), &c)
	return c, err
}

func (t *txn) PutProvisionCode(username string, c core.ProvisionCode) error {
	return t.putJSON(bucketCodes, userKey(username), c)
}

func (t *txn) DeleteProvisionCode(username string) error {
	return t.delete(bucketCodes, userKey(username))
}

func (t *txn) ProvisionCodes(fn func(string, core.ProvisionCode) bool) error {
	c := t.tx.Bucket(bucketCodes).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var pc core.ProvisionCode
		if err := json.Unmarshal(v, &pc); err != nil {
			return fmt.Errorf("decode code %s: %w", k, err)
		}
		if !fn(string(k), pc) {
			return nil
		}
	}
	return nil
}

func (t *txn) DeviceUser(id string) (string, error) {
	v := t.tx.Bucket(bucketDevices).Get(t.deviceKey(id))
	if v == nil {
		return "", core.ErrNotFound
	}
	return string(v), nil
}

func (t *txn) PutDevice(id, username string) error {
	return t.tx.Bucket(bucketDevices).Put(t.deviceKey(id), []byte(username))
}

func (t *txn) DeleteDevice(id string) error { return t.delete(bucketDevices, t.deviceKey(id)) }

const stringsRecordLen = 1 + core.StringsPerDownload*10

func (t *txn) Strings(username string) (ss core.StringSet, err error) {
	key := userKey(username)
	v := t.tx.Bucket(bucketStrings).Get(key)
	if v == nil {
		return ss, core.ErrNotFound
	}
	if c := t.s.crypt; c != nil {
		if v, err = c.openBytes(v, ad(bucketStrings, key, "strings")); err != nil {
			return ss, fmt.Errorf("strings of %s: %w", username, err)
		}
	}
	if len(v) != stringsRecordLen {
		return ss, fmt.Errorf("decode strings of %s: record is %d bytes, want %d", username, len(v), stringsRecordLen)
	}
	ss.Next = int(v[0])
	for i := range ss.S {
		copy(ss.S[i][:], v[1+i*10:])
	}
	return ss, nil
}

func (t *txn) PutStrings(username string, ss *core.StringSet) error {
	var buf [stringsRecordLen]byte
	buf[0] = byte(ss.Next)
	for i := range ss.S {
		copy(buf[1+i*10:], ss.S[i][:])
	}
	key := userKey(username)
	if c := t.s.crypt; c != nil {
		return t.tx.Bucket(bucketStrings).Put(key, c.sealBytes(buf[:], ad(bucketStrings, key, "strings")))
	}
	return t.tx.Bucket(bucketStrings).Put(key, buf[:])
}

func (t *txn) DeleteStrings(username string) error {
	return t.delete(bucketStrings, userKey(username))
}

func (t *txn) Settings() (s core.Settings, err error) {
	if err = t.getJSON(bucketConfig, keySettings, &s); err != nil {
		return s, err
	}
	if c := t.s.crypt; c != nil {
		if s.Mail.Password, err = c.openString(s.Mail.Password, ad(bucketConfig, keySettings, "smtp.password")); err != nil {
			return s, fmt.Errorf("settings: %w", err)
		}
	}
	return s, nil
}

func (t *txn) PutSettings(s core.Settings) error {
	if c := t.s.crypt; c != nil {
		s.Mail.Password = c.sealString(s.Mail.Password, ad(bucketConfig, keySettings, "smtp.password"))
	}
	return t.putJSON(bucketConfig, keySettings, s)
}

func (t *txn) Agent(name string) (a core.Agent, err error) {
	err = t.getJSON(bucketAgents, []byte(name), &a)
	return a, err
}

func (t *txn) PutAgent(a core.Agent) error {
	if c := t.s.crypt; c != nil {
		a.Secret = c.hash(hashAgent, a.Secret)
	}
	return t.putJSON(bucketAgents, []byte(a.Name), a)
}

func (t *txn) DeleteAgent(name string) error { return t.delete(bucketAgents, []byte(name)) }

func (t *txn) Agents() ([]core.Agent, error) {
	var out []core.Agent
	err := t.tx.Bucket(bucketAgents).ForEach(func(k, v []byte) error {
		var a core.Agent
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode agent %s: %w", k, err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

func (t *txn) AppendLog(e core.LogEntry) (core.LogEntry, error) {
	b := t.tx.Bucket(bucketLog)
	seq, err := b.NextSequence()
	if err != nil {
		return e, err
	}
	e.Seq = seq
	return e, t.putLog(e)
}

func (t *txn) Logs(after uint64, limit int) ([]core.LogEntry, error) {
	var out []core.LogEntry
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], after+1)
	c := t.tx.Bucket(bucketLog).Cursor()
	for k, v := c.Seek(key[:]); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		var e core.LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode log %x: %w", k, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (t *txn) LogTail(limit int) ([]core.LogEntry, error) {
	var out []core.LogEntry
	c := t.tx.Bucket(bucketLog).Cursor()
	for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
		var e core.LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode log %x: %w", k, err)
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func (t *txn) LogSize() (count int, bytes int64, err error) {
	// A cursor walk rather than Bucket.Stats: it counts what the entries
	// take, not the pages around them, and runs in a read transaction.
	c := t.tx.Bucket(bucketLog).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		count++
		bytes += int64(len(k) + len(v))
	}
	return count, bytes, nil
}

func (t *txn) TrimLog(limit int, drop func(core.LogEntry, int) bool) (n int, bytes int64, err error) {
	var lastSeq uint64
	var lastMAC string
	c := t.tx.Bucket(bucketLog).Cursor()
	for k, v := c.First(); k != nil && n < limit; k, v = c.First() {
		var e core.LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return n, bytes, fmt.Errorf("decode log %x: %w", k, err)
		}
		size := len(k) + len(v)
		if !drop(e, size) {
			break
		}
		if t.s.crypt != nil {
			// The newest trimmed entry's MAC becomes the chain's start
			// (logchain.go).
			var r logRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return n, bytes, fmt.Errorf("decode log %x: %w", k, err)
			}
			lastSeq, lastMAC = r.Seq, r.MAC
		}
		if err := c.Delete(); err != nil {
			return n, bytes, err
		}
		n++
		bytes += int64(size)
	}
	if lastSeq != 0 {
		if err := t.putCheckpoint(lastSeq, lastMAC); err != nil {
			return n, bytes, err
		}
	}
	return n, bytes, nil
}

func seqKey(n uint64) []byte {
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], n)
	return key[:]
}

func (t *txn) PutMail(m *core.OutMessage) error {
	if m.ID == 0 {
		id, err := t.tx.Bucket(bucketOutbox).NextSequence()
		if err != nil {
			return err
		}
		m.ID = id
	}
	return t.putJSON(bucketOutbox, seqKey(m.ID), t.sealMail(*m))
}

func (t *txn) Mail(id uint64) (m core.OutMessage, err error) {
	if err = t.getJSON(bucketOutbox, seqKey(id), &m); err != nil {
		return m, err
	}
	return t.openMail(m)
}

func (t *txn) DeleteMail(id uint64) error { return t.delete(bucketOutbox, seqKey(id)) }

func (t *txn) Mails(fn func(core.OutMessage) bool) error {
	c := t.tx.Bucket(bucketOutbox).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var m core.OutMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode outbox %x: %w", k, err)
		}
		m, err := t.openMail(m)
		if err != nil {
			return err
		}
		if !fn(m) {
			return nil
		}
	}
	return nil
}
