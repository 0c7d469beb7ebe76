package core

import (
	"fmt"
	"strings"
)

// oathOutcome is checkOATHLogin's answer to Login.
type oathOutcome struct {
	handled bool  // the code was an OATH code; Login does nothing more
	fail    error // the login's failure, as the strings path reports it
	locked  bool  // this failure locked the user
	err     error // a store error
}

// checkOATHLogin is the one call Login makes before the strings path. A
// user with a confirmed OATH token logs in with its codes only. A user
// with only a pending token may confirm it with a login; a code that does
// not fit the pending token goes on to the strings path, so the old
// device works until confirmation (and a wrong code counts once, there).
// Failures count toward the same lockout as strings (LoginState.fail).
func checkOATHLogin(s *Service, tx Tx, log *logger, agent Agent, set Settings, username, otc string) oathOutcome {
	// The OATH record first: most users have none, and it is keyed like
	// the user, so the strings path reads the user record only once.
	rec, err := readOATH(tx, username)
	if err != nil {
		return oathOutcome{handled: true, err: err}
	}
	if rec.Active == nil && rec.Pending == nil {
		return oathOutcome{}
	}
	u, err := tx.User(username)
	if err != nil || u.Deleted {
		return oathOutcome{} // the strings path answers unknown users
	}
	pending := rec.Pending
	if pending != nil && !log.now.Before(pending.Expires) {
		pending = nil // ExpireOATH wipes it
	}
	if rec.Active == nil && pending == nil {
		return oathOutcome{}
	}
	code := strings.TrimSpace(otc)
	logFail := func(o oathOutcome, why string) oathOutcome {
		if err := log.add(LevelWarn, u.Name, "Login failed for user: %s, error: %s", u.Name, why); err != nil {
			return oathOutcome{handled: true, err: err}
		}
		return o
	}
	wrong := oathOutcome{handled: true, fail: Errorf(CodeWrongOTC, "Login failed.")}
	if rec.Active == nil {
		// Only a pending token: a code that is not its code belongs to
		// the strings path.
		if !set.OATH.Enabled || len(code) != pending.Digits || !isDigits(code) {
			return oathOutcome{}
		}
		probe := *pending
		if probe.checkCode(code, log.now, set.OATH) != oathAccepted {
			return oathOutcome{}
		}
	}
	switch {
	case !agent.Admits(u):
		return logFail(wrong, "not in the agent's group "+agent.Group)
	case !agent.AllowsMode(AgentModeMobile):
		return logFail(oathOutcome{handled: true, fail: Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name)},
			fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name))
	case !set.OATH.Enabled:
		return logFail(wrong, "OATH tokens are turned off (oath.enabled)")
	case code == "":
		return logFail(oathOutcome{handled: true, fail: Errorf(CodeNoOTC, "No one-time code was given.")}, "no one-time code")
	}
	// A pending token is tried first: the user may have moved to a new
	// app while the old token still works.
	var tok *OATHToken
	match := oathNoMatch
	if pending != nil {
		probe := *pending
		if probe.checkCode(code, log.now, set.OATH) == oathAccepted {
			tok, match = &probe, oathAccepted
		}
	}
	confirming := tok != nil
	if !confirming {
		tok = rec.Active
		if len(code) != tok.Digits || !isDigits(code) {
			return logFail(oathOutcome{handled: true, fail: Errorf(CodeBadOTC, "The one-time code is not of the expected form.")}, "malformed one-time code")
		}
		match = tok.checkCode(code, log.now, set.OATH)
	}
	ls, err := loginState(tx, u.Name)
	if err != nil {
		return oathOutcome{handled: true, err: err}
	}
	locked := ls.LockedAt(log.now)
	if match == oathAccepted && !confirming && !locked && !u.Disabled {
		// The step or counter is spent; a right code while locked is
		// neither counted nor spent, as with strings.
		if err := tx.PutOATH(u.Name, rec); err != nil {
			return oathOutcome{handled: true, err: err}
		}
	}
	switch {
	case u.Disabled:
		return logFail(wrong, "the user is disabled")
	case locked && match == oathAccepted:
		return logFail(wrong, "the user is "+ls.lockDescription()+"; the code was right but is not accepted while locked")
	case match == oathReplay:
		// Someone replayed a code seen on the wire, or the user pressed
		// Enter twice: refused, but not a failure towards the lock.
		return logFail(wrong, "OATH code already used (replay; not counted as a failure)")
	case match == oathNoMatch:
		why := "wrong OATH code"
		if locked {
			why += " while " + ls.lockDescription()
		}
		if ls.fail(set, log.now) {
			wrong.locked = true
			why += fmt.Sprintf("; %d failures in a row, lock %d: %s", ls.Failures, ls.Locks, ls.lockDescription())
		}
		if err := tx.PutLoginState(u.Name, ls); err != nil {
			return oathOutcome{handled: true, err: err}
		}
		return logFail(wrong, why)
	}
	if confirming {
		rec.Pending = tok
		if err := s.confirmOATH(tx, log, &u, &rec, "by the user's first login"); err != nil {
			return oathOutcome{handled: true, err: err}
		}
	}
	ls.loggedIn(log.now)
	if err := tx.PutLoginState(u.Name, ls); err != nil {
		return oathOutcome{handled: true, err: err}
	}
	if err := log.add(LevelInfo, u.Name, "Login successful for user: %s.", u.Name); err != nil {
		return oathOutcome{handled: true, err: err}
	}
	return oathOutcome{handled: true}
}
