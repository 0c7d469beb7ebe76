package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// macKey is an HMAC-SHA-256 key with a pool of ready hashers. hmac.New
// hashes the key into its two pads on every call, and a login makes two
// MACs (the agent secret's keyed hash and its log line's chain link), so
// rebuilding them showed in a login's profile; a hasher reset after use
// starts again from the pads it already holds.
type macKey struct {
	key  []byte
	pool sync.Pool
}

func newMACKey(key []byte) *macKey {
	k := &macKey{key: key}
	k.pool.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// get returns a hasher keyed with k, ready to write; give it back with put.
func (k *macKey) get() hash.Hash { return k.pool.Get().(hash.Hash) }

// put resets m and keeps it for the next get.
func (k *macKey) put(m hash.Hash) {
	m.Reset()
	k.pool.Put(m)
}
