package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"time"

	"provisio/core"
)

// This file checks a bbolt data file by reading it, before bbolt maps it.
// bbolt trusts its file: a truncated file makes it fault on the mmap
// (SIGSEGV, which no recover catches) and a damaged page makes it panic.
// Everything here reads with ReadAt into bounded buffers and checks every
// offset, so a damaged file gives an error, never a crash. The layout is
// bbolt's (go.etcd.io/bbolt/internal/common, format version 2), in the
// machine's byte order.

// On-disk constants of the bbolt file format, version 2.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2

	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHdrSize  = 16 // root pgid u64, sequence u64
	metaSize       = 64 // magic .. checksum
	metaSumLen     = 56 // the checksum covers the meta up to the checksum field

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	leafBucket = 0x01

	noFreelist = ^uint64(0)

	minPageSize = 512
	maxPageSize = 1 << 24 // bbolt probes page sizes up to 16 MiB
	// maxDepth bounds the walk: a real tree of 200 MB is a handful of
	// levels deep; more means a cycle or garbage.
	maxDepth = 64
)

var ne = binary.NativeEndian

// meta is the decoded header of one meta page.
type meta struct {
	slot     int // 0 or 1
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // high-water page id: every page in use is below it
	txid     uint64
}

// decodeMeta decodes the meta page in buf (which starts at the page
// header) and says what is wrong with it, or "" when it is sound.
func decodeMeta(buf []byte, slot int) (meta, string) {
	m := meta{slot: slot}
	if len(buf) < pageHeaderSize+metaSize {
		return m, "it is cut short"
	}
	b := buf[pageHeaderSize:]
	if ne.Uint32(b[0:]) != boltMagic {
		return m, "it does not carry the bbolt marker"
	}
	if v := ne.Uint32(b[4:]); v != boltVersion {
		return m, fmt.Sprintf("it has format version %d, not %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:metaSumLen])
	if h.Sum64() != ne.Uint64(b[72-pageHeaderSize:]) {
		return m, "its checksum does not match"
	}
	m.pageSize = ne.Uint32(b[8:])
	m.root = ne.Uint64(b[16:])
	m.freelist = ne.Uint64(b[32:])
	m.hwm = ne.Uint64(b[40:])
	m.txid = ne.Uint64(b[48:])
	switch {
	case ne.Uint64(buf) != uint64(slot):
		return m, fmt.Sprintf("it calls itself page %d", ne.Uint64(buf))
	case ne.Uint16(buf[8:]) != flagMeta:
		return m, "it is not marked as a header page"
	case m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0:
		return m, fmt.Sprintf("it gives an impossible page size (%d)", m.pageSize)
	case m.hwm < 2:
		return m, "it says the file has no pages"
	case m.root < 2 || m.root >= m.hwm:
		return m, fmt.Sprintf("its root page %d lies outside the file's %d pages", m.root, m.hwm)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm):
		return m, fmt.Sprintf("its free-page list %d lies outside the file's %d pages", m.freelist, m.hwm)
	}
	return m, ""
}

// fileCheck walks one data file.
type fileCheck struct {
	f        *os.File
	size     int64
	psize    int64
	meta     meta
	deadline time.Time // zero: no limit

	used  map[uint64]bool
	freed map[uint64]bool
	// buckets counts the keys of each top-level bucket.
	buckets map[string]int
	// timedOut is set when the walk stopped at the deadline.
	timedOut bool
}

// errBudget stops a walk that ran past its deadline.
var errBudget = errors.New("time budget spent")

// readMetas reads and validates both meta pages and the file size. It is
// cheap and runs on every open. A sound file has two valid meta pages:
// bbolt writes a meta page in one sector-sized write after syncing the
// data, so a crash leaves either the old or the new one intact, never a
// garbled one; a bad checksum means the disk or something else damaged it.
func readMetas(f *os.File) (meta, int64, string) {
	fi, err := f.Stat()
	if err != nil {
		return meta{}, 0, fmt.Sprintf("it cannot be read (%v)", err)
	}
	size := fi.Size()
	if size == 0 {
		return meta{}, 0, "it is empty (0 bytes)"
	}
	buf := make([]byte, pageHeaderSize+metaSize)
	if n, _ := f.ReadAt(buf, 0); n < len(buf) {
		return meta{}, size, fmt.Sprintf("it is only %d bytes long, too short for a Provisio data file", size)
	}
	m0, p0 := decodeMeta(buf, 0)
	if p0 != "" {
		return meta{}, size, "its first header page is damaged: " + p0
	}
	psize := int64(m0.pageSize)
	if size < 2*psize {
		return meta{}, size, fmt.Sprintf("it is cut short: %d bytes, less than its two header pages of %d bytes", size, psize)
	}
	if n, _ := f.ReadAt(buf, psize); n < len(buf) {
		return meta{}, size, "its second header page cannot be read"
	}
	m1, p1 := decodeMeta(buf, 1)
	if p1 != "" {
		return meta{}, size, "its second header page is damaged: " + p1
	}
	if m1.pageSize != m0.pageSize {
		return meta{}, size, fmt.Sprintf("its header pages disagree on the page size (%d and %d)", m0.pageSize, m1.pageSize)
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	if need := int64(m.hwm) * psize; m.hwm > uint64(size/psize) || size < need {
		return meta{}, size, fmt.Sprintf("it is cut short: %d bytes, but its header says it holds %d pages of %d bytes", size, m.hwm, psize)
	}
	return m, size, ""
}

// page reads page id with its overflow pages and marks them used.
func (c *fileCheck) page(id uint64, what string) ([]byte, error) {
	if err := c.tick(); err != nil {
		return nil, err
	}
	if id < 2 || id >= c.meta.hwm {
		return nil, fmt.Errorf("%s points to page %d, outside the file's %d pages", what, id, c.meta.hwm)
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := c.f.ReadAt(hdr, int64(id)*c.psize); err != nil {
		return nil, fmt.Errorf("page %d cannot be read: %v", id, err)
	}
	if got := ne.Uint64(hdr); got != id {
		return nil, fmt.Errorf("page %d (%s) is damaged: it calls itself page %d", id, what, got)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if overflow >= c.meta.hwm-id {
		return nil, fmt.Errorf("page %d (%s) is damaged: it claims %d more pages than the file has", id, what, overflow)
	}
	for p := id; p <= id+overflow; p++ {
		if c.used[p] {
			return nil, fmt.Errorf("page %d is used twice (again by %s)", p, what)
		}
		c.used[p] = true
	}
	buf := make([]byte, int64(overflow+1)*c.psize)
	if _, err := c.f.ReadAt(buf, int64(id)*c.psize); err != nil {
		return nil, fmt.Errorf("page %d cannot be read: %v", id, err)
	}
	return buf, nil
}

func (c *fileCheck) tick() error {
	if !c.deadline.IsZero() && time.Now().After(c.deadline) {
		c.timedOut = true
		return errBudget
	}
	return nil
}

// readFreelist records the free pages.
func (c *fileCheck) readFreelist() error {
	if c.meta.freelist == noFreelist {
		return nil
	}
	buf, err := c.page(c.meta.freelist, "the free-page list")
	if err != nil {
		return err
	}
	if f := ne.Uint16(buf[8:]); f != flagFreelist {
		return fmt.Errorf("page %d should hold the free-page list but has page type %#x", c.meta.freelist, f)
	}
	start, count := pageHeaderSize, uint64(ne.Uint16(buf[10:]))
	if count == 0xFFFF {
		count = ne.Uint64(buf[pageHeaderSize:])
		start += 8
	}
	if count > uint64(len(buf)-start)/8 {
		return fmt.Errorf("the free-page list (page %d) is damaged: it claims %d entries", c.meta.freelist, count)
	}
	for i := uint64(0); i < count; i++ {
		id := ne.Uint64(buf[start+int(i)*8:])
		switch {
		case id < 2 || id >= c.meta.hwm:
			return fmt.Errorf("the free-page list names page %d, outside the file's %d pages", id, c.meta.hwm)
		case c.freed[id]:
			return fmt.Errorf("the free-page list names page %d twice", id)
		}
		c.freed[id] = true
	}
	return nil
}

// kv is one element of a page, with its key and, for a leaf, its value.
type kv struct {
	key, value []byte
	child      uint64 // branch: the child page
	bucket     bool   // leaf: the value is a nested bucket
}

// elements decodes and bounds-checks the elements of the page in buf.
func elements(buf []byte, id uint64, what string) (flags uint16, out []kv, err error) {
	if len(buf) < pageHeaderSize {
		return 0, nil, fmt.Errorf("%s is cut short", what)
	}
	flags, count := ne.Uint16(buf[8:]), int(ne.Uint16(buf[10:]))
	if flags != flagBranch && flags != flagLeaf {
		return 0, nil, fmt.Errorf("page %d (%s) is damaged: unknown page type %#x", id, what, flags)
	}
	if pageHeaderSize+count*elemSize > len(buf) {
		return 0, nil, fmt.Errorf("page %d (%s) is damaged: it claims %d entries", id, what, count)
	}
	out = make([]kv, count)
	for i := range out {
		off := pageHeaderSize + i*elemSize
		e := buf[off : off+elemSize]
		var pos, ksize, vsize uint64
		if flags == flagBranch {
			pos, ksize = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
			out[i].child = ne.Uint64(e[8:])
		} else {
			out[i].bucket = ne.Uint32(e[0:])&leafBucket != 0
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		}
		// Positions count from the element itself.
		start := uint64(off) + pos
		if start+ksize+vsize > uint64(len(buf)) {
			return 0, nil, fmt.Errorf("page %d (%s) is damaged: entry %d reaches past the page", id, what, i)
		}
		out[i].key = buf[start : start+ksize]
		out[i].value = buf[start+ksize : start+ksize+vsize]
		if i > 0 && bytes.Compare(out[i-1].key, out[i].key) >= 0 {
			return 0, nil, fmt.Errorf("page %d (%s) is damaged: its keys are out of order", id, what)
		}
	}
	return flags, out, nil
}

// bucketVisit is called for every key of a top-level bucket.
type bucketVisit func(bucket string, key, value []byte)

// walkBucket checks the bucket whose header and (for an inline bucket)
// page are in value, and calls visit for each of its keys when top is
// the name of a top-level bucket.
func (c *fileCheck) walkBucket(value []byte, what string, top string, depth int, visit bucketVisit) error {
	if len(value) < bucketHdrSize {
		return fmt.Errorf("bucket %s is damaged: its header is cut short", what)
	}
	root := ne.Uint64(value)
	if root == 0 {
		// An inline bucket: its single leaf page follows the header.
		return c.walkPage(value[bucketHdrSize:], 0, what, top, depth, visit)
	}
	return c.walkTree(root, what, top, depth, visit)
}

func (c *fileCheck) walkTree(id uint64, what string, top string, depth int, visit bucketVisit) error {
	if depth > maxDepth {
		return fmt.Errorf("bucket %s is damaged: its pages form a loop", what)
	}
	buf, err := c.page(id, "bucket "+what)
	if err != nil {
		return err
	}
	return c.walkPage(buf, id, what, top, depth, visit)
}

func (c *fileCheck) walkPage(buf []byte, id uint64, what string, top string, depth int, visit bucketVisit) error {
	flags, elems, err := elements(buf, id, "bucket "+what)
	if err != nil {
		return err
	}
	if id == 0 && flags != flagLeaf {
		return fmt.Errorf("bucket %s is damaged: its inline page is not a leaf", what)
	}
	for _, e := range elems {
		if flags == flagBranch {
			if err := c.walkTree(e.child, what, top, depth+1, visit); err != nil {
				return err
			}
			continue
		}
		name := string(e.key)
		if top == "" {
			// The root bucket holds only buckets.
			if !e.bucket {
				return fmt.Errorf("the root of the file is damaged: %q is not a bucket", name)
			}
			c.buckets[name] = 0
			if err := c.walkBucket(e.value, fmt.Sprintf("%q", name), name, depth+1, visit); err != nil {
				return err
			}
			continue
		}
		c.buckets[top]++
		if e.bucket {
			if err := c.walkBucket(e.value, what+"/"+fmt.Sprintf("%q", e.key), top, depth+1, visit); err != nil {
				return err
			}
			continue
		}
		if visit != nil {
			visit(top, e.key, e.value)
		}
	}
	return nil
}

// verifyFile checks the data file open as f: header pages, size, every
// page of every bucket, the free-page list, and that each page is either
// in use or free. It stops at the deadline (zero: none) and reports
// timedOut. visit, when set, sees every key and value of the top-level
// buckets.
func verifyFile(f *os.File, deadline time.Time, visit bucketVisit) (*fileCheck, string) {
	m, size, p := readMetas(f)
	if p != "" {
		return nil, p
	}
	c := &fileCheck{
		f: f, size: size, psize: int64(m.pageSize), meta: m, deadline: deadline,
		used:    map[uint64]bool{0: true, 1: true},
		freed:   map[uint64]bool{},
		buckets: map[string]int{},
	}
	// The free list is read whatever the budget: bbolt loads it on every
	// read-write open, where a damaged one would fault.
	c.deadline = time.Time{}
	err := c.readFreelist()
	c.deadline = deadline
	if err == nil {
		err = c.walkTree(m.root, "root", "", 0, visit)
	}
	if errors.Is(err, errBudget) {
		return c, ""
	}
	if err != nil {
		return c, err.Error()
	}
	var lost []uint64
	for id := uint64(2); id < m.hwm; id++ {
		switch {
		case c.used[id] && c.freed[id]:
			return c, fmt.Sprintf("page %d is both in use and listed as free", id)
		case !c.used[id] && !c.freed[id]:
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
		return c, fmt.Sprintf("%s neither in use nor free (first: page %d)", core.Plural(len(lost), "page is", "pages are"), lost[0])
	}
	return c, ""
}
