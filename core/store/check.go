package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"provisio/core"
)

// MarkerName is the file Open leaves beside the data file after its first
// successful open. While it exists, a missing or empty data file is a loss
// to report, not a first start.
const MarkerName = FileName + ".expected"

const markerText = `This directory holds Provisio's data file, provisio.db.
While this file exists, Provisio refuses to start with a missing or empty
provisio.db instead of silently creating an empty one (which would lose
every user). To start again with no users on purpose, run
"provisio check --create-empty".
`

// FileProblem is why Open refused the data file.
type FileProblem int

// The problems Open reports with a *FileError.
const (
	// FileDamaged: the file is not a sound bbolt file (bad header page,
	// cut short, a damaged page).
	FileDamaged FileProblem = iota + 1
	// FileEmpty: the file has zero bytes.
	FileEmpty
	// FileMissing: there is no data file, but the directory has held data.
	FileMissing
)

// FileError is Open's refusal of a damaged, empty or missing data file.
// Its message is one sentence that says what to do.
type FileError struct {
	Path    string
	Problem FileProblem
	// Detail says what is damaged (FileDamaged) or how the directory is
	// known to have held data (FileMissing).
	Detail string
}

// Error is the one sentence for the problem: what is wrong with the file
// and what to do.
func (e *FileError) Error() string {
	switch e.Problem {
	case FileEmpty:
		return fmt.Sprintf("The data file %s is empty (0 bytes), so the users it held are gone; restore it from a backup, or run 'provisio check --create-empty' to start again with no users.", e.Path)
	case FileMissing:
		return fmt.Sprintf("The data file %s is missing although this data directory has held data (%s); restore it from a backup, or run 'provisio check --create-empty' to start again with no users.", e.Path, e.Detail)
	default:
		return fmt.Sprintf("The data file %s is damaged (%s); Provisio will not use it: restore it from a backup ('provisio check' prints a full report).", e.Path, e.Detail)
	}
}

// precheck refuses what bbolt must not see, and checks an existing file
// under a shared lock, so a running server's writes cannot confuse it.
func precheck(dir, path string, opt Options) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if opt.CreateEmpty {
			return nil
		}
		if held := heldData(dir, opt); held != "" {
			return &FileError{Path: path, Problem: FileMissing, Detail: held}
		}
		return nil
	case err != nil:
		return fmt.Errorf("open %s: %w", path, err)
	case fi.Size() == 0:
		if !opt.CreateEmpty {
			return &FileError{Path: path, Problem: FileEmpty}
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("replace the empty %s: %w", path, err)
		}
		return nil
	}
	var deadline time.Time
	if opt.CheckBudget > 0 {
		deadline = time.Now().Add(opt.CheckBudget)
	}
	_, err = checkFile(path, opt.LockTimeout, deadline, opt.CheckBudget < 0, nil)
	return err
}

// checkFile checks the file at path while holding bbolt's shared lock:
// first the header pages and the size, then (unless metasOnly) every page
// until deadline, then bbolt's own tx.Check if the walk left time for it.
func checkFile(path string, lockTimeout time.Duration, deadline time.Time, metasOnly bool, visit bucketVisit) (*fileCheck, error) {
	damaged := func(detail string) error { return &FileError{Path: path, Problem: FileDamaged, Detail: detail} }
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	// The header pages first, without the lock: bbolt's read-only open
	// below maps the file, which must not happen to a file cut short.
	if _, _, p := readMetas(f); p != "" {
		return nil, damaged(p)
	}
	// bbolt's read-only open reads only the two header pages, checked
	// above, and takes the shared lock: a running server keeps it away.
	ro, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, damaged(err.Error())
	}
	defer ro.Close()
	if metasOnly {
		return nil, nil
	}
	start := time.Now()
	c, p := verifyFile(f, deadline, visit)
	if p != "" {
		return c, damaged(p)
	}
	if c.timedOut {
		return c, nil
	}
	// bbolt's own check covers the same ground; it runs in a goroutine of
	// its own that cannot be stopped, so it only runs when the walk, which
	// touches the same pages, left room for it in the budget.
	if !deadline.IsZero() && time.Until(deadline) < 2*time.Since(start) {
		c.timedOut = true
		return c, nil
	}
	tx, err := ro.Begin(false)
	if err != nil {
		return c, damaged(err.Error())
	}
	defer tx.Rollback()
	var first error
	for err := range tx.Check() {
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return c, damaged(first.Error())
	}
	return c, nil
}

// heldData says how the directory is known to have held data, or "".
func heldData(dir string, opt Options) string {
	if _, err := os.Stat(filepath.Join(dir, MarkerName)); err == nil {
		return "the marker file " + MarkerName + " is there"
	}
	return opt.HeldData
}

// writeMarker leaves the marker file once; it is synced so a crash right
// after the first open cannot leave a data file without its marker.
func writeMarker(dir string) error {
	path := filepath.Join(dir, MarkerName)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(markerText); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// BucketReport is one bucket of a Report.
type BucketReport struct {
	Name string
	// Records is the number of keys; BadRecords those whose value does
	// not decode.
	Records, BadRecords int
}

// Report is the result of Check.
type Report struct {
	Path     string
	Size     int64
	PageSize int
	// TxID is the number of the last committed transaction.
	TxID    uint64
	Buckets []BucketReport
	// Damage says what makes the file unusable (Open refuses it); ""
	// when its structure is sound.
	Damage string
	// BadRecords lists records that do not decode (up to 20): the file
	// opens, but reading them fails.
	BadRecords []string
	// Format is the data format number the file holds (config/"format",
	// format.go): 0 when it holds none, a file last opened by a build
	// from before the numbers. Newer is set when Open would refuse the
	// file for its format: a number above FormatVersion, or a value
	// that is no number (FormatValue, Format 0).
	Format      int
	FormatValue string
	Newer       bool
	// SharedAgentSecrets names the agents that have the same shared
	// secret, one group per secret (core.SharedStoredSecrets): agents
	// saved before each needed its own. It is a warning, not damage.
	SharedAgentSecrets [][]string
}

// FormatError is the refusal Open would give the file for its data
// format, nil when this build reads it.
func (r *Report) FormatError() error {
	if !r.Newer {
		return nil
	}
	return &FormatError{Found: r.Format, Supported: FormatVersion, Where: r.Path, Value: r.FormatValue}
}

// OK reports whether Check found nothing wrong.
func (r *Report) OK() bool { return r.Damage == "" && len(r.BadRecords) == 0 }

// maxRecordProblems keeps the report of a badly damaged file readable.
const maxRecordProblems = 20

// Check runs the full check of the data file in dir without opening it
// for writing: header pages, size, every page, bbolt's own tx.Check and a
// decode of every record. It fails (with ErrLocked) when another Provisio
// has the file open. A damaged file is not an error: the report says so.
func Check(dir string, opt Options) (*Report, error) {
	if opt.LockTimeout == 0 {
		opt.LockTimeout = time.Second
	}
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if held := heldData(dir, opt); held != "" {
			return nil, &FileError{Path: path, Problem: FileMissing, Detail: held}
		}
		return nil, fmt.Errorf("There is no data file at %s yet; Provisio creates it on its first start.", path)
	}
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	r := &Report{Path: path, Size: fi.Size()}
	if fi.Size() == 0 {
		r.Damage = "it is empty (0 bytes)"
		return r, nil
	}
	rc := recordCheck{r: r, bad: map[string]int{}}
	c, err := checkFile(path, opt.LockTimeout, time.Time{}, false, rc.visit)
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		r.Damage = fe.Detail
	case err != nil:
		return nil, err
	}
	if c != nil {
		r.PageSize, r.TxID = int(c.psize), c.meta.txid
		for name, n := range c.buckets {
			r.Buckets = append(r.Buckets, BucketReport{Name: name, Records: n, BadRecords: rc.bad[name]})
		}
		sort.Slice(r.Buckets, func(i, j int) bool { return r.Buckets[i].Name < r.Buckets[j].Name })
		if err == nil {
			for _, b := range allBuckets {
				// A file last opened by an earlier version lacks the
				// buckets added since; opening it makes them.
				if _, ok := c.buckets[string(b)]; !ok && !addedLater[string(b)] {
					r.BadRecords = append(r.BadRecords, fmt.Sprintf("bucket %q is missing", b))
				}
			}
		}
	}
	r.BadRecords = append(r.BadRecords, rc.problems...)
	rc.finish()
	return r, nil
}

// recordCheck is the part of a check that reads every record: whether it
// decodes, and the data format number.
type recordCheck struct {
	r        *Report
	bad      map[string]int // records that do not decode, by bucket
	problems []string       // what is wrong with them, the first maxRecordProblems
	// agents and secrets are the agents' names and stored secrets (keyed
	// hashes on a sealed store), compared in finish.
	agents, secrets []string
}

// finish records in the report what needs every record: the agents
// that share a secret.
func (rc *recordCheck) finish() {
	rc.r.SharedAgentSecrets = core.SharedStoredSecrets(rc.agents, rc.secrets)
}

// visit checks one record.
func (rc *recordCheck) visit(bucket string, key, value []byte) {
	if bucket == string(bucketConfig) && string(key) == string(keyFormat) {
		n, ok := parseFormat(value)
		rc.r.Format, rc.r.Newer = n, !ok || n > FormatVersion
		if !ok {
			rc.r.FormatValue = string(value)
		}
	}
	if bucket == string(bucketAgents) {
		var a struct{ Name, Secret string }
		if json.Unmarshal(value, &a) == nil {
			rc.agents, rc.secrets = append(rc.agents, a.Name), append(rc.secrets, a.Secret)
		}
	}
	if p := recordProblem(bucket, key, value); p != "" {
		rc.bad[bucket]++
		if len(rc.problems) < maxRecordProblems {
			rc.problems = append(rc.problems, p)
		}
	}
}

// CheckBackend runs Check's record checks over the records of another
// backend (an etcd site, whose Where names it in the report's Path),
// read in one read transaction: every record decoded and the data format
// read. It changes nothing and needs no data key. Pages, files and
// members are the backend's own to check (etcdctl endpoint health);
// Size, PageSize and TxID stay 0. A site that holds no record at all is
// reported with every bucket at 0 and Format 0.
func CheckBackend(b Backend) (*Report, error) {
	var r *Report
	var rc recordCheck
	err := b.View(func(tx KVTx) error {
		// A backend may run fn again (etcd, after a lost member).
		r = &Report{Path: b.Where()}
		rc = recordCheck{r: r, bad: map[string]int{}}
		for _, name := range allBuckets {
			n := 0
			if err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				n++
				rc.visit(string(name), k, v)
				return nil
			}); err != nil {
				return err
			}
			r.Buckets = append(r.Buckets, BucketReport{Name: string(name), Records: n, BadRecords: rc.bad[string(name)]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", b.Where(), err)
	}
	sort.Slice(r.Buckets, func(i, j int) bool { return r.Buckets[i].Name < r.Buckets[j].Name })
	r.BadRecords = rc.problems
	rc.finish()
	return r, nil
}

// Records is the number of records the report counted, over all buckets.
func (r *Report) Records() int {
	n := 0
	for _, b := range r.Buckets {
		n += b.Records
	}
	return n
}

// addedLater are the buckets added after the first release: a file last
// opened before them is sound without them.
var addedLater = map[string]bool{
	string(bucketLogins): true, string(bucketOATH): true, string(bucketProfiles): true,
	string(bucketClientLogs): true, string(bucketConsoles): true,
}

// recordProblem says why a record of bucket does not decode, or "".
func recordProblem(bucket string, key, value []byte) string {
	name := strconv.Quote(string(key))
	if len(key) == 8 && (bucket == string(bucketLog) || bucket == string(bucketOutbox)) {
		name = fmt.Sprintf("#%d", seqNumber(key))
	}
	switch bucket {
	case string(bucketStrings):
		// A sealed record (crypt.go) adds the nonce and the tag.
		if len(value) != stringsRecordLen && len(value) != stringsRecordLen+sealOverhead {
			return fmt.Sprintf("bucket %q: record %s is %d bytes, want %d", bucket, name, len(value), stringsRecordLen)
		}
	case string(bucketDevices):
		if len(value) == 0 {
			return fmt.Sprintf("bucket %q: record %s names no user", bucket, name)
		}
	case string(bucketConfig):
		// The data key's check value is binary (crypt_records.go).
		if string(key) == string(keyKeyCheck) {
			if len(value) != 32 {
				return fmt.Sprintf("bucket %q: record %s is %d bytes, want 32", bucket, name, len(value))
			}
		} else if !json.Valid(value) {
			return fmt.Sprintf("bucket %q: record %s does not decode", bucket, name)
		}
	case string(bucketLogins):
		if _, err := decodeLoginState(value); err != nil {
			return fmt.Sprintf("bucket %q: record %s: %v", bucket, name, err)
		}
	case string(bucketUsers), string(bucketCodes), string(bucketAgents), string(bucketLog), string(bucketOutbox), string(bucketOATH), string(bucketProfiles), string(bucketClientLogs), string(bucketConsoles):
		if !json.Valid(value) {
			return fmt.Sprintf("bucket %q: record %s does not decode", bucket, name)
		}
	}
	return ""
}

func seqNumber(key []byte) uint64 {
	var n uint64
	for _, b := range key {
		n = n<<8 | uint64(b)
	}
	return n
}
