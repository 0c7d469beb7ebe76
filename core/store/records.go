package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"provisio/core"
)

// The records of core.Tx over the seam: users, provision codes, devices,
// strings, settings, agents, the audit log and the outbox, each a bucket
// of schema.go (sealing in crypt_records.go, the log chain in logchain.go).

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

// DeviceUser looks up an Id a caller presents: one that looks like a
// stored hash is hashed again, so the bucket's own keys, read from a copy
// of the data, find nobody.
func (t *txn) DeviceUser(id string) (string, error) {
	v := t.tx.Bucket(bucketDevices).Get(t.presentedDeviceKey(id))
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
	// JSON cannot hold invalid UTF-8: encoding replaces each bad byte
	// with "\ufffd", which decodes to a rune that encodes differently,
	// so the stored record would never again equal the canonical form
	// of the entry and the chain would fail there for ever (and with it
	// every backup). The entry is made valid before it is chained.
	e.Message = strings.ToValidUTF8(e.Message, "\uFFFD")
	e.User = strings.ToValidUTF8(e.User, "\uFFFD")
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
