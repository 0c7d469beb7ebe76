package core

import (
	"errors"
	"fmt"
	"strings"
)

// Login checks a mobile one-time code: the OTC extracted from string
// `index` with the user's PIN, followed by the index.
//
// To keep an attacker from learning which usernames exist or are locked,
// an unknown user, a locked or disabled user and a wrong code all fail the
// same way (CodeWrongOTC); the audit log says which it was. A locked or
// disabled user who presents a correct code is told why, since only the
// real user can do that.
func (s *Service) Login(agent Agent, username, otc string) error {
	set := s.Settings()
	var fail error
	var locked bool
	err := s.update(true, func(tx Tx, log *logger) error {
		fail, locked = nil, false
		logFail := func(why string) error {
			return log.add(LevelWarn, clean(username), "Login failed for user: %s, error: %s", clean(username), why)
		}
		// OATH users log in with their token's codes (oath.go).
		if o := checkOATHLogin(s, tx, log, agent, set, username, otc); o.handled {
			fail, locked = o.fail, o.locked
			return o.err
		}
		code, index, why := parseOTC(otc, set)
		if why != nil {
			fail = why.err
			return logFail(why.reason)
		}
		u, _, why, err := checkOTC(tx, agent, set, username, code, index)
		if err != nil {
			return err
		}
		if why != nil {
			fail, locked = why.err, why.locked
			return logFail(why.reason)
		}
		u.Failures, u.LastLogin = 0, log.now
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Login successful for user: %s.", u.Name)
	}, func() []Event {
		if locked {
			return []Event{{Kind: EventUsersChanged, User: username, At: s.clock.Now()}}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fail
}

// parseOTC reads a login code, or says why it cannot be used.
func parseOTC(otc string, set Settings) (code string, index int, why *otcFailure) {
	if strings.TrimSpace(otc) == "" {
		return "", 0, &otcFailure{err: Errorf(CodeNoOTC, "No one-time code was given."), reason: "no one-time code"}
	}
	code, index, ok := ParseMobileOTC(otc, set.PINMin, set.PINMax)
	if !ok {
		return "", 0, &otcFailure{err: Errorf(CodeBadOTC, "The one-time code is not of the expected form."), reason: "malformed one-time code"}
	}
	return code, index, nil
}

// otcFailure is why checkOTC refused a code: err for the caller, reason
// for the log.
type otcFailure struct {
	err    error
	reason string
	locked bool // this failure locked the user
}

// checkOTC applies Service.Login's rules to code at index inside tx and
// writes what they change (the spent index, the failure count, a lock).
// On success it returns the user and their strings.
func checkOTC(tx Tx, agent Agent, set Settings, username, code string, index int) (User, StringSet, *otcFailure, error) {
	wrong := &otcFailure{err: Errorf(CodeWrongOTC, "Login failed.")}
	u, err := tx.User(username)
	if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
		wrong.reason = "no such user"
		return u, StringSet{}, wrong, nil
	} else if err != nil {
		return u, StringSet{}, nil, err
	}
	if !agent.Admits(u) {
		return u, StringSet{}, &otcFailure{err: Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name), reason: "not in the agent's group " + agent.Group}, nil
	}
	if !agent.AllowsMode(AgentModeMobile) {
		return u, StringSet{}, &otcFailure{err: Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name),
			reason: fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name)}, nil
	}
	if u.PIN == "" {
		return u, StringSet{}, &otcFailure{err: Errorf(CodeNoPIN, "User %q has no PIN.", u.Name), reason: "the user has no PIN"}, nil
	}
	ss, err := tx.Strings(u.Name)
	if errors.Is(err, ErrNotFound) {
		return u, ss, &otcFailure{err: Errorf(CodeNoStrings, "User %q has no security strings.", u.Name), reason: "the user has no security strings"}, nil
	} else if err != nil {
		return u, ss, nil, err
	}
	right := index >= ss.Next && index < StringsPerDownload && len(code) == len(u.PIN) &&
		equalConstantTime(ExtractOTC(ss.S[index], u.PIN), code)
	if right {
		ss.Next = index + 1
		if err := tx.PutStrings(u.Name, &ss); err != nil {
			return u, ss, nil, err
		}
	}
	switch {
	case u.Disabled:
		wrong.reason = "the user is disabled"
		if right {
			wrong.err = Errorf(CodeDisabled, "User %q is disabled.", u.Name)
		}
		return u, ss, wrong, nil
	case u.Locked:
		wrong.reason = "the user is locked"
		if right {
			wrong.err = Errorf(CodeLocked, "User %q is locked.", u.Name)
		}
		return u, ss, wrong, nil
	case !right:
		u.Failures++
		wrong.reason = "wrong one-time code"
		if index < ss.Next {
			wrong.reason = "string index already used"
		}
		if u.Failures >= set.MaxFailures {
			u.Locked, wrong.locked = true, true
			wrong.reason += fmt.Sprintf("; locked after %d failures in a row", u.Failures)
		}
		if err := tx.PutUser(u); err != nil {
			return u, ss, nil, err
		}
		return u, ss, wrong, nil
	}
	return u, ss, nil, nil
}
