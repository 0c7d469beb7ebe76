package core

import (
	"errors"
	"time"
)

// LoginState is the part of a user that every login changes: the next
// unused string index, the failure and lock counts, and the last login.
// It is kept in a small record of its own (Tx.LoginState), so that a
// login writes a few dozen bytes and leaves the user record and the
// 1 KiB strings record untouched.
type LoginState struct {
	// Next is the next unused security string index; indexes below it
	// are spent.
	Next int
	// Failures counts wrong codes since the last successful login or an
	// administrator's unlock. It goes on counting while the user is
	// locked, so a lock never becomes a free guessing window.
	Failures int
	// Locks counts the locks since the last successful login or unlock;
	// each one lasts twice as long as the one before.
	Locks int
	// LockedUntil is when the current temporary lock ends; zero for none.
	LockedUntil time.Time
	// Permanent is a lock that only an administrator lifts: set by the
	// console's Lock, or by the policy's last lock in a row.
	Permanent bool
	// LastLogin is the time of the last successful login.
	LastLogin time.Time
}

// LockedAt reports whether the state is locked at t.
func (ls LoginState) LockedAt(t time.Time) bool {
	return ls.Permanent || t.Before(ls.LockedUntil)
}

// maxLockDuration caps one temporary lock, so doubling never overflows
// and a temporary lock stays temporary.
const maxLockDuration = 365 * 24 * time.Hour

// lockDuration is how long the n-th lock in a row (n ≥ 1) lasts: the
// policy's first lock duration, doubled for each lock before it.
func lockDuration(set Settings, n int) time.Duration {
	d := time.Duration(set.LockSeconds) * time.Second
	for i := 1; i < n && d < maxLockDuration; i++ {
		d *= 2
	}
	return min(d, maxLockDuration)
}

// fail counts one wrong code at now. Every MaxFailures-th failure in a
// row locks: temporarily for lockDuration, and permanently when it is the
// policy's MaxLocks-th lock. It reports whether this failure locked.
func (ls *LoginState) fail(set Settings, now time.Time) bool {
	ls.Failures++
	if set.MaxFailures <= 0 || ls.Failures%set.MaxFailures != 0 {
		return false
	}
	ls.Locks++
	if ls.Locks >= set.MaxLocks {
		ls.Permanent, ls.LockedUntil = true, time.Time{}
		return true
	}
	ls.LockedUntil = now.Add(lockDuration(set, ls.Locks))
	return true
}

// succeed records a successful login at now with the string at index.
func (ls *LoginState) succeed(index int, now time.Time) {
	ls.Next = index + 1
	ls.loggedIn(now)
}

// loggedIn records a successful login at now: the failures and locks in a
// row end.
func (ls *LoginState) loggedIn(now time.Time) {
	ls.Failures, ls.Locks, ls.LockedUntil = 0, 0, time.Time{}
	ls.LastLogin = now
}

// unlock lifts every lock and forgets the failures: an administrator's
// unlock gives the user a clean start.
func (ls *LoginState) unlock() {
	ls.Failures, ls.Locks, ls.LockedUntil, ls.Permanent = 0, 0, time.Time{}, false
}

// lockDescription is the lock part of a log line.
func (ls LoginState) lockDescription() string {
	if ls.Permanent {
		return "locked until an administrator unlocks the account"
	}
	return "locked until " + ls.LockedUntil.UTC().Format(time.RFC3339)
}

// loginState reads the login state of a user; a user who never logged in
// has the zero state.
func loginState(tx Tx, name string) (LoginState, error) {
	ls, err := tx.LoginState(name)
	if errors.Is(err, ErrNotFound) {
		return LoginState{}, nil
	}
	return ls, err
}

// lockedTx presents each user with their login state, as of the moment
// the transaction began: User.Locked means "locked now" (permanently or
// by a temporary lock that has not run out), LockedUntil the end of a
// running temporary lock, and Failures and LastLogin come from the login
// record; StringSet.Next is the login record's next index.
//
// Writes go the other way: PutUser stores the user record and turns a
// change of Locked into a permanent lock or an unlock of the login state
// (it ignores Failures, LastLogin and LockedUntil, which only the login
// rules change); PutStrings, which installs a fresh set, sets the next
// index. So every caller, from the console to the admin API, locks and
// unlocks with the same two lines, and the login hot path writes only
// the login record.
type lockedTx struct {
	Tx
	now time.Time
}

// bareTx is the transaction beneath a lockedTx: its User leaves the lock
// fields to the caller, which reads the login state itself.
func bareTx(tx Tx) Tx {
	if lt, ok := tx.(lockedTx); ok {
		return lt.Tx
	}
	return tx
}

// lockedStore wraps a Store so that every transaction is a lockedTx.
type lockedStore struct {
	Store
	clock Clock
}

func (s lockedStore) wrap(fn func(Tx) error) func(Tx) error {
	return func(tx Tx) error { return fn(lockedTx{Tx: tx, now: s.clock.Now()}) }
}

func (s lockedStore) View(fn func(Tx) error) error   { return s.Store.View(s.wrap(fn)) }
func (s lockedStore) Update(fn func(Tx) error) error { return s.Store.Update(s.wrap(fn)) }
func (s lockedStore) Batch(fn func(Tx) error) error  { return s.Store.Batch(s.wrap(fn)) }

// ScrubFree passes the free-space wipe (oath.go) to the store beneath.
func (s lockedStore) ScrubFree(force bool) error {
	if sc, ok := s.Store.(Scrubber); ok {
		return sc.ScrubFree(force)
	}
	return nil
}

func (t lockedTx) show(u *User) error {
	ls, err := loginState(t.Tx, u.Name)
	if err != nil {
		return err
	}
	u.Locked = ls.LockedAt(t.now)
	u.LockedUntil = time.Time{}
	if !ls.Permanent && t.now.Before(ls.LockedUntil) {
		u.LockedUntil = ls.LockedUntil
	}
	u.Failures, u.LastLogin = ls.Failures, ls.LastLogin
	return nil
}

func (t lockedTx) User(name string) (User, error) {
	u, err := t.Tx.User(name)
	if err != nil {
		return u, err
	}
	return u, t.show(&u)
}

func (t lockedTx) Users(fn func(User) bool) error {
	var err error
	werr := t.Tx.Users(func(u User) bool {
		if err = t.show(&u); err != nil {
			return false
		}
		return fn(u)
	})
	if werr != nil {
		return werr
	}
	return err
}

func (t lockedTx) PutUser(u User) error {
	if err := t.Tx.PutUser(u); err != nil {
		return err
	}
	ls, err := loginState(t.Tx, u.Name)
	if err != nil {
		return err
	}
	switch was := ls.LockedAt(t.now); {
	case u.Locked && !was:
		ls.Permanent = true
	case !u.Locked && was:
		ls.unlock()
	default:
		return nil
	}
	return t.Tx.PutLoginState(u.Name, ls)
}

func (t lockedTx) Strings(username string) (StringSet, error) {
	ss, err := t.Tx.Strings(username)
	if err != nil {
		return ss, err
	}
	ls, err := loginState(t.Tx, username)
	ss.Next = ls.Next
	return ss, err
}

func (t lockedTx) PutStrings(username string, ss *StringSet) error {
	if err := t.Tx.PutStrings(username, ss); err != nil {
		return err
	}
	ls, err := loginState(t.Tx, username)
	if err != nil {
		return err
	}
	if ls.Next == ss.Next {
		return nil
	}
	ls.Next = ss.Next
	return t.Tx.PutLoginState(username, ls)
}

// LockState is how a user's lock looks to a person at one moment.
type LockState struct {
	Locked    bool
	Permanent bool      // only an administrator lifts it
	Until     time.Time // end of a temporary lock; zero when Permanent or not locked
	Failures  int       // wrong codes in a row, counted while locked too
	Locks     int       // locks in a row
}

// String is the lock for a list or a status line: "locked until 10:42",
// "locked" (until an administrator unlocks) or "".
func (l LockState) String() string {
	switch {
	case !l.Locked:
		return ""
	case l.Permanent:
		return "locked"
	}
	return "locked until " + l.Until.Local().Format("15:04")
}

// LockText is the lock of a user read through the Service, as LockState
// words it: "locked until 10:42", "locked" or "".
func (u User) LockText() string {
	return LockState{Locked: u.Locked, Permanent: u.Locked && u.LockedUntil.IsZero(), Until: u.LockedUntil}.String()
}

// Lock returns a user's lock state now.
func (s *Service) Lock(name string) (LockState, error) {
	var out LockState
	err := s.store.View(func(tx Tx) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		ls, err := loginState(tx, u.Name)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		out = LockState{Locked: ls.LockedAt(now), Permanent: ls.Permanent, Failures: ls.Failures, Locks: ls.Locks}
		if !ls.Permanent && now.Before(ls.LockedUntil) {
			out.Until = ls.LockedUntil
		}
		return nil
	})
	return out, err
}

// IncreaseLock counts one failed authentication, as an agent reports when
// a user fails its own first factor. It counts like a wrong code at login
// (also while the user is locked, with the same escalating locks) and
// fails with CodeTriesExceeded when this failure locks the user and
// CodeLocked when they already were.
func (s *Service) IncreaseLock(agent Agent, username string) error {
	s = s.As(AgentActor(agent))
	set := s.Settings()
	var locked, already bool
	err := s.update(false, func(tx Tx, log *logger) error {
		locked, already = false, false
		u, err := agentUser(tx, agent, username)
		if err != nil {
			return err
		}
		if u.Disabled {
			return Errorf(CodeDisabled, "User %q is disabled.", u.Name)
		}
		ls, err := loginState(tx, u.Name)
		if err != nil {
			return err
		}
		already = ls.LockedAt(log.now)
		locked = ls.fail(set, log.now)
		if err := tx.PutLoginState(u.Name, ls); err != nil {
			return err
		}
		if locked {
			return log.add(LevelWarn, u.Name, "Lock count increased for user: %s; %d failures in a row, lock %d: %s.", u.Name, ls.Failures, ls.Locks, ls.lockDescription())
		}
		return log.add(LevelInfo, u.Name, "Lock count increased for user: %s (%d failures in a row; a lock every %d).", u.Name, ls.Failures, set.MaxFailures)
	}, func() []Event {
		if locked {
			return s.usersChanged(username)()
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case locked:
		return Errorf(CodeTriesExceeded, "User %q is now locked.", clean(username))
	case already:
		return Errorf(CodeLocked, "User %q is already locked.", clean(username))
	}
	return nil
}
