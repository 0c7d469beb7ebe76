package store

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
	"path/filepath"

	"provisio/core"
)

// ErrKeyNeeded is returned by Open without Options.Key on a data file
// whose secrets are sealed.
var ErrKeyNeeded = errors.New("the stored secrets are encrypted and their data key is missing; put provisio.key back from your backup, or give its directory with --key-dir or PROVISIO_KEY_DIR")

// ErrKeyMismatch is returned by Open when the data key is not the one the
// file was sealed with.
var ErrKeyMismatch = errors.New("the data key is not the one the stored secrets were encrypted with; put the right provisio.key back from your backup, or give its directory with --key-dir or PROVISIO_KEY_DIR")

// keyKeyCheck in config holds the data key's check value once the file's
// secrets are sealed (crypt.go).
var keyKeyCheck = []byte("key_check")

// HashSecret implements core.SecretHasher: the stored form of a presented
// device Id or agent secret, to compare with what the store holds. A value
// that looks like a stored hash is hashed again, so it never matches one.
// A plain store returns v.
func (s *Store) HashSecret(purpose, v string) string {
	if s.crypt == nil {
		return v
	}
	return s.crypt.hashPresented(purpose, v)
}

// Encrypted reports whether the store seals secrets and chains its log.
func (s *Store) Encrypted() bool { return s.crypt != nil }

// deviceKey is the devices bucket's key of id as a record holds it (a
// user's DeviceID, hashed already once sealed); presentedDeviceKey is
// that of an Id a caller presents.
func (t *txn) deviceKey(id string) []byte {
	if c := t.s.crypt; c != nil {
		return []byte(c.hash(hashDevice, id))
	}
	return []byte(id)
}

func (t *txn) presentedDeviceKey(id string) []byte {
	if c := t.s.crypt; c != nil {
		return []byte(c.hashPresented(hashDevice, id))
	}
	return []byte(id)
}

func (t *txn) sealUser(key []byte, u core.User) core.User {
	if c := t.s.crypt; c != nil {
		u.PIN = c.sealString(u.PIN, ad(bucketUsers, key, "pin"))
		u.DeviceID = c.hash(hashDevice, u.DeviceID)
	}
	return u
}

func (t *txn) openUser(key []byte, u core.User) (core.User, error) {
	c := t.s.crypt
	if c == nil {
		return u, nil
	}
	pin, err := c.openString(u.PIN, ad(bucketUsers, key, "pin"))
	if err != nil {
		return u, fmt.Errorf("user %s: %w", key, err)
	}
	u.PIN = pin
	return u, nil
}

func (t *txn) sealMail(m core.OutMessage) core.OutMessage {
	if c := t.s.crypt; c != nil {
		key := seqKey(m.ID)
		m.Code = c.sealString(m.Code, ad(bucketOutbox, key, "code"))
		m.URL = c.sealString(m.URL, ad(bucketOutbox, key, "url"))
		m.Text = c.sealString(m.Text, ad(bucketOutbox, key, "text"))
	}
	return m
}

func (t *txn) openMail(m core.OutMessage) (core.OutMessage, error) {
	c := t.s.crypt
	if c == nil {
		return m, nil
	}
	key := seqKey(m.ID)
	var err error
	for _, f := range []struct {
		name string
		v    *string
	}{{"code", &m.Code}, {"url", &m.URL}, {"text", &m.Text}} {
		if *f.v, err = c.openString(*f.v, ad(bucketOutbox, key, f.name)); err != nil {
			return m, fmt.Errorf("outbox message %d: %w", m.ID, err)
		}
	}
	return m, nil
}

func (t *txn) sealOATH(key []byte, r core.OATHRecord) core.OATHRecord {
	c := t.s.crypt
	if c == nil {
		return r
	}
	seal := func(tok *core.OATHToken, field string) *core.OATHToken {
		if tok == nil {
			return nil
		}
		cp := *tok
		cp.Secret = c.sealBytes(tok.Secret, ad(bucketOATH, key, field))
		return &cp
	}
	return core.OATHRecord{Active: seal(r.Active, "active"), Pending: seal(r.Pending, "pending")}
}

func (t *txn) openOATH(key []byte, r core.OATHRecord) (core.OATHRecord, error) {
	c := t.s.crypt
	if c == nil {
		return r, nil
	}
	for _, f := range []struct {
		name string
		tok  *core.OATHToken
	}{{"active", r.Active}, {"pending", r.Pending}} {
		if f.tok == nil {
			continue
		}
		p, err := c.openBytes(f.tok.Secret, ad(bucketOATH, key, f.name))
		if err != nil {
			return r, fmt.Errorf("oath token of %s: %w", key, err)
		}
		f.tok.Secret = p
	}
	return r, nil
}

// setupCrypt checks the data key against the file, or seals a file that
// has never been sealed, in the open transaction.
func (s *Store) setupCrypt(tx KVTx) error {
	check := tx.Bucket(bucketConfig).Get(keyKeyCheck)
	if s.crypt == nil {
		if check != nil {
			if s.newKeyDir != "" {
				return fmt.Errorf("%s does not exist: %w", filepath.Join(s.newKeyDir, KeyFileName), ErrKeyNeeded)
			}
			return ErrKeyNeeded
		}
		if s.newKeyDir == "" {
			return nil
		}
		// First run with a key directory: make the key, then seal.
		key, err := LoadKey(s.dataDir, s.newKeyDir, true)
		if err != nil {
			return err
		}
		if s.crypt, err = newSealer(key); err != nil {
			return err
		}
	} else if check != nil {
		finished := false
		if !hmac.Equal(check, s.crypt.checkValue()) {
			if !s.finishRotation(check) {
				return ErrKeyMismatch
			}
			finished = true
		}
		if err := s.loadIDKey(tx); err != nil {
			return err
		}
		if !finished {
			return nil
		}
		// The rotation itself would have scrubbed the free pages, which
		// hold the values sealed with the old key.
		s.oathDirty.Store(true)
		return s.noteRotation(tx, fmt.Sprintf(noticeRotationFinished, KeyFileName))
	}
	n, err := s.sealAll(tx)
	if err != nil {
		return fmt.Errorf("encrypt the data file: %w", err)
	}
	if err := tx.Bucket(bucketConfig).Put(keyKeyCheck, s.crypt.checkValue()); err != nil {
		return err
	}
	if n > 0 {
		s.oathDirty.Store(true) // the plain values are on free pages now: scrub them (Open)
		// The first run of a data file made before #13 is worth a line;
		// a new, empty file is not.
		t := &txn{tx: tx, s: s}
		_, err = t.AppendLog(s.ownLog(fmt.Sprintf("The data file's secrets were encrypted with the data key and the audit log was chained (%d records).", n)))
	}
	return err
}

// sealAll rewrites every record that holds a secret in sealed form and
// chains the existing log, all in tx: a crash leaves the plain file.
func (s *Store) sealAll(tx KVTx) (n int, err error) {
	plain := &txn{tx: tx, s: &Store{}}
	sealed := &txn{tx: tx, s: s}
	var users []core.User
	if err := plain.Users(func(u core.User) bool { users = append(users, u); return true }); err != nil {
		return n, err
	}
	for _, u := range users {
		if err := sealed.PutUser(u); err != nil {
			return n, err
		}
		n++
	}
	type dev struct{ id, user string }
	var devs []dev
	if err := tx.Bucket(bucketDevices).ForEach(func(k, v []byte) error {
		devs = append(devs, dev{string(k), string(v)})
		return nil
	}); err != nil {
		return n, err
	}
	for _, d := range devs {
		if err := plain.DeleteDevice(d.id); err != nil {
			return n, err
		}
		if err := sealed.PutDevice(d.id, d.user); err != nil {
			return n, err
		}
		n++
	}
	var names [][]byte
	_ = tx.Bucket(bucketStrings).ForEach(func(k, _ []byte) error { names = append(names, bytes.Clone(k)); return nil })
	for _, k := range names {
		ss, err := plain.Strings(string(k))
		if err != nil {
			return n, err
		}
		if err := sealed.PutStrings(string(k), &ss); err != nil {
			return n, err
		}
		n++
	}
	if set, err := plain.Settings(); err == nil {
		if err := sealed.PutSettings(set); err != nil {
			return n, err
		}
	} else if !errors.Is(err, core.ErrNotFound) {
		return n, err
	}
	agents, err := plain.Agents()
	if err != nil {
		return n, err
	}
	for _, a := range agents {
		if err := sealed.PutAgent(a); err != nil {
			return n, err
		}
		n++
	}
	var mails []core.OutMessage
	if err := plain.Mails(func(m core.OutMessage) bool { mails = append(mails, m); return true }); err != nil {
		return n, err
	}
	for i := range mails {
		if err := sealed.PutMail(&mails[i]); err != nil {
			return n, err
		}
		n++
	}
	type oathRec struct {
		k string
		r core.OATHRecord
	}
	var recs []oathRec
	if err := plain.OATHRecords(func(k string, r core.OATHRecord) bool { recs = append(recs, oathRec{k, r}); return true }); err != nil {
		return n, err
	}
	for _, r := range recs {
		if err := sealed.putJSON(bucketOATH, []byte(r.k), sealed.sealOATH([]byte(r.k), r.r)); err != nil {
			return n, err
		}
		n++
	}
	for _, k := range plain.clientLogKeys() {
		l, err := plain.ClientLog(string(k))
		if err != nil {
			return n, err
		}
		if err := sealed.putJSON(bucketClientLogs, k, sealed.sealClientLog(k, l)); err != nil {
			return n, err
		}
		n++
	}
	m, err := sealed.chainLog()
	return n + m, err
}
