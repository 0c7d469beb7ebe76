package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"sync"

	"provisio/core"
)

// userCache keeps the decoded form of user records, keyed by user key and
// checked against the stored bytes on every use, so it can never serve a
// stale user: a changed record has other bytes and is decoded again.
// Decoding the JSON was half of what a login costs inside its commit
// (docs/benchmarks.md); comparing a few hundred bytes costs almost
// nothing. Sealed fields stay sealed in the cache: openUser opens the PIN
// on each read, as without it.
type userCache struct {
	mu sync.RWMutex
	m  map[string]cachedUser
}

type cachedUser struct {
	raw []byte
	u   core.User
}

// maxCachedUsers bounds the cache (about 1 KiB an entry); past it, an
// arbitrary entry makes room. A small office's users who log in in a day
// fit.
const maxCachedUsers = 4096

// decode returns the user stored as v under key.
func (c *userCache) decode(key, v []byte) (core.User, error) {
	c.mu.RLock()
	e, ok := c.m[string(key)]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.raw, v) {
		return cloneUser(e.u), nil
	}
	var u core.User
	if err := json.Unmarshal(v, &u); err != nil {
		return u, fmt.Errorf("decode %s/%s: %w", bucketUsers, key, err)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]cachedUser)
	}
	if len(c.m) >= maxCachedUsers {
		for k := range c.m { // map order is random: an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	// v lives in bbolt's memory map: keep a copy.
	c.m[string(key)] = cachedUser{raw: bytes.Clone(v), u: cloneUser(u)}
	c.mu.Unlock()
	return u, nil
}

// cloneUser copies u deeply, so that a caller changing its copy (a map
// entry, a pointed-to struct) never changes the cached one.
// TestCloneUser fails when User gains a reference field not copied here.
func cloneUser(u core.User) core.User {
	u.Attributes = maps.Clone(u.Attributes)
	if u.PINReset != nil {
		pc := *u.PINReset
		if pc.OATH != nil {
			o := *pc.OATH
			pc.OATH = &o
		}
		u.PINReset = &pc
	}
	if u.DeviceCert != nil {
		dc := *u.DeviceCert
		u.DeviceCert = &dc
	}
	return u
}
