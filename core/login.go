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
		if strings.TrimSpace(otc) == "" {
			fail = Errorf(CodeNoOTC, "No one-time code was given.")
			return logFail("no one-time code")
		}
		code, index, ok := ParseMobileOTC(otc, set.PINMin, set.PINMax)
		if !ok {
			fail = Errorf(CodeBadOTC, "The one-time code is not of the expected form.")
			return logFail("malformed one-time code")
		}
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			fail = Errorf(CodeWrongOTC, "Login failed.")
			return logFail("no such user")
		} else if err != nil {
			return err
		}
		if !agent.Admits(u) {
			fail = Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
			return logFail("not in the agent's group " + agent.Group)
		}
		if !agent.AllowsMode(AgentModeMobile) {
			fail = Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name)
			return logFail(fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name))
		}
		if u.PIN == "" {
			fail = Errorf(CodeNoPIN, "User %q has no PIN.", u.Name)
			return logFail("the user has no PIN")
		}
		ss, err := tx.Strings(u.Name)
		if errors.Is(err, ErrNotFound) {
			fail = Errorf(CodeNoStrings, "User %q has no security strings.", u.Name)
			return logFail("the user has no security strings")
		} else if err != nil {
			return err
		}
		right := index >= ss.Next && index < StringsPerDownload && len(code) == len(u.PIN) &&
			equalConstantTime(ExtractOTC(ss.S[index], u.PIN), code)
		if right {
			// The index is spent whatever happens next.
			ss.Next = index + 1
			if err := tx.PutStrings(u.Name, &ss); err != nil {
				return err
			}
		}
		switch {
		case u.Disabled:
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if right {
				fail = Errorf(CodeDisabled, "User %q is disabled.", u.Name)
			}
			return logFail("the user is disabled")
		case u.Locked:
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if right {
				fail = Errorf(CodeLocked, "User %q is locked.", u.Name)
			}
			return logFail("the user is locked")
		case !right:
			u.Failures++
			reason := "wrong one-time code"
			if index < ss.Next {
				reason = "string index already used"
			}
			fail = Errorf(CodeWrongOTC, "Login failed.")
			if u.Failures >= set.MaxFailures {
				u.Locked, locked = true, true
				reason += fmt.Sprintf("; locked after %d failures in a row", u.Failures)
			}
			if err := tx.PutUser(u); err != nil {
				return err
			}
			return logFail(reason)
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
