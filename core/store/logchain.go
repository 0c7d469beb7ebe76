package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"provisio/core"
)

// The audit log's MAC chain (issue #13). With a data key, each entry is
// stored with
//
//	mac_n = HMAC-SHA-256(logKey, mac_{n-1} ‖ JSON(entry_n))
//
// where mac_0 is 32 zero bytes, or the checkpoint's MAC once the oldest
// entries were trimmed. The checkpoint (config "log_checkpoint") names the
// last trimmed entry and its MAC and is itself signed, so deleting the
// oldest entries and moving the checkpoint needs the key too. An entry's
// stored bytes must be exactly the canonical JSON of the entry and its MAC,
// so no edit survives, not even one JSON decoding would forgive.

var keyLogCheckpoint = []byte("log_checkpoint")

func nowUTC() time.Time { return time.Now().UTC() }

// logRecord is the stored form of a log entry.
type logRecord struct {
	core.LogEntry
	MAC string `json:"mac,omitempty"`
}

type checkpoint struct {
	Seq uint64 `json:"seq"`
	MAC string `json:"mac"`
	Sig string `json:"sig"`
}

func (s *sealer) logMAC(prev []byte, e core.LogEntry) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return s.logMACOf(prev, body), nil
}

// logMACOf is logMAC of an entry already encoded as body.
func (s *sealer) logMACOf(prev, body []byte) []byte {
	m := s.log.get()
	m.Write(prev)
	m.Write(body)
	sum := m.Sum(make([]byte, 0, sha256.Size))
	s.log.put(m)
	return sum
}

// withMAC is the stored record of the entry encoded as body, with its
// MAC: exactly json.Marshal(logRecord{entry, hex(mac)}), as the entry's
// fields come first and the MAC last (TestLogRecord_WithMACIsCanonical),
// without encoding the entry a second time on every append.
func withMAC(body, mac []byte) []byte {
	out := make([]byte, 0, len(body)+len(`,"mac":""`)+2*len(mac))
	if len(body) > 2 {
		out = append(out, body[:len(body)-1]...)
		out = append(out, ',')
	} else {
		out = append(out, '{')
	}
	out = append(out, `"mac":"`...)
	out = hex.AppendEncode(out, mac)
	return append(out, '"', '}')
}

func (s *sealer) checkpointSig(seq uint64, mac []byte) string {
	m := s.log.get()
	defer s.log.put(m)
	m.Write([]byte("checkpoint"))
	m.Write(binary.BigEndian.AppendUint64(nil, seq))
	m.Write(mac)
	return hex.EncodeToString(m.Sum(nil))
}

// chainStart is the MAC the oldest stored entry chains from, and the seq
// of the last trimmed entry (0 if none).
func (t *txn) chainStart() (seq uint64, mac []byte, err error) {
	v := t.tx.Bucket(bucketConfig).Get(keyLogCheckpoint)
	if v == nil {
		return 0, make([]byte, sha256.Size), nil
	}
	var cp checkpoint
	if err := json.Unmarshal(v, &cp); err != nil {
		return 0, nil, errors.New("the log checkpoint does not decode")
	}
	mac, err = hex.DecodeString(cp.MAC)
	if err != nil || len(mac) != sha256.Size || !hmac.Equal([]byte(cp.Sig), []byte(t.s.crypt.checkpointSig(cp.Seq, mac))) {
		return 0, nil, errors.New("the log checkpoint is not signed by this data key")
	}
	return cp.Seq, mac, nil
}

// headMAC is the MAC of the newest entry, or the chain start.
func (t *txn) headMAC() ([]byte, error) {
	_, v := t.tx.Bucket(bucketLog).Cursor().Last()
	if v == nil {
		_, mac, err := t.chainStart()
		return mac, err
	}
	if mac, ok := t.s.logHead.mac(v); ok {
		return mac, nil
	}
	var r logRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode the newest log entry: %w", err)
	}
	return hex.DecodeString(r.MAC)
}

// putLog stores e (its Seq set) with its chain MAC.
func (t *txn) putLog(e core.LogEntry) error {
	if c := t.s.crypt; c != nil {
		prev, err := t.headMAC()
		if err != nil {
			return err
		}
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode log entry %d: %w", e.Seq, err)
		}
		mac := c.logMACOf(prev, body)
		data := withMAC(body, mac)
		if err := t.tx.Bucket(bucketLog).Put(seqKey(e.Seq), data); err != nil {
			return err
		}
		t.s.logHead.set(data, mac)
		return nil
	}
	return t.putJSON(bucketLog, seqKey(e.Seq), logRecord{LogEntry: e})
}

// logHead remembers the newest log record this store wrote and its MAC,
// so that appending the next entry need not decode that record again.
// It is keyed by the record's bytes, compared with what the log holds
// now, so a rolled-back write, a rotation or a restore can never make it
// answer for another record.
type logHead struct {
	mu  sync.Mutex
	raw []byte
	m   []byte
}

// mac returns the MAC of the stored record v, if v is the one remembered.
func (h *logHead) mac(v []byte) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.raw == nil || !bytes.Equal(h.raw, v) {
		return nil, false
	}
	return h.m, true
}

// set remembers the record data just stored, whose MAC is mac.
func (h *logHead) set(data, mac []byte) {
	h.mu.Lock()
	h.raw, h.m = data, mac
	h.mu.Unlock()
}

// chainLog computes the chain over every stored entry (the migration of
// a log written without a key) and returns how many it chained.
func (t *txn) chainLog() (int, error) {
	_, prev, err := t.chainStart()
	if err != nil {
		return 0, err
	}
	var recs []logRecord
	c := t.tx.Bucket(bucketLog).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var r logRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return 0, fmt.Errorf("decode log %x: %w", k, err)
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		mac, err := t.s.crypt.logMAC(prev, r.LogEntry)
		if err != nil {
			return 0, err
		}
		r.MAC, prev = hex.EncodeToString(mac), mac
		if err := t.putJSON(bucketLog, seqKey(r.Seq), r); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}

// putCheckpoint records the last trimmed entry's MAC, signed.
func (t *txn) putCheckpoint(seq uint64, macHex string) error {
	mac, err := hex.DecodeString(macHex)
	if err != nil || len(mac) != sha256.Size {
		return fmt.Errorf("log entry #%d has no valid MAC to keep as the checkpoint", seq)
	}
	return t.putCheckpointMAC(seq, mac)
}

// putCheckpointMAC writes the checkpoint signed with the store's log key.
func (t *txn) putCheckpointMAC(seq uint64, mac []byte) error {
	macHex := hex.EncodeToString(mac)
	data, err := json.Marshal(checkpoint{Seq: seq, MAC: macHex, Sig: t.s.crypt.checkpointSig(seq, mac)})
	if err != nil {
		return err
	}
	return t.tx.Bucket(bucketConfig).Put(keyLogCheckpoint, data)
}

// LogVerification is the result of VerifyLog.
type LogVerification = core.LogChain

// LogChainError names the first entry that does not verify.
type LogChainError struct {
	Seq     uint64 // 0 when the checkpoint itself is bad
	Problem string
}

// Is makes a LogChainError match core.ErrLogBroken, so the core gives
// its sentence to every caller.
func (e *LogChainError) Is(target error) bool { return target == core.ErrLogBroken }

// Error names the entry that does not verify (or the checkpoint) and why.
func (e *LogChainError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("The audit log does not verify: %s.", e.Problem)
	}
	return fmt.Sprintf("The audit log does not verify at entry #%d: %s.", e.Seq, e.Problem)
}

// ErrLogNotChained is returned by VerifyLog on a store without a data key.
var ErrLogNotChained = core.ErrLogNotChained

// VerifyLog checks the whole chain, from the checkpoint to the newest
// entry, and returns a *LogChainError naming the first bad entry. It
// implements core.LogVerifier.
func (s *Store) VerifyLog() (v LogVerification, err error) {
	if s.crypt == nil {
		return v, ErrLogNotChained
	}
	err = s.view(func(tx KVTx) error {
		v, err = (&txn{tx: tx, s: s}).verifyLog()
		return err
	})
	return v, err
}

func (t *txn) verifyLog() (v LogVerification, err error) {
	cpSeq, prev, err := t.chainStart()
	if err != nil {
		return v, &LogChainError{Problem: err.Error()}
	}
	v.Checkpoint, v.From = cpSeq, cpSeq+1
	want := cpSeq + 1
	b := t.tx.Bucket(bucketLog)
	c := b.Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		seq := uint64(0)
		if len(k) == 8 {
			seq = binary.BigEndian.Uint64(k)
		}
		if seq != want {
			if seq > want {
				return v, &LogChainError{Seq: want, Problem: "the entry is missing"}
			}
			return v, &LogChainError{Seq: seq, Problem: "the entry is out of place"}
		}
		var r logRecord
		if err := json.Unmarshal(val, &r); err != nil {
			return v, &LogChainError{Seq: seq, Problem: "the entry does not decode"}
		}
		canon, err := json.Marshal(r)
		if err != nil || !bytes.Equal(canon, val) || r.Seq != seq {
			return v, &LogChainError{Seq: seq, Problem: "the entry was altered"}
		}
		mac, err := t.s.crypt.logMAC(prev, r.LogEntry)
		if err != nil {
			return v, err
		}
		if !hmac.Equal([]byte(hex.EncodeToString(mac)), []byte(r.MAC)) {
			return v, &LogChainError{Seq: seq, Problem: "its MAC does not match (altered, or the chain was rebuilt without the data key)"}
		}
		prev, v.Last, v.Checked, want = mac, seq, v.Checked+1, seq+1
	}
	if v.Last == 0 {
		v.Last = cpSeq
	}
	// Entries removed from the end are noticed where the bucket's
	// sequence runs ahead of the newest entry.
	if seq := b.Sequence(); seq > v.Last {
		return v, &LogChainError{Seq: v.Last + 1, Problem: "the entry is missing"}
	}
	v.Head = hex.EncodeToString(prev)
	return v, nil
}
