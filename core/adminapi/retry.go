package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"provisio/core"
)

// lostAdds remembers the users this client asked to add whose answer
// never came (the service was killed or the network dropped after the
// request left). Pressing Add again then meets the user the first request
// made, and the server refuses the name as taken: a 409 for an add that
// in fact worked, which reads as if someone else had taken the name. So
// when a remembered add is refused as a conflict and the stored user is
// the one asked for, the retry is answered with that user instead.
//
// Deletes and device revocations are the same: retried after a lost
// answer, the user is gone or has no device, because the first request
// did it, and the retry is answered as done instead of "no such user"
// or "has no provisioned device".
type lostAdds struct {
	mu sync.Mutex
	m  map[string]NewUser
	// done are lost deletes and revocations, by "delete:" or "revoke:"
	// and the user's key.
	done map[string]bool
}

// settleDone is the answer of a delete or revocation (what) of name,
// given the request's err: refusal, the one a retry gets when the first
// request was done, becomes success when that request's answer was lost.
func (l *lostAdds) settleDone(what, name string, refusal core.Code, err error) error {
	key := what + ":" + core.Key(name)
	l.mu.Lock()
	defer l.mu.Unlock()
	retried := l.done[key]
	switch {
	case err == nil:
		delete(l.done, key)
	case core.ErrorCode(err) == core.CodeUnavailable && !notSent(errors.Unwrap(err)):
		if l.done == nil {
			l.done = map[string]bool{}
		}
		l.done[key] = true
	case retried && core.ErrorCode(err) == refusal:
		delete(l.done, key)
		return nil
	}
	return err
}

// settle is AddUser's answer for u, given the request's out and err.
func (l *lostAdds) settle(c *Client, u NewUser, out User, err error) (User, error) {
	key := core.Key(u.Name)
	l.mu.Lock()
	first, retried := l.m[key]
	switch {
	case err == nil:
		delete(l.m, key)
	case core.ErrorCode(err) == core.CodeUnavailable && !notSent(errors.Unwrap(err)):
		if l.m == nil {
			l.m = map[string]NewUser{}
		}
		l.m[key] = u
	}
	l.mu.Unlock()
	if !retried || core.ErrorCode(err) != core.CodeConflict || !sameAdd(first, u) {
		return out, err
	}
	var rec core.AdminUserRecord
	if gerr := c.do(http.MethodGet, "/users/"+esc(u.Name), nil, &rec); gerr != nil || !storedAs(rec.User, u) {
		return out, err
	}
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
	r := rec.User
	return User{Name: r.Name, FullName: r.FullName, Email: r.Email, Mobile: r.Mobile, Group: r.Group,
		MobileAllowed: r.MobileAllowed, Profile: r.Profile, Disabled: r.Disabled, Locked: rec.Locked}, nil
}

// sameAdd reports whether two requests ask for the same user.
func sameAdd(a, b NewUser) bool {
	return core.Key(a.Name) == core.Key(b.Name) && a.FullName == b.FullName && a.Email == b.Email &&
		a.Mobile == b.Mobile && a.Group == b.Group && a.Profile == b.Profile
}

// storedAs reports whether the stored user u is what add asked for, as
// far as the answer shows (never the PIN).
func storedAs(u core.User, add NewUser) bool {
	eq := func(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }
	return core.Key(u.Name) == core.Key(add.Name) && eq(u.FullName, add.FullName) && eq(u.Email, add.Email) &&
		eq(u.Mobile, add.Mobile) && eq(u.Group, add.Group) && eq(u.Profile, add.Profile)
}
