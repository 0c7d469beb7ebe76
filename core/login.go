package core

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Login checks a mobile one-time code: the OTC extracted from string
// `index` with the user's PIN, followed by the index.
//
// Every credential problem fails the same way, with a bare CodeWrongOTC:
// an unknown user, one without a PIN or strings, one outside the agent's
// group, a locked or disabled user (even with the right code) and a wrong
// or replayed code. So nobody learns from the answer whether a name
// exists or what state it is in; the audit log says which it was. Only
// what does not depend on the user is told apart: an agent not set up
// for mobile authentication, and a missing or malformed code.
func (s *Service) Login(agent Agent, username, otc string) error {
	s = s.As(AgentActor(agent))
	if err := s.requireMobile(agent, username, "Login"); err != nil {
		return err
	}
	return s.updateOutcome(true, username, func(tx Tx, log *logger, out *outcome) error {
		// Read here, not captured from outside: a captured copy of the
		// settings (about 900 bytes) went to the heap on every login.
		set := s.Settings()
		logFail := func(why string) error {
			return log.add(LevelWarn, clean(username), "Login failed for user: %s, error: %s", clean(username), why)
		}
		// OATH users log in with their token's codes (oath_login.go).
		if o := checkOATHLogin(s, tx, log, agent, set, username, otc); o.handled {
			out.fail, out.locked = o.fail, o.locked
			return o.err
		}
		code, index, why := parseOTC(otc, set)
		if why != nil {
			out.fail = why.err
			return logFail(why.reason)
		}
		u, _, why, err := checkOTC(tx, log.now, agent, set, username, code, index)
		if err != nil {
			return err
		}
		if why != nil {
			out.fail, out.locked = why.err, why.locked
			return logFail(why.reason)
		}
		return log.add(LevelInfo, u.Name, "Login successful for user: %s.", u.Name)
	})
}

// outcome is how a request that commits its own failure failed: fail is
// the caller's answer, locked says the failure locked the user.
type outcome struct {
	fail   error
	locked bool
}

// updateOutcome runs fn in a write transaction (batched when batch) for a
// request of username that commits its failure with its log line (a wrong
// code counts) and reports it in out; a failure that locked the user is
// announced, so the console shows the lock. It returns the store's
// error, else out.fail. Batch may run fn twice, so out starts afresh.
func (s *Service) updateOutcome(batch bool, username string, fn func(tx Tx, log *logger, out *outcome) error) error {
	var out outcome
	err := s.update(batch, func(tx Tx, log *logger) error {
		out = outcome{}
		return fn(tx, log, &out)
	}, func() []Event {
		if out.locked {
			return s.usersChanged(username)()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return out.fail
}

// agentAllowsMobile refuses an agent that is not set up for mobile client
// authentication. It is checked before anything about the user, so its
// answer is the same for every username.
func agentAllowsMobile(agent Agent) error {
	if agent.AllowsMode(AgentModeMobile) {
		return nil
	}
	return Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name)
}

// requireMobile is agentAllowsMobile for a login-like request (what: Login,
// PIN change) of username, with the refusal's log line.
func (s *Service) requireMobile(agent Agent, username, what string) error {
	err := agentAllowsMobile(agent)
	if err != nil {
		_ = s.Log(LevelWarn, clean(username), "%s failed for user: %s, error: agent %q does not allow mobile client authentication", what, clean(username), agent.Name)
	}
	return err
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

// noSuitableMethod is the log's reason for a login of a user who is not
// in the user database (or deleted): the seed's sentence (protocol.md
// section 7), which names the usual cause, a repository not yet synced.
func noSuitableMethod(username string) string {
	return fmt.Sprintf("No suitable authentication method for the user %q was found. "+
		"The user may be missing from the user repository or a synchronisation has not yet occurred.", clean(username))
}

// otcFailure is why checkOTC refused a code: err for the caller, reason
// for the log.
type otcFailure struct {
	err    error
	reason string
	locked bool // this failure locked the user (or locked them longer)
}

// checkOTC applies Service.Login's rules to code at index inside tx at
// now and writes what they change, in the user's login record only: the
// spent index and last login on success, the failure count and a lock on
// a wrong code. On success it returns the user and their strings.
//
// What counts as a failure: a wrong code at an unspent index, also while
// the user is locked, so that guessing never gets free. What does not: a
// replay of a spent index (a retrying agent resending an accepted code;
// no such code can ever succeed, so it gives a guesser nothing), the
// right code while locked (the real user, who should not lock themselves
// for longer), and anything about a user who cannot log in at all.
func checkOTC(tx Tx, now time.Time, agent Agent, set Settings, username, code string, index int) (User, StringSet, *otcFailure, error) {
	wrong := func(reason string) *otcFailure {
		return &otcFailure{err: Errorf(CodeWrongOTC, "Login failed."), reason: reason}
	}
	// The bare records: the login state, which lockedTx would read to
	// fill in the lock fields and the next index, is read below once.
	raw := bareTx(tx)
	u, err := raw.User(username)
	if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
		return u, StringSet{}, wrong(noSuitableMethod(username)), nil
	} else if err != nil {
		return u, StringSet{}, nil, err
	}
	if !agent.Admits(u) {
		return u, StringSet{}, wrong("not in the agent's group " + agent.Group), nil
	}
	if u.PIN == "" {
		return u, StringSet{}, wrong("the user has no PIN"), nil
	}
	ss, err := raw.Strings(u.Name) // ss.Next is ls.Next, read below
	if errors.Is(err, ErrNotFound) {
		return u, ss, wrong("the user has no security strings"), nil
	} else if err != nil {
		return u, ss, nil, err
	}
	ls, err := loginState(tx, u.Name)
	if err != nil {
		return u, ss, nil, err
	}
	if index < ls.Next {
		return u, ss, wrong("string index already used (a replay; not counted as a failure)"), nil
	}
	right := index < StringsPerDownload && len(code) == len(u.PIN) &&
		equalConstantTime(ExtractOTC(ss.S[index], u.PIN), code)
	switch {
	case u.Disabled:
		return u, ss, wrong("the user is disabled"), nil
	case ls.LockedAt(now) && right:
		return u, ss, wrong("the user is " + ls.lockDescription() + "; the code was right but is not accepted while locked"), nil
	case !right:
		why := wrong("wrong one-time code")
		if ls.LockedAt(now) {
			why.reason += " while " + ls.lockDescription()
		}
		if ls.fail(set, now) {
			why.locked = true
			why.reason += fmt.Sprintf("; %d failures in a row, lock %d: %s", ls.Failures, ls.Locks, ls.lockDescription())
		}
		if err := tx.PutLoginState(u.Name, ls); err != nil {
			return u, ss, nil, err
		}
		return u, ss, why, nil
	}
	ls.succeed(index, now)
	if err := tx.PutLoginState(u.Name, ls); err != nil {
		return u, ss, nil, err
	}
	u.Failures, u.LastLogin = 0, now
	return u, ss, nil, nil
}

// LoginByAttribute logs in the one active user whose attribute has the
// given value (loginbyattribute) by Login's rules. As with Login, an
// unknown value (or one that several users share) fails the same way as
// a wrong code, and the code's form and the agent's mode are checked
// first so that their answers do not depend on whether the value exists.
func (s *Service) LoginByAttribute(agent Agent, name, value, otc string) error {
	s = s.As(AgentActor(agent))
	set := s.Settings()
	logFail := func(why string) {
		_ = s.Log(LevelWarn, "", "Login failed for %s %q, error: %s", clean(strings.ToLower(strings.TrimSpace(name))), clean(value), why)
	}
	if strings.TrimSpace(otc) == "" {
		logFail("no one-time code")
		return Errorf(CodeNoOTC, "No one-time code was given.")
	}
	if _, _, ok := ParseMobileOTC(otc, set.PINMin, set.PINMax); !ok {
		logFail("malformed one-time code")
		return Errorf(CodeBadOTC, "The one-time code is not of the expected form.")
	}
	// Checked before the lookup, so the answer does not depend on the value.
	if err := agentAllowsMobile(agent); err != nil {
		logFail(fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name))
		return err
	}
	u, err := s.UserByAttribute(name, value)
	switch ErrorCode(err) {
	case "":
		return s.Login(agent, u.Name, otc)
	case CodeNotFound, CodeConflict, CodeInvalid:
		logFail(ErrorMessage(err))
		return Errorf(CodeWrongOTC, "Login failed.")
	}
	return err
}
