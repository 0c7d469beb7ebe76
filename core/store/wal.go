package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log (issue #15). bbolt makes a commit durable with two
// fsyncs, the data pages and then the header page, and holds its writer
// lock through both; under load they were three quarters of a login
// group's commit. In WAL mode the bbolt file runs with NoSync, and every
// write transaction's changes (the puts, deletes and sequences it made
// through the seam of kv.go) are appended to provisio.wal, which one
// fdatasync makes durable, shared by every commit that arrived meanwhile.
// The next group commits to bbolt while the previous one's WAL record is
// being synced. A caller returns only once its record is on disk.
//
// Recovery needs a state of the bbolt file that is whole on disk, and the
// records since. That is the checkpoint: the WAL's header holds the header
// page (meta) of a state the file had fsynced, and a read transaction kept
// open on that state stops bbolt from writing over any page it uses. After
// a crash, Open writes the checkpoint's meta back into both header pages,
// so bbolt sees that state again however much of the later, unsynced
// writes reached the disk, and then applies the records in one ordinary
// (fsynced) transaction. A checkpoint (every walCheckpointBytes of records,
// and on Close) fsyncs the file and starts the records afresh under a new
// header. After kill -9 the page cache has every write anyway; the WAL is
// what makes a power cut lose nothing that was acknowledged.
//
// WALName is the file's name in the data directory. Only Open of the bbolt
// file uses it, on 64-bit Linux (walSupported); elsewhere, or with
// Options.NoWAL, every commit is bbolt's own, with its two fsyncs.
const WALName = "provisio.wal"

const (
	walMagic = "PVWAL\x00\x00\x01"
	// walHeaderSize: the header lives alone in the first 4 KiB, so a torn
	// record write cannot touch it.
	walHeaderSize = 4096
	walHeaderUsed = 8 + 8 + 8 + 8 + metaPageBytes + 4
	// metaPageBytes is the part of a header page bbolt reads: the page
	// header and the meta fields with their checksum.
	metaPageBytes = pageHeaderSize + metaSize
	// walCheckpointDefault bytes of records start a checkpoint (tests
	// lower walCheckpointBytes); walChunk is how
	// far ahead the file is filled with zeros, so that a record's
	// fdatasync never also has to log a new file size or extent.
	walCheckpointDefault = 32 << 20
	walChunk             = 4 << 20
	// walGrowth of bbolt file growth (or a quarter of its size, if more)
	// since the checkpoint starts one too: a page freed after it is
	// reused only after the next, so the file would otherwise grow by
	// every page written between two checkpoints.
	walGrowth = 8 << 20
	// walMmapSize is the address space bbolt maps up front in WAL mode: a
	// remap waits for every read transaction, the checkpoint's too, so it
	// must not happen. Past walMaxFile the store leaves WAL mode.
	walMmapSize = 4 << 30
	walMaxFile  = 1 << 30
)

const (
	opPut byte = iota + 1
	opDelete
	opSequence
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// walCheckpointBytes is walCheckpointDefault; tests lower it.
var walCheckpointBytes int64 = walCheckpointDefault

// errWALOff is returned by a commit made after WAL mode was left; the
// caller commits again the ordinary way.
var errWALOff = errors.New("store: the write-ahead log was turned off")

// wal is the WAL of one open bbolt file.
type wal struct {
	db   *bolt.DB
	path string
	f    *os.File
	dev  uint64
	ino  uint64

	// gate: commits hold it shared; a checkpoint holds it alone, so that
	// no commit happens between syncing the file and writing the header.
	gate sync.RWMutex
	// pin is the read transaction on the checkpoint's state.
	pin *bolt.Tx
	// off is set once the store left WAL mode (under gate, exclusive).
	off bool

	mu        sync.Mutex
	cond      sync.Cond
	gen       uint64 // the checkpoint's txid, in every record's checksum
	buf       []byte // framed records not yet written
	spare     []byte
	appended  uint64 // records framed so far
	synced    uint64 // records on disk
	syncing   bool
	err       error // sticky: after a failed write nothing more is acknowledged
	end       int64 // file offset where the next record goes
	allocated int64 // the file is filled with zeros up to here
	ckpt      bool  // a checkpoint is under way or scheduled
	// size is the bbolt file's size in pages at the last commit, and
	// ckptSize at the checkpoint: pages freed since the checkpoint stay
	// unused until the next one, so growth also starts a checkpoint.
	size, ckptSize int64
}

// walRecord collects one transaction's changes in the WAL's encoding.
type walRecord struct{ b []byte }

func (r *walRecord) op(kind byte, bucket, key []byte) {
	r.b = append(r.b, kind)
	r.b = binary.LittleEndian.AppendUint16(r.b, uint16(len(bucket)))
	r.b = append(r.b, bucket...)
	if kind != opSequence {
		r.b = binary.LittleEndian.AppendUint32(r.b, uint32(len(key)))
		r.b = append(r.b, key...)
	}
}

func (r *walRecord) put(bucket, key, value []byte) {
	r.op(opPut, bucket, key)
	r.b = binary.LittleEndian.AppendUint32(r.b, uint32(len(value)))
	r.b = append(r.b, value...)
}

func (r *walRecord) del(bucket, key []byte) { r.op(opDelete, bucket, key) }

func (r *walRecord) seq(bucket []byte, n uint64) {
	r.op(opSequence, bucket, nil)
	r.b = binary.LittleEndian.AppendUint64(r.b, n)
}

// walTx, walBucket and walCursor are the seam over a bbolt transaction
// that also records every change into rec.
type (
	walTx struct {
		tx  *bolt.Tx
		rec *walRecord
	}
	walBucket struct {
		b    *bolt.Bucket
		name []byte
		rec  *walRecord
	}
	walCursor struct {
		c   *bolt.Cursor
		b   *walBucket
		key []byte // where the cursor is, for Delete
	}
)

func (t *walTx) Bucket(name []byte) KVBucket {
	return &walBucket{b: t.tx.Bucket(name), name: name, rec: t.rec}
}

func (b *walBucket) Get(key []byte) []byte { return b.b.Get(key) }
func (b *walBucket) Put(key, value []byte) error {
	if err := b.b.Put(key, value); err != nil {
		return err
	}
	b.rec.put(b.name, key, value)
	return nil
}
func (b *walBucket) Delete(key []byte) error {
	if err := b.b.Delete(key); err != nil {
		return err
	}
	b.rec.del(b.name, key)
	return nil
}
func (b *walBucket) Cursor() KVCursor { return &walCursor{c: b.b.Cursor(), b: b} }
func (b *walBucket) NextSequence() (uint64, error) {
	n, err := b.b.NextSequence()
	if err == nil {
		b.rec.seq(b.name, n)
	}
	return n, err
}
func (b *walBucket) SetSequence(n uint64) error {
	if err := b.b.SetSequence(n); err != nil {
		return err
	}
	b.rec.seq(b.name, n)
	return nil
}
func (b *walBucket) Sequence() uint64                         { return b.b.Sequence() }
func (b *walBucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

func (c *walCursor) at(k, v []byte) ([]byte, []byte)   { c.key = k; return k, v }
func (c *walCursor) First() ([]byte, []byte)           { return c.at(c.c.First()) }
func (c *walCursor) Last() ([]byte, []byte)            { return c.at(c.c.Last()) }
func (c *walCursor) Next() ([]byte, []byte)            { return c.at(c.c.Next()) }
func (c *walCursor) Prev() ([]byte, []byte)            { return c.at(c.c.Prev()) }
func (c *walCursor) Seek(seek []byte) ([]byte, []byte) { return c.at(c.c.Seek(seek)) }
func (c *walCursor) Delete() error {
	// The key is bbolt's memory, valid until the transaction ends; the
	// record copies it now.
	key := c.key
	if err := c.c.Delete(); err != nil {
		return err
	}
	c.b.rec.del(c.b.name, key)
	return nil
}

// startWAL puts the open db into WAL mode: a checkpoint of its current
// state starts the file at path.
func startWAL(db *bolt.DB, path string) (*wal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the write-ahead log: %w", err)
	}
	w := &wal{db: db, path: path, f: f}
	w.cond.L = &w.mu
	if w.dev, w.ino, err = fileID(db.Path()); err != nil {
		f.Close()
		return nil, err
	}
	if fi, err := f.Stat(); err == nil {
		w.allocated = fi.Size()
	}
	db.NoSync = true
	w.gate.Lock()
	err = w.checkpointLocked()
	w.gate.Unlock()
	if err != nil {
		db.NoSync = false
		w.releasePin()
		f.Close()
		return nil, err
	}
	return w, nil
}

// commit runs fn in one bbolt transaction without bbolt's fsyncs and
// queues its changes; wait(seq) then makes them durable. A failed fn
// rolls back and queues nothing. errWALOff: commit again without the WAL.
func (w *wal) commit(fn func(KVTx) error) (seq uint64, err error) {
	w.gate.RLock()
	defer w.gate.RUnlock()
	if w.off {
		return 0, errWALOff
	}
	rec := walRecord{}
	err = w.db.Update(func(tx *bolt.Tx) error {
		rec.b = rec.b[:0]
		if err := fn(&walTx{tx: tx, rec: &rec}); err != nil {
			return err
		}
		// Runs after the commit succeeded, still under bbolt's writer
		// lock: the records queue in commit order.
		size := tx.Size() // the file before this commit: near enough
		tx.OnCommit(func() { seq = w.enqueue(rec.b, size) })
		return nil
	})
	return seq, err
}

// enqueue frames a record and returns its number. A transaction that
// changed nothing gets the number of the last record: what it read must
// be durable before it answers.
func (w *wal) enqueue(payload []byte, size int64) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size = size
	if len(payload) == 0 {
		return w.appended
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(payload)))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, recordCRC(w.gen, payload))
	w.buf = append(w.buf, payload...)
	w.appended++
	return w.appended
}

func recordCRC(gen uint64, payload []byte) uint32 {
	var g [8]byte
	binary.LittleEndian.PutUint64(g[:], gen)
	return crc32.Update(crc32.Update(0, crcTable, g[:]), crcTable, payload)
}

// wait returns once record seq is on disk: the first waiter writes and
// syncs everything queued, and the others wait for it (a group commit of
// the WAL file). It schedules a checkpoint when the records grew large.
func (w *wal) wait(seq uint64) error {
	w.mu.Lock()
	for w.synced < seq && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		w.syncLocked()
	}
	err := w.err
	big := !w.ckpt && (w.end > walCheckpointBytes || w.size > w.ckptSize+max(walGrowth, w.ckptSize/4))
	if big {
		w.ckpt = true
	}
	w.mu.Unlock()
	if big {
		go w.checkpoint()
	}
	if err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	return nil
}

// syncLocked writes and syncs the queued records; w.mu is held, and is
// released during the I/O.
func (w *wal) syncLocked() {
	w.syncing = true
	buf, upto, at := w.buf, w.appended, w.end
	w.buf = w.spare[:0]
	w.end += int64(len(buf))
	w.mu.Unlock()
	err := w.writeAt(buf, at)
	w.mu.Lock()
	w.spare = buf
	w.syncing = false
	if err != nil {
		w.err = err
	} else {
		w.synced = upto
	}
	w.cond.Broadcast()
}

// writeAt writes buf at off and syncs it, zero-filling the next chunk
// first when the file would grow.
func (w *wal) writeAt(buf []byte, off int64) error {
	if len(buf) == 0 {
		return nil
	}
	if need := off + int64(len(buf)); need > w.allocated {
		// From the end of what is there, never over the header.
		from := max(w.allocated, walHeaderSize)
		size := (need/walChunk + 1) * walChunk
		if _, err := w.f.WriteAt(make([]byte, size-from), from); err != nil {
			return err
		}
		w.allocated = size
	}
	if _, err := w.f.WriteAt(buf, off); err != nil {
		return err
	}
	return fdatasync(w.f)
}

// checkpoint runs one checkpoint (scheduled by wait).
func (w *wal) checkpoint() {
	// Most of the sync first, while commits go on, so the one under the
	// lock, which stalls them, has only the last few pages to write (a
	// checkpoint took 20-25 ms under load with all of it under the lock).
	// An error shows again in the sync below.
	_ = w.db.Sync()
	w.gate.Lock()
	defer w.gate.Unlock()
	if !w.off {
		// An error is sticky in w.err, so the next commit reports it.
		_ = w.checkpointLocked()
	}
}

// checkpointLocked syncs the bbolt file, writes its header page into a new
// WAL header and moves the pin to that state. gate is held exclusively, so
// no commit runs. Every queued record is synced first: a crash before the
// new header is on disk recovers from the old one and its records.
func (w *wal) checkpointLocked() error {
	w.mu.Lock()
	for w.syncing {
		w.cond.Wait()
	}
	if w.synced < w.appended && w.err == nil {
		w.syncLocked()
	}
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	fail := func(err error) error {
		w.mu.Lock()
		w.err = err
		w.ckpt = false
		w.mu.Unlock()
		return err
	}
	if err := w.db.Sync(); err != nil {
		return fail(fmt.Errorf("sync the data file: %w", err))
	}
	page, txid, err := currentMeta(w.db.Path())
	if err != nil {
		return fail(err)
	}
	hdr := make([]byte, walHeaderSize)
	copy(hdr, walMagic)
	binary.LittleEndian.PutUint64(hdr[8:], txid)
	binary.LittleEndian.PutUint64(hdr[16:], w.dev)
	binary.LittleEndian.PutUint64(hdr[24:], w.ino)
	copy(hdr[32:], page)
	binary.LittleEndian.PutUint32(hdr[walHeaderUsed-4:], crc32.Checksum(hdr[:walHeaderUsed-4], crcTable))
	if _, err := w.f.WriteAt(hdr, 0); err != nil {
		return fail(fmt.Errorf("write the write-ahead log: %w", err))
	}
	if err := fdatasync(w.f); err != nil {
		return fail(fmt.Errorf("sync the write-ahead log: %w", err))
	}
	pin, err := w.db.Begin(false)
	if err != nil {
		return fail(err)
	}
	w.releasePin()
	w.pin = pin
	w.mu.Lock()
	w.gen, w.end, w.ckpt = txid, walHeaderSize, false
	w.size, w.ckptSize = pin.Size(), pin.Size()
	w.mu.Unlock()
	if pin.Size() > walMaxFile {
		return w.leaveLocked()
	}
	return nil
}

// leaveLocked leaves WAL mode after a checkpoint: from now on every commit
// is bbolt's own, fsyncs and all, so the file may grow past the mapping.
func (w *wal) leaveLocked() error {
	w.off = true
	w.db.NoSync = false
	w.releasePin()
	w.f.Close()
	return os.Remove(w.path)
}

func (w *wal) releasePin() {
	if w.pin != nil {
		_ = w.pin.Rollback()
		w.pin = nil
	}
}

// close checkpoints, so the bbolt file holds everything, and removes the
// WAL.
func (w *wal) close() error {
	w.gate.Lock()
	defer w.gate.Unlock()
	if w.off {
		return nil
	}
	err := w.checkpointLocked()
	w.off = true
	w.db.NoSync = false
	w.releasePin()
	w.f.Close()
	if err == nil {
		err = os.Remove(w.path)
	}
	return err
}

// exclusive runs fn, which writes to the bbolt file outside the seam (so
// its changes cannot be recorded), with no commit beside it and outside
// WAL mode: after a checkpoint the WAL's header is wiped (recovery then
// trusts the file as bbolt left it), fn's commits are bbolt's own with
// their fsyncs, and no pin holds any page, so fn can reuse every free one
// (the free-page scrub needs that). A checkpoint then returns to WAL mode.
func (w *wal) exclusive(fn func() error) error {
	w.gate.Lock()
	defer w.gate.Unlock()
	if w.off {
		return fn()
	}
	if err := w.checkpointLocked(); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(make([]byte, walHeaderSize), 0); err != nil {
		return err
	}
	if err := fdatasync(w.f); err != nil {
		return err
	}
	w.db.NoSync = false
	w.releasePin()
	err := fn()
	w.db.NoSync = true
	if cerr := w.checkpointLocked(); err == nil {
		err = cerr
	}
	return err
}

// currentMeta reads the bbolt file's newest valid header page (after a
// sync, with no commit running).
func currentMeta(path string) ([]byte, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var best []byte
	var txid uint64
	for slot := 0; slot < 2; slot++ {
		page, m, ok := readMetaSlot(f, slot)
		if ok && (best == nil || m.txid > txid) {
			best, txid = page, m.txid
		}
	}
	if best == nil {
		return nil, 0, errors.New("the data file has no valid header page")
	}
	return best, txid, nil
}

// readMetaSlot reads header page slot (0 or 1); the page size comes from
// slot 0, or the default when that one is unreadable.
func readMetaSlot(f *os.File, slot int) ([]byte, meta, bool) {
	buf := make([]byte, metaPageBytes)
	off := int64(0)
	if slot == 1 {
		if _, err := f.ReadAt(buf, 0); err != nil {
			return nil, meta{}, false
		}
		m0, _ := decodeMeta(buf, 0)
		off = int64(m0.pageSize)
		if off == 0 {
			off = int64(os.Getpagesize())
		}
	}
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, meta{}, false
	}
	m, problem := decodeMeta(buf, slot)
	return buf, m, problem == ""
}

// walImage is what a WAL left by a run that did not close holds: the
// records to apply after its checkpoint's meta was written back.
type walImage struct {
	records [][]byte
}

// recoverWAL, before bbolt opens the file at dbPath, looks for a WAL left
// by a run that ended without Close. When there is one that belongs to
// this file, it writes the checkpoint's header page into both header
// slots (fsynced) and returns the records to apply. A WAL with no valid
// header was being restarted by a checkpoint whose sync had finished: the
// file is whole, and the WAL is removed. A WAL of another file is moved
// aside (never deleted) and the file is opened as it is.
func recoverWAL(dbPath, walPath string, lockTimeout time.Duration) (*walImage, error) {
	data, err := os.ReadFile(walPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the write-ahead log: %w", err)
	}
	if _, err := os.Stat(dbPath); err != nil {
		// No data file: the WAL cannot be applied to anything.
		return nil, setAside(walPath)
	}
	if len(data) < walHeaderSize || string(data[:8]) != walMagic ||
		binary.LittleEndian.Uint32(data[walHeaderUsed-4:]) != crc32.Checksum(data[:walHeaderUsed-4], crcTable) {
		return nil, os.Remove(walPath)
	}
	gen := binary.LittleEndian.Uint64(data[8:])
	dev, ino, err := fileID(dbPath)
	if err != nil {
		return nil, err
	}
	page := data[32 : 32+metaPageBytes]
	m, problem := decodeMeta(append([]byte(nil), page...), int(binary.LittleEndian.Uint64(page)))
	// The file's own newest header can only be at or past the checkpoint.
	_, newest, err := currentMeta(dbPath)
	if dev != binary.LittleEndian.Uint64(data[16:]) || ino != binary.LittleEndian.Uint64(data[24:]) ||
		problem != "" || m.txid != gen || err == nil && newest < gen {
		return nil, setAside(walPath)
	}
	img := &walImage{}
	for off := walHeaderSize; off+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 || off+8+n > len(data) {
			break
		}
		payload := data[off+8 : off+8+n]
		if binary.LittleEndian.Uint32(data[off+4:]) != recordCRC(gen, payload) {
			break // a torn write, or a record from before the checkpoint
		}
		img.records = append(img.records, payload)
		off += 8 + n
	}
	if err := writeMetas(dbPath, page, m.pageSize, lockTimeout); err != nil {
		return nil, err
	}
	return img, nil
}

// setAside renames a WAL that cannot be applied, keeping it for a person
// to look at.
func setAside(walPath string) error {
	return os.Rename(walPath, walPath+".unused-"+time.Now().UTC().Format("20060102-150405"))
}

// writeMetas writes the header page into both header slots of the file
// and syncs it, holding the file's lock as bbolt does, so a running
// server's file is never touched.
func writeMetas(dbPath string, page []byte, pageSize uint32, lockTimeout time.Duration) error {
	f, err := os.OpenFile(dbPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, lockTimeout); err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	for slot := uint64(0); slot < 2; slot++ {
		p := append([]byte(nil), page...)
		binary.LittleEndian.PutUint64(p, slot) // the page's own id
		if _, err := f.WriteAt(p, int64(slot)*int64(pageSize)); err != nil {
			return fmt.Errorf("recover %s: %w", dbPath, err)
		}
	}
	return fdatasync(f)
}

// apply replays the records into tx, in order.
func (img *walImage) apply(tx *bolt.Tx) error {
	for i, rec := range img.records {
		if err := applyRecord(tx, rec); err != nil {
			return fmt.Errorf("write-ahead log record %d: %w", i+1, err)
		}
	}
	return nil
}

func applyRecord(tx *bolt.Tx, r []byte) error {
	short := io.ErrUnexpectedEOF
	take := func(n int) ([]byte, error) {
		if len(r) < n {
			return nil, short
		}
		v := r[:n]
		r = r[n:]
		return v, nil
	}
	u16 := func() (int, error) { v, err := take(2); return int(binary.LittleEndian.Uint16(orZero(v, 2))), err }
	u32 := func() (int, error) { v, err := take(4); return int(binary.LittleEndian.Uint32(orZero(v, 4))), err }
	for len(r) > 0 {
		kind := r[0]
		r = r[1:]
		n, err := u16()
		if err != nil {
			return err
		}
		name, err := take(n)
		if err != nil {
			return err
		}
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("the data file has no bucket %q", name)
		}
		if kind == opSequence {
			v, err := take(8)
			if err != nil {
				return err
			}
			if err := b.SetSequence(binary.LittleEndian.Uint64(v)); err != nil {
				return err
			}
			continue
		}
		if n, err = u32(); err != nil {
			return err
		}
		key, err := take(n)
		if err != nil {
			return err
		}
		switch kind {
		case opDelete:
			err = b.Delete(key)
		case opPut:
			if n, err = u32(); err != nil {
				return err
			}
			var value []byte
			if value, err = take(n); err == nil {
				err = b.Put(key, value)
			}
		default:
			err = fmt.Errorf("unknown change %d", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func orZero(v []byte, n int) []byte {
	if len(v) < n {
		return make([]byte, n)
	}
	return v
}

// walPathOf is the WAL's path for the data file in dir.
func walPathOf(dir string) string { return filepath.Join(dir, WALName) }
