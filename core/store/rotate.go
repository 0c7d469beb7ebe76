package store

import (
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"provisio/core"
)

// Key rotation (issue #13). Every sealed value is opened with the old key
// and sealed with the new one, and the log is re-chained, in one
// transaction. Device Ids and agent secrets are kept only as keyed hashes
// and cannot be hashed again, so the key of those hashes is kept: after a
// rotation it is stored in config "id_key", sealed with the current key.
//
// The new key is written as provisio.key.new before the transaction and
// renamed over provisio.key after it; an open that finds the file sealed
// with provisio.key.new (a crash in between) finishes the rename.

var keyIDKey = []byte("id_key")

const pendingKeyName = KeyFileName + ".new"

// rotateFault, when set (tests only), is called at each step of RotateKey
// that a crash could cut short, by name, so a test can kill the process
// there.
var rotateFault func(step string)

func rotateStep(step string) {
	if rotateFault != nil {
		rotateFault(step)
	}
}

// loadIDKey replaces the derived hash key with the stored one, after a
// rotation.
func (s *Store) loadIDKey(tx KVTx) error {
	v := tx.Bucket(bucketConfig).Get(keyIDKey)
	if v == nil {
		return nil
	}
	k, err := s.crypt.openBytes(v, ad(bucketConfig, keyIDKey, "id"))
	if err != nil {
		return fmt.Errorf("the keyed-hash key: %w", err)
	}
	s.crypt.idKey = newMACKey(k)
	return nil
}

// What Open says (Notices, and the audit log) when it finds a rotation a
// crash cut short.
const (
	noticeRotationFinished = "A key rotation was interrupted after the data had been re-encrypted; it is finished now: %s holds the new data key. Take a new backup, as after any rotation."
	noticeRotationUndone   = "A key rotation was interrupted before it changed the data: the data keeps its data key, and the unused new key was removed (%s)."
	noticeRotationLeft     = "A key rotation was interrupted before it changed the data: the data keeps its data key, but the unused new key %s could not be removed (%v); remove it by hand."
)

// noteRotation tells the opener, and the audit log, what Open did about a
// rotation a crash cut short.
func (s *Store) noteRotation(tx KVTx, notice string) error {
	if _, err := (&txn{tx: tx, s: s}).AppendLog(s.ownLog(notice)); err != nil {
		return err
	}
	s.notices = append(s.notices, notice)
	return nil
}

// clearInterruptedRotation removes the new key of a rotation that a crash
// cut short before its commit: provisio.key.new, or the temporary file it
// was being written to. finishRotation has already put provisio.key.new
// in place if the data was sealed with it, so here it never sealed
// anything. Only for the data file, whose lock Open holds, so no rotation
// runs meanwhile; an etcd site has no such lock, and its leftovers stay.
func (s *Store) clearInterruptedRotation() error {
	if s.keyDir == "" || s.crypt == nil {
		return nil
	}
	es, err := os.ReadDir(s.keyDir)
	if err != nil {
		return nil // the key was read from it; nothing to clear that can be seen
	}
	var removed []string
	for _, e := range es {
		n := e.Name()
		if n != pendingKeyName && !strings.HasPrefix(n, "."+pendingKeyName+"-") {
			continue
		}
		path := filepath.Join(s.keyDir, n)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Not a reason to refuse the data, which reads under its key.
			s.notices = append(s.notices, fmt.Sprintf(noticeRotationLeft, path, err))
			continue
		}
		removed = append(removed, n)
	}
	if len(removed) == 0 {
		return nil
	}
	return s.update(func(tx KVTx) error {
		return s.noteRotation(tx, fmt.Sprintf(noticeRotationUndone, strings.Join(removed, ", ")))
	})
}

// finishRotation reports whether provisio.key.new in the key directory is
// the key the file is sealed with, and if so puts it in place.
func (s *Store) finishRotation(check []byte) bool {
	if s.keyDir == "" {
		return false
	}
	pending := filepath.Join(s.keyDir, pendingKeyName)
	key, err := os.ReadFile(pending)
	if err != nil || len(key) != KeySize {
		return false
	}
	c, err := newSealer(key)
	if err != nil || !hmac.Equal(check, c.checkValue()) {
		return false
	}
	if os.Rename(pending, filepath.Join(s.keyDir, KeyFileName)) != nil {
		return false
	}
	s.crypt = c
	return true
}

// RotateKey makes a new data key in the store's key directory and
// re-encrypts everything under it in one transaction; the old key is
// replaced (backups carry their own). It needs the data file to itself
// (the CLI); a log that does not verify is not re-chained and stops it.
// Its log line names the store's opener (Options.Actor): the command
// that rotates is the one that opened the store for it.
func (s *Store) RotateKey() (records int, err error) {
	if s.crypt == nil {
		return 0, errors.New("the data file is not encrypted, so there is no key to rotate")
	}
	if s.keyDir == "" {
		return 0, errors.New("the store was opened without a key directory")
	}
	if lim, ok := s.kv.(StepLimits); ok && s.db == nil {
		// etcd's bounded transactions (rotate_steps.go); what follows is
		// the data file's rotation, one bbolt transaction.
		return s.rotateInSteps(lim)
	}
	next, pending, err := s.pendingKey()
	if err != nil {
		return 0, err
	}
	err = s.update(func(tx KVTx) error {
		old := &txn{tx: tx, s: s}
		if _, err := old.verifyLog(); err != nil {
			return err
		}
		cpSeq, cpMAC, err := old.chainStart()
		if err != nil {
			return err
		}
		// Read everything sealed with the old key into plain values.
		var users []core.User
		if err := old.Users(func(u core.User) bool { users = append(users, u); return true }); err != nil {
			return err
		}
		var mails []core.OutMessage
		if err := old.Mails(func(m core.OutMessage) bool { mails = append(mails, m); return true }); err != nil {
			return err
		}
		type rec struct {
			k string
			r core.OATHRecord
		}
		var oaths []rec
		if err := old.OATHRecords(func(k string, r core.OATHRecord) bool { oaths = append(oaths, rec{k, r}); return true }); err != nil {
			return err
		}
		type logRec struct {
			k []byte
			l core.ClientLog
		}
		var clientLogs []logRec
		for _, k := range old.clientLogKeys() {
			l, err := old.ClientLog(string(k))
			if err != nil {
				return err
			}
			clientLogs = append(clientLogs, logRec{k, l})
		}
		// The identity servers on one etcd site share (identity.go).
		var identity map[string][]byte
		if v := tx.Bucket(bucketConfig).Get(keySharedIdentity); v != nil {
			if identity, err = s.openIdentity(v); err != nil {
				return err
			}
		}
		set, setErr := old.Settings()
		if setErr != nil && !errors.Is(setErr, core.ErrNotFound) {
			return setErr
		}
		var names []string
		_ = tx.Bucket(bucketStrings).ForEach(func(k, _ []byte) error { names = append(names, string(k)); return nil })
		strs := make([]core.StringSet, len(names))
		for i, n := range names {
			if strs[i], err = old.Strings(n); err != nil {
				return err
			}
		}
		nx := &txn{tx: tx, s: &Store{crypt: next}}
		for _, u := range users {
			if err := nx.PutUser(u); err != nil {
				return err
			}
		}
		for i := range mails {
			if err := nx.PutMail(&mails[i]); err != nil {
				return err
			}
		}
		for _, r := range oaths {
			if err := nx.putJSON(bucketOATH, []byte(r.k), nx.sealOATH([]byte(r.k), r.r)); err != nil {
				return err
			}
		}
		for _, r := range clientLogs {
			if err := nx.putJSON(bucketClientLogs, r.k, nx.sealClientLog(r.k, r.l)); err != nil {
				return err
			}
		}
		if setErr == nil {
			if err := nx.PutSettings(set); err != nil {
				return err
			}
		}
		if identity != nil {
			data, err := sealIdentity(next, identity)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketConfig).Put(keySharedIdentity, data); err != nil {
				return err
			}
		}
		for i, n := range names {
			if err := nx.PutStrings(n, &strs[i]); err != nil {
				return err
			}
		}
		if cpSeq > 0 {
			if err := nx.putCheckpointMAC(cpSeq, cpMAC); err != nil {
				return err
			}
		}
		n, err := nx.chainLog()
		if err != nil {
			return err
		}
		cfg := tx.Bucket(bucketConfig)
		if err := cfg.Put(keyIDKey, next.sealBytes(next.idKey.key, ad(bucketConfig, keyIDKey, "id"))); err != nil {
			return err
		}
		if err := cfg.Put(keyKeyCheck, next.checkValue()); err != nil {
			return err
		}
		records = len(users) + len(mails) + len(oaths) + len(clientLogs) + len(identity) + len(names) + n
		if _, err = nx.AppendLog(s.ownLog(fmt.Sprintf("The data key was rotated: %d records re-encrypted and the audit log re-chained under the new key.", records))); err != nil {
			return err
		}
		rotateStep("re-encrypted, not committed")
		return nil
	})
	if err != nil {
		os.Remove(pending)
		return 0, fmt.Errorf("rotate the data key (nothing changed): %w", err)
	}
	s.crypt = next
	rotateStep("committed, key not renamed")
	if err := os.Rename(pending, filepath.Join(s.keyDir, KeyFileName)); err != nil {
		return records, fmt.Errorf("the data is re-encrypted under %s but it could not be renamed to %s: %w; rename it by hand", pending, KeyFileName, err)
	}
	rotateStep("renamed, free pages not scrubbed")
	s.oathDirty.Store(true)
	return records, s.ScrubFree(false)
}

// pendingKey makes the next data key and writes it to the key directory
// as provisio.key.new before any record is sealed with it, so that an
// open after a crash finds the key of what was rewritten. Its sealer
// keeps the current hash key (idKey): device Ids and agent secrets are
// kept only as keyed hashes and cannot be hashed again.
func (s *Store) pendingKey() (next *sealer, path string, err error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", err
	}
	if next, err = newSealer(key); err != nil {
		return nil, "", err
	}
	next.idKey = s.crypt.idKey
	if err := writeKeyAs(s.keyDir, pendingKeyName, key); err != nil {
		return nil, "", err
	}
	return next, filepath.Join(s.keyDir, pendingKeyName), nil
}
