package store

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"provisio/core"
)

// The log's steps of a key rotation in steps (rotate_steps.go), and the
// last step, which finishes it.

// logState is what a step of the log did.
type logState int

const (
	logMore  logState = iota // entries remain
	logDone                  // the rotation is finished
	logStale                 // the log is done, but records need sealing again
)

// logStep re-chains the next entries of the log under the new key, each
// checked against the old chain first; when the rest of the log fits, it
// finishes the rotation in the same transaction (finish).
func (r *stepRotation) logStep(tx KVTx) (records int, state logState, err error) {
	rec, err := r.rotation(tx)
	if err != nil {
		return 0, logMore, err
	}
	old := &txn{tx: tx, s: r.s}
	cpSeq, cpMAC, err := old.chainStart()
	if err != nil {
		return 0, logMore, err
	}
	if cpSeq > rec.LogSeq {
		// Trimmed meanwhile past the entries re-chained so far: the
		// new chain starts from the checkpoint's MAC, which the last
		// step signs with the new key. (A trim within them kept a MAC
		// of the new chain in the checkpoint, which goes on as it is.)
		mac := hex.EncodeToString(cpMAC)
		rec.LogSeq, rec.LogOld, rec.LogNew = cpSeq, mac, mac
	}
	prevOld, err1 := hex.DecodeString(rec.LogOld)
	prevNew, err2 := hex.DecodeString(rec.LogNew)
	if err1 != nil || err2 != nil {
		return 0, logMore, errors.New("the record of the key rotation does not decode")
	}
	// The last step's own writes: settings, identity, checkpoint, id key,
	// check value, the record's removal, the log line and its sequence.
	const finishOps = 12
	room, size := r.ops-4, 0
	// Each entry re-chained, and its MAC in the old chain (as stored).
	type moved struct {
		lr     logRecord
		oldMAC string
	}
	var entries []moved
	c := tx.Bucket(bucketLog).Cursor()
	want := rec.LogSeq + 1
	end := true
	for k, v := c.Seek(seqKey(want)); k != nil; k, v = c.Next() {
		if len(entries) >= room || (len(entries) > 0 && size+len(v)+64 > r.bytes) {
			end = false
			break
		}
		if len(k) != 8 || binary.BigEndian.Uint64(k) != want {
			return 0, logMore, &LogChainError{Seq: want, Problem: "the entry is missing"}
		}
		var lr logRecord
		if err := json.Unmarshal(v, &lr); err != nil {
			return 0, logMore, &LogChainError{Seq: want, Problem: "the entry does not decode"}
		}
		if canon, err := json.Marshal(lr); err != nil || !bytes.Equal(canon, v) || lr.Seq != want {
			return 0, logMore, &LogChainError{Seq: want, Problem: "the entry was altered"}
		}
		mac, err := r.s.crypt.logMAC(prevOld, lr.LogEntry)
		if err != nil {
			return 0, logMore, err
		}
		if want == rec.LogSeq+1 && !hmac.Equal([]byte(hex.EncodeToString(mac)), []byte(lr.MAC)) {
			// Appended since the last step by a writer with the old
			// key, after the MAC it chained from was rewritten: the old
			// key over the new chain's MAC, which vouches for it as well.
			if mac, err = r.s.crypt.logMAC(prevNew, lr.LogEntry); err != nil {
				return 0, logMore, err
			}
		}
		if !hmac.Equal([]byte(hex.EncodeToString(mac)), []byte(lr.MAC)) {
			return 0, logMore, &LogChainError{Seq: want, Problem: "its MAC does not match (altered, or the chain was rebuilt without the data key)"}
		}
		nmac, err := r.next.logMAC(prevNew, lr.LogEntry)
		if err != nil {
			return 0, logMore, err
		}
		prevOld, prevNew = mac, nmac
		old := lr.MAC
		lr.MAC = hex.EncodeToString(nmac)
		entries = append(entries, moved{lr, old})
		size += len(v) + 64
		want++
	}
	if end && len(entries)+finishOps > room {
		// The rest fits, but not beside the last step's own writes.
		entries, end = entries[:len(entries)-finishOps], false
	}
	nx := &txn{tx: tx, s: &Store{crypt: r.next}}
	for _, e := range entries {
		if err := nx.putJSON(bucketLog, seqKey(e.lr.Seq), e.lr); err != nil {
			return 0, logMore, err
		}
	}
	rec.Records += len(entries)
	if len(entries) > 0 {
		last := entries[len(entries)-1]
		rec.LogSeq, rec.LogOld, rec.LogNew = last.lr.Seq, last.oldMAC, last.lr.MAC
	}
	if end {
		// Every record must open under the new key at this step's
		// revision (a cursor's range compare covers the whole bucket),
		// or the check value cannot change.
		n, ok, err := r.resealRest(tx, room-len(entries)-finishOps, r.bytes-size)
		if err != nil {
			return 0, logMore, err
		}
		rec.Records += n
		if ok {
			records, err := r.finish(tx, rec)
			return records, logDone, err
		}
	}
	if len(entries) == 0 && !end {
		return 0, logMore, errors.New("a log entry is too big for one etcd request")
	}
	state = logMore
	if end {
		state = logStale
	}
	return 0, state, putRotation(tx, *rec, r.next)
}

// finish is the last step: config's sealed values, the checkpoint signed
// anew, the new check value and the rotation's log line, in the
// transaction that re-chains the end of the log.
func (r *stepRotation) finish(tx KVTx, rec *rotationRecord) (int, error) {
	old, nx := &txn{tx: tx, s: r.s}, &txn{tx: tx, s: &Store{crypt: r.next}}
	cpSeq, cpMAC, err := old.chainStart()
	if err != nil {
		return 0, err
	}
	records := rec.Records
	set, err := old.Settings()
	switch {
	case err == nil:
		if err := nx.PutSettings(set); err != nil {
			return 0, err
		}
		records++
	case !errors.Is(err, core.ErrNotFound):
		return 0, err
	}
	cfg := tx.Bucket(bucketConfig)
	if v := cfg.Get(keySharedIdentity); v != nil {
		identity, err := r.s.openIdentity(v)
		if err != nil {
			return 0, err
		}
		data, err := sealIdentity(r.next, identity)
		if err != nil {
			return 0, err
		}
		if err := cfg.Put(keySharedIdentity, data); err != nil {
			return 0, err
		}
		records += len(identity)
	}
	if cpSeq > 0 {
		if err := nx.putCheckpointMAC(cpSeq, cpMAC); err != nil {
			return 0, err
		}
	}
	if err := cfg.Put(keyIDKey, r.next.sealBytes(r.next.idKey.key, ad(bucketConfig, keyIDKey, "id"))); err != nil {
		return 0, err
	}
	if err := cfg.Put(keyKeyCheck, r.next.checkValue()); err != nil {
		return 0, err
	}
	if err := cfg.Delete(keyRotation); err != nil {
		return 0, err
	}
	if _, err := nx.AppendLog(r.s.ownLog(fmt.Sprintf("The data key was rotated: %d records re-encrypted and the audit log re-chained under the new key, in steps that each fit one etcd transaction.", records))); err != nil {
		return 0, err
	}
	return records, nil
}
