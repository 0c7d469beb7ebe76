package store

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"provisio/core"
)

// Key rotation in steps, for a backend whose transactions are bounded
// (etcd's --max-txn-ops, 128 by default, and --max-request-bytes, 1.5
// MiB): a site of thousands of users cannot be re-encrypted in one.
//
// Sealed values carry no key id, but AES-GCM tells: a value opens under
// the key that sealed it and under no other. So each step re-seals the
// records of a stretch of one bucket that do not open under the new key
// yet, and a step run again (after a conflict, or by the run that
// finishes an interrupted rotation) skips what an earlier one did. The
// log chain cannot be told apart that way; the rotation's record in
// config ("key_rotation", signed with the new key) says how far the log
// is chained under the new key, and the MACs of the old and the new chain
// there. The last step re-chains the rest of the log and, in the same
// transaction, re-seals the settings and the shared identity, re-signs
// the checkpoint, stores the new check value and removes the record: the
// data's check value changes only once everything opens under the new
// key, as in the one-transaction rotation.
//
// Each step compares the mod revision of everything it read (the etcd
// backend's optimistic commit) and runs again on a conflict, so a change
// made meanwhile is re-sealed from its new value, never overwritten.
//
// While the record exists the site is readable only with both keys, which
// only the machine that started the rotation holds (provisio.key and
// provisio.key.new): an open there finishes the rotation (resumeRotation),
// an open anywhere else is refused with ErrRotationUnfinished.

// StepLimits is a Backend whose write transactions are bounded: at most
// ops writes (and ops compares) and about bytes of keys and values each.
// RotateKey works in steps that fit.
type StepLimits interface {
	StepLimits() (ops, bytes int)
}

var keyRotation = []byte("key_rotation")

// minStepOps is the fewest writes per transaction a rotation in steps
// works with: the last step's own writes and some log entries.
const minStepOps = 40

// ErrRotationUnfinished is returned by an open of a site whose key
// rotation has not finished, where the new key is not at hand.
var ErrRotationUnfinished = errors.New("a key rotation of this site has not finished: part of its data is encrypted under the new data key, which only the machine that ran provisio key rotate holds (provisio.key.new in its key directory); run any provisio command there (provisio user list), which finishes the rotation, then copy that machine's provisio.key here")

// rotationRecord is config "key_rotation" while a rotation runs.
type rotationRecord struct {
	Check   string `json:"check"`   // the new key's check value, hex
	LogSeq  uint64 `json:"log_seq"` // entries up to here are chained under the new key
	LogOld  string `json:"log_old"` // the old chain's MAC at LogSeq, hex
	LogNew  string `json:"log_new"` // the new chain's MAC at LogSeq, hex
	Records int    `json:"records"` // records re-sealed so far
	Sig     string `json:"sig"`     // HMAC of the above under the new log key
}

// sign is the record's MAC under the new key's log key, labelled so that
// no log entry's MAC (a 32-byte MAC, then the entry) is one.
func (r rotationRecord) sign(next *sealer) string {
	r.Sig = ""
	body, _ := json.Marshal(r)
	return hex.EncodeToString(next.logMACOf([]byte("provisio key rotation record\x00"), body))
}

func readRotation(tx KVTx) (*rotationRecord, error) {
	v := tx.Bucket(bucketConfig).Get(keyRotation)
	if v == nil {
		return nil, nil
	}
	var r rotationRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, errors.New("the record of the key rotation does not decode")
	}
	return &r, nil
}

// stepRotation is one run of a rotation in steps.
type stepRotation struct {
	s          *Store
	next       *sealer
	ops, bytes int
	seen       int // records re-sealed, as the record last said
}

// rotatedBuckets are the buckets whose records are re-sealed one stretch
// at a time; config's few sealed values go with the last step.
var rotatedBuckets = [][]byte{bucketUsers, bucketStrings, bucketOATH, bucketClientLogs, bucketOutbox}

// rotateInSteps is RotateKey on a backend with StepLimits.
func (s *Store) rotateInSteps(lim StepLimits) (int, error) {
	ops, maxBytes := lim.StepLimits()
	if ops < minStepOps {
		return 0, fmt.Errorf("a key rotation needs etcd transactions of at least %d operations; the store address allows %d (max-txn-ops)", minStepOps, ops)
	}
	var rec *rotationRecord
	if err := s.view(func(tx KVTx) (err error) { rec, err = readRotation(tx); return err }); err != nil {
		return 0, err
	}
	if rec != nil {
		// Open finishes a rotation it has the key for; this one is
		// another process's, running or cut short.
		return 0, ErrRotationUnfinished
	}
	// Everything must open under the old key and the log verify before
	// the first step: a step that found otherwise would leave the
	// rotation half done.
	if err := s.view(func(tx KVTx) error {
		t := &txn{tx: tx, s: s}
		if _, err := t.verifyLog(); err != nil {
			return err
		}
		return t.openEverything()
	}); err != nil {
		return 0, fmt.Errorf("rotate the data key (nothing changed): %w", err)
	}
	next, pending, err := s.pendingKey()
	if err != nil {
		return 0, err
	}
	err = s.update(func(tx KVTx) error {
		cfg := tx.Bucket(bucketConfig)
		if !hmac.Equal(cfg.Get(keyKeyCheck), s.crypt.checkValue()) {
			return ErrKeyMismatch
		}
		if r, err := readRotation(tx); err != nil || r != nil {
			return errors.Join(ErrRotationUnfinished, err)
		}
		cpSeq, cpMAC, err := (&txn{tx: tx, s: s}).chainStart()
		if err != nil {
			return err
		}
		mac := hex.EncodeToString(cpMAC)
		r := rotationRecord{Check: hex.EncodeToString(next.checkValue()), LogSeq: cpSeq, LogOld: mac, LogNew: mac}
		return putRotation(tx, r, next)
	})
	if errors.Is(err, ErrOutcomeUnknown) {
		return 0, s.rotationCutShort(err)
	}
	if err != nil {
		os.Remove(pending)
		return 0, fmt.Errorf("rotate the data key (nothing changed): %w", err)
	}
	rotateStep("begun")
	r := &stepRotation{s: s, next: next, ops: ops, bytes: maxBytes}
	records, err := r.run()
	if err != nil {
		return 0, s.rotationCutShort(err)
	}
	return records, s.rotationDone(pending)
}

// rotationCutShort is the sentence for a rotation that stopped after its
// first step: the new key must be kept.
func (s *Store) rotationCutShort(err error) error {
	pending := filepath.Join(s.keyDir, pendingKeyName)
	// The backend's own sentences say "nothing was changed", which is
	// not so here.
	var ce *core.Error
	reason := strings.TrimSuffix(err.Error(), ".")
	switch {
	case errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, core.ErrStoreUnreachable):
		reason = "the store did not answer"
	case errors.As(err, &ce):
		reason = "the store refused a step"
	}
	return &core.Error{Code: core.CodeInternal, Err: fmt.Errorf("rotate the data key: %w", err), Message: fmt.Sprintf(
		"The key rotation stopped before it finished (%s), so the new data key is kept as %s and the site opens only where that file is; once the store answers again, run any provisio command here (provisio user list), which finishes the rotation, then copy %s to the key directory of every other server of the site.", reason, pending, KeyFileName)}
}

// rotationDone puts the new key in place after the last step, and drops
// etcd's earlier revisions, as RotateKey does after its commit.
func (s *Store) rotationDone(pending string) error {
	rotateStep("committed, key not renamed")
	if err := os.Rename(pending, filepath.Join(s.keyDir, KeyFileName)); err != nil && !s.keyInPlace() {
		return fmt.Errorf("the data is re-encrypted under %s but it could not be renamed to %s: %w; rename it by hand", pending, KeyFileName, err)
	}
	rotateStep("renamed, free pages not scrubbed")
	if hc, ok := s.kv.(HistoryCompactor); ok {
		if err := hc.CompactHistory(); err != nil {
			return &core.Error{Code: core.CodeInternal, Err: err, Message: "The data key was rotated, but etcd did not drop its earlier revisions, which hold the values sealed under the old key; compact its history (etcdctl compact with the current revision) and defragment its members (etcdctl defrag --cluster)."}
		}
	}
	s.oathDirty.Store(true)
	return nil
}

// keyInPlace reports whether provisio.key is the store's key: another
// process that finished the rotation put it there.
func (s *Store) keyInPlace() bool {
	key, err := os.ReadFile(filepath.Join(s.keyDir, KeyFileName))
	if err != nil || len(key) != KeySize {
		return false
	}
	c, err := newSealer(key)
	return err == nil && hmac.Equal(c.checkValue(), s.crypt.checkValue())
}

// takeKeyInPlace opens the store with provisio.key when that is the key
// of check.
func (s *Store) takeKeyInPlace(check []byte) error {
	key, err := os.ReadFile(filepath.Join(s.keyDir, KeyFileName))
	if err != nil || len(key) != KeySize {
		return ErrKeyMismatch
	}
	c, err := newSealer(key)
	if err != nil || !hmac.Equal(c.checkValue(), check) {
		return ErrKeyMismatch
	}
	s.crypt = c
	return s.view(s.loadIDKey)
}

// resumeRotation finishes, on open, a rotation in steps that was cut
// short, when the new key is in the key directory; without it the site
// cannot be read, and the open is refused.
func (s *Store) resumeRotation() error {
	lim, ok := s.kv.(StepLimits)
	if !ok || s.crypt == nil {
		return nil
	}
	var rec *rotationRecord
	var check []byte
	if err := s.view(func(tx KVTx) (err error) {
		check = bytes.Clone(tx.Bucket(bucketConfig).Get(keyKeyCheck))
		rec, err = readRotation(tx)
		return err
	}); err != nil {
		return err
	}
	if rec == nil {
		if check == nil || hmac.Equal(check, s.crypt.checkValue()) {
			return nil
		}
		// Another process here finished the rotation since this open
		// checked the key, and put the new key in place.
		return s.takeKeyInPlace(check)
	}
	var next *sealer
	pending := filepath.Join(s.keyDir, pendingKeyName)
	if s.keyDir != "" {
		if key, err := os.ReadFile(pending); err == nil && len(key) == KeySize {
			if c, err := newSealer(key); err == nil && hex.EncodeToString(c.checkValue()) == rec.Check && rec.sign(c) == rec.Sig {
				next = c
			}
		}
	}
	if next == nil {
		return ErrRotationUnfinished
	}
	next.idKey = s.crypt.idKey
	ops, maxBytes := lim.StepLimits()
	if _, err := (&stepRotation{s: s, next: next, ops: ops, bytes: maxBytes}).run(); err != nil {
		return s.rotationCutShort(err)
	}
	if err := s.rotationDone(pending); err != nil {
		// The data is under the new key: the open stands, and says what
		// is left to do.
		msg := err.Error()
		if ce := (*core.Error)(nil); errors.As(err, &ce) {
			msg = ce.Message
		}
		s.notices = append(s.notices, msg)
	}
	return s.update(func(tx KVTx) error {
		return s.noteRotation(tx, fmt.Sprintf(noticeRotationFinished, KeyFileName))
	})
}

// rotationUnderway reports whether the store holds a rotation's record.
func (s *Store) rotationUnderway() bool {
	var rec *rotationRecord
	err := s.view(func(tx KVTx) (err error) { rec, err = readRotation(tx); return err })
	return err == nil && rec != nil
}

func putRotation(tx KVTx, r rotationRecord, next *sealer) error {
	r.Sig = r.sign(next)
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketConfig).Put(keyRotation, data)
}

// rotation reads the rotation's record in a step and checks it is this
// rotation's.
func (r *stepRotation) rotation(tx KVTx) (*rotationRecord, error) {
	rec, err := readRotation(tx)
	if err != nil {
		return nil, err
	}
	if rec == nil && hmac.Equal(tx.Bucket(bucketConfig).Get(keyKeyCheck), r.next.checkValue()) {
		return nil, errFinishedElsewhere
	}
	if rec == nil || rec.Check != hex.EncodeToString(r.next.checkValue()) || rec.sign(r.next) != rec.Sig {
		return nil, errors.New("the record of the key rotation was changed or removed by someone else")
	}
	r.seen = rec.Records
	return rec, nil
}

// finishedElsewhere reports, after a step failed, whether another process
// with the same keys finished the rotation meanwhile: its compaction of
// etcd's history fails a step that read at an earlier revision.
func (r *stepRotation) finishedElsewhere() bool {
	done := false
	_ = r.s.view(func(tx KVTx) error {
		rec, err := readRotation(tx)
		done = err == nil && rec == nil && hmac.Equal(tx.Bucket(bucketConfig).Get(keyKeyCheck), r.next.checkValue())
		return nil
	})
	return done
}

// errFinishedElsewhere is a step that found the rotation finished by
// another process with the same keys (a server started meanwhile on the
// machine that rotates, which finishes it on open).
var errFinishedElsewhere = errors.New("the key rotation was finished by another process")

// run re-seals every bucket, then re-chains the log and finishes, one
// bounded transaction at a time; it returns how many records it counted
// over the whole rotation.
func (r *stepRotation) run() (int, error) {
	// A record written meanwhile under the old key, in a stretch already
	// done, sends the rotation round again (logStep's stale); a site
	// that keeps changing so is one with servers running.
	for round := 0; round < 3; round++ {
		for _, b := range rotatedBuckets {
			var from []byte
			for {
				var more []byte
				err := r.s.update(func(tx KVTx) (err error) {
					more, err = r.recordStep(tx, b, from)
					return err
				})
				if errors.Is(err, errFinishedElsewhere) || err != nil && r.finishedElsewhere() {
					r.s.crypt = r.next
					return r.seen, nil
				}
				if err != nil {
					return 0, err
				}
				rotateStep("a step committed")
				if more == nil {
					break
				}
				from = more
			}
		}
		for {
			var records int
			var state logState
			err := r.s.update(func(tx KVTx) (err error) {
				records, state, err = r.logStep(tx)
				return err
			})
			if errors.Is(err, errFinishedElsewhere) || err != nil && r.finishedElsewhere() {
				r.s.crypt = r.next
				return r.seen, nil
			}
			if err != nil {
				return 0, err
			}
			if state == logDone {
				r.s.crypt = r.next
				return records, nil
			}
			rotateStep("a step committed")
			if state == logStale {
				break
			}
		}
	}
	return 0, errors.New("records kept being written under the old key during the rotation: stop every Provisio server of the site and run it again")
}
