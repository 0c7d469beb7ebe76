// Package storetest opens real bbolt stores and services for tests.
package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"provisio/core"
	"provisio/core/store"
)

// MustOpen opens a store in a fresh t.TempDir() and closes it at cleanup.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// MustService returns a Service over a fresh store. Settings advertise
// 127.0.0.1 so Provision URLs point at loopback.
func MustService(tb testing.TB, opts ...core.Option) *core.Service {
	tb.Helper()
	return MustServiceOn(tb, MustOpen(tb), opts...)
}

// MustServiceOn is MustService over the store st, for tests that also
// set up records directly (SetLastLogin).
func MustServiceOn(tb testing.TB, st core.Store, opts ...core.Option) *core.Service {
	tb.Helper()
	svc, err := core.NewService(st, opts...)
	if err != nil {
		tb.Fatalf("new service: %v", err)
	}
	if err := svc.SetSetting("server.advertise", "127.0.0.1"); err != nil {
		tb.Fatalf("set advertise: %v", err)
	}
	return svc
}

// MustAddUser adds a user with the mobile right and the given PIN.
func MustAddUser(tb testing.TB, svc *core.Service, name, pin string) core.User {
	tb.Helper()
	u, err := svc.AddUser(core.User{Name: name, PIN: pin, MobileAllowed: true, Email: name + "@example.org"})
	if err != nil {
		tb.Fatalf("add user %s: %v", name, err)
	}
	return u
}

// Clock is a settable clock for tests of anything that expires.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements core.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// SetLastLogin records at as the user's last login in st, as a login
// then would have, for tests of lists and reports that show it.
func SetLastLogin(tb testing.TB, st core.Store, name string, at time.Time) {
	tb.Helper()
	err := st.Update(func(tx core.Tx) error {
		ls, err := tx.LoginState(name)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		ls.LastLogin = at
		return tx.PutLoginState(name, ls)
	})
	if err != nil {
		tb.Fatalf("set last login of %s: %v", name, err)
	}
}

// TestKey is the data key of MustOpenSealed stores.
var TestKey = []byte("provisio-storetest-data-key-0032")

// MustOpenSealed is MustOpen with the data key TestKey: secrets sealed and
// the audit log MAC-chained (issue #13).
func MustOpenSealed(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{Key: TestKey})
	if err != nil {
		tb.Fatalf("open sealed store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
