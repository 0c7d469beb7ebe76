package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"provisio/core"
)

// The login record, fixed size and big-endian, so that the write every
// login makes is a few dozen bytes:
//
//	0      version (1)
//	1      next string index
//	2..5   failures
//	6..7   locks
//	8      flags: bit 0 permanent lock
//	9..16  locked until, Unix nanoseconds (0: none)
//	17..24 last login, Unix nanoseconds (0: never)
const (
	loginRecordVersion = 1
	loginRecordLen     = 25
	flagPermanent      = 1
)

func encodeLoginState(ls core.LoginState) []byte {
	b := make([]byte, loginRecordLen)
	b[0] = loginRecordVersion
	b[1] = byte(min(max(ls.Next, 0), 255))
	binary.BigEndian.PutUint32(b[2:], uint32(min(max(ls.Failures, 0), 1<<31)))
	binary.BigEndian.PutUint16(b[6:], uint16(min(max(ls.Locks, 0), 1<<15)))
	if ls.Permanent {
		b[8] |= flagPermanent
	}
	binary.BigEndian.PutUint64(b[9:], uint64(unixNano(ls.LockedUntil)))
	binary.BigEndian.PutUint64(b[17:], uint64(unixNano(ls.LastLogin)))
	return b
}

func decodeLoginState(v []byte) (core.LoginState, error) {
	if len(v) != loginRecordLen || v[0] != loginRecordVersion {
		return core.LoginState{}, fmt.Errorf("login record is %d bytes of version %d, want %d bytes of version %d", len(v), firstByte(v), loginRecordLen, loginRecordVersion)
	}
	return core.LoginState{
		Next:        int(v[1]),
		Failures:    int(binary.BigEndian.Uint32(v[2:])),
		Locks:       int(binary.BigEndian.Uint16(v[6:])),
		Permanent:   v[8]&flagPermanent != 0,
		LockedUntil: fromUnixNano(int64(binary.BigEndian.Uint64(v[9:]))),
		LastLogin:   fromUnixNano(int64(binary.BigEndian.Uint64(v[17:]))),
	}, nil
}

func firstByte(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0])
}

// unixNano maps the zero time to 0, which no real login time has.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (t *txn) LoginState(username string) (core.LoginState, error) {
	v := t.tx.Bucket(bucketLogins).Get(userKey(username))
	if v == nil {
		return core.LoginState{}, core.ErrNotFound
	}
	ls, err := decodeLoginState(v)
	if err != nil {
		return ls, fmt.Errorf("decode login state of %s: %w", username, err)
	}
	return ls, nil
}

func (t *txn) PutLoginState(username string, ls core.LoginState) error {
	return t.tx.Bucket(bucketLogins).Put(userKey(username), encodeLoginState(ls))
}

// legacyLogin is the login state as earlier versions kept it inside the
// JSON user record.
type legacyLogin struct {
	Locked    bool      `json:"locked"`
	Failures  int       `json:"failures"`
	LastLogin time.Time `json:"last_login"`
}

// migrateLogins moves every user's login state out of the user record
// (locked, failures, last login) and the strings record (next index) into
// the logins bucket, once, in the transaction that opens the store. A
// locked user stays locked until an administrator unlocks them, as before.
func migrateLogins(tx KVTx) error {
	config := tx.Bucket(bucketConfig)
	if config.Get(keyLoginsMigrated) != nil {
		return nil
	}
	users, logins, strs := tx.Bucket(bucketUsers), tx.Bucket(bucketLogins), tx.Bucket(bucketStrings)
	type rewrite struct{ key, value []byte }
	var rewrites []rewrite
	err := users.ForEach(func(k, v []byte) error {
		var old legacyLogin
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("decode user %s: %w", k, err)
		}
		ls := core.LoginState{Failures: old.Failures, Permanent: old.Locked, LastLogin: old.LastLogin}
		if s := strs.Get(k); len(s) == stringsRecordLen {
			ls.Next = int(s[0])
		}
		if logins.Get(k) == nil {
			if err := logins.Put(k, encodeLoginState(ls)); err != nil {
				return err
			}
		}
		// Rewrite the record without the fields that moved.
		var u core.User
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("decode user %s: %w", k, err)
		}
		data, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("encode user %s: %w", k, err)
		}
		rewrites = append(rewrites, rewrite{append([]byte(nil), k...), data})
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate login state: %w", err)
	}
	// Put is not allowed while ForEach walks the same bucket.
	for _, r := range rewrites {
		if err := users.Put(r.key, r.value); err != nil {
			return fmt.Errorf("migrate login state: %w", err)
		}
	}
	return config.Put(keyLoginsMigrated, []byte("1"))
}
