package core

import (
	"errors"
	"fmt"
	"strings"
)

// OATHSync resynchronises a user's token with two consecutive codes (the
// oathsync action). A failure counts toward the lockout like a wrong
// login; the answer does not say whether the user or a token exists,
// nor that the user is disabled (a disabled user's token is not touched).
func (s *Service) OATHSync(agent Agent, username, code1, code2 string) error {
	s = s.As(AgentActor(agent))
	return s.oathSync(&agent, HelpdeskScope(agent, ""), username, code1, code2)
}

// OATHSyncUsers resynchronises tokens for the helpdesk API (OathSync);
// codes[i] holds the two codes of names[i]. Failures are per user and do
// not count toward the lockout: the helpdesk is already trusted. A
// disabled user is refused (CodeDisabled): enable them first.
func (s *Service) OATHSyncUsers(scope Scope, names []string, codes [][2]string) []error {
	s = s.As(scopeActor(scope))
	out := make([]error, len(names))
	for i, n := range names {
		out[i] = s.oathSync(nil, scope, n, codes[i][0], codes[i][1])
	}
	return out
}

func (s *Service) oathSync(agent *Agent, scope Scope, username, code1, code2 string) error {
	set := s.Settings()
	return s.updateOutcome(false, username, func(tx Tx, log *logger, out *outcome) error {
		code1, code2 := strings.TrimSpace(code1), strings.TrimSpace(code2)
		neutral := Errorf(CodeWrongOTC, "The token could not be synchronised.")
		var u User
		var err error
		if agent == nil {
			// The helpdesk is told plainly, as for its other operations.
			if u, err = scopedUser(tx, scope, username, false); err != nil {
				var e *Error
				if errors.As(err, &e) {
					out.fail = err
					return nil
				}
				return err
			}
		} else {
			u, err = findUser(tx, username)
			if ErrorCode(err) == CodeNotFound {
				out.fail = neutral
				return log.add(LevelWarn, "", "OATH sync failed for user: %s, error: no such user", clean(username))
			} else if err != nil {
				return err
			}
			if !agent.Admits(u) {
				out.fail = Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
				return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: not in the agent's group", u.Name)
			}
		}
		if u.Disabled {
			// As a login and a token issue are refused: a user drives
			// the agent's oathsync like a login (the neutral answer, no
			// failure counted); the helpdesk is told what to do.
			out.fail = neutral
			if agent == nil {
				out.fail = Errorf(CodeDisabled, "User %q is disabled; enable them before resynchronising their token.", u.Name)
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: the user is disabled", u.Name)
		}
		if !set.OATH.Enabled {
			out.fail = neutral
			if agent == nil {
				out.fail = Errorf(CodeInvalid, "OATH tokens are turned off (oath.enabled).")
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: OATH tokens are turned off", u.Name)
		}
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return err
		}
		tok := rec.Active
		if tok == nil {
			out.fail = Errorf(CodeNoStrings, "User %q has no OATH token.", u.Name)
			if agent != nil {
				out.fail = neutral
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: the user has no confirmed OATH token", u.Name)
		}
		if code1 == "" || code2 == "" {
			out.fail = Errorf(CodeNoOTC, "Give two consecutive codes from the token.")
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: two codes are needed", u.Name)
		}
		var ls LoginState
		if agent != nil {
			if ls, err = loginState(tx, u.Name); err != nil {
				return err
			}
		}
		// resync changes only this copy of the record, written below
		// only on success.
		if !tok.resync(code1, code2, log.now) {
			out.fail = neutral
			if agent == nil {
				out.fail = Errorf(CodeWrongOTC, "The codes do not match user %q's token; give two consecutive codes from it.", u.Name)
			}
			why := "the codes do not match the token"
			if agent != nil {
				if out.locked = ls.fail(set, log.now); out.locked {
					why += fmt.Sprintf("; %d failures in a row, lock %d: %s", ls.Failures, ls.Locks, ls.lockDescription())
				}
				if err := tx.PutLoginState(u.Name, ls); err != nil {
					return err
				}
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: %s", u.Name, why)
		}
		if agent != nil && ls.LockedAt(log.now) {
			// As a login with a right code while locked (#9): answered
			// like a wrong one, neither counted nor kept. The helpdesk,
			// which may lift the lock, is not held back.
			out.fail = neutral
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: the user is %s; the codes were right but are not accepted while locked", u.Name, ls.lockDescription())
		}
		if err := tx.PutOATH(u.Name, rec); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "OATH token of user %q resynchronised.", u.Name)
	})
}
