package store

import (
	"bytes"
	"fmt"

	"provisio/core"
)

// Client diagnostic logs (#14), keyed by lower-case username. Each
// upload's text is sealed on its own (crypt.go) with the bucket, the
// user's key and the field "text" as associated data, so a sealed log
// copied onto another user's record does not open.

func (t *txn) ClientLog(username string) (l core.ClientLog, err error) {
	key := userKey(username)
	if err = t.getJSON(bucketClientLogs, key, &l); err != nil {
		return l, err
	}
	return t.openClientLog(key, l)
}

func (t *txn) PutClientLog(username string, l core.ClientLog) error {
	key := userKey(username)
	if len(l.Entries) == 0 {
		return t.delete(bucketClientLogs, key)
	}
	return t.putJSON(bucketClientLogs, key, t.sealClientLog(key, l))
}

func (t *txn) sealClientLog(key []byte, l core.ClientLog) core.ClientLog {
	c := t.s.crypt
	if c == nil {
		return l
	}
	out := core.ClientLog{Entries: make([]core.ClientLogEntry, len(l.Entries))}
	for i, e := range l.Entries {
		e.Text = c.sealString(e.Text, ad(bucketClientLogs, key, "text"))
		out.Entries[i] = e
	}
	return out
}

func (t *txn) openClientLog(key []byte, l core.ClientLog) (core.ClientLog, error) {
	c := t.s.crypt
	if c == nil {
		return l, nil
	}
	for i := range l.Entries {
		p, err := c.openString(l.Entries[i].Text, ad(bucketClientLogs, key, "text"))
		if err != nil {
			return l, fmt.Errorf("client log of %s: %w", key, err)
		}
		l.Entries[i].Text = p
	}
	return l, nil
}

// clientLogKeys returns the keys of every stored client log, for the
// passes that re-seal everything (sealAll, RotateKey).
func (t *txn) clientLogKeys() [][]byte {
	var keys [][]byte
	_ = t.tx.Bucket(bucketClientLogs).ForEach(func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	return keys
}
