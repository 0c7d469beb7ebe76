package core

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The agent API's actions beyond login and provisioning (docs/api.md,
// "Authentication API"). Each is one transaction that commits its change
// and its log line together.

// agentUser reads an active user the agent may act for.
func agentUser(tx Tx, agent Agent, name string) (User, error) {
	u, err := findUser(tx, name)
	if err != nil {
		return User{}, err
	}
	if !agent.Admits(u) {
		return User{}, Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
	}
	return u, nil
}

func greeting(u User) string {
	if u.FullName != "" {
		return "Hello " + u.FullName + ",\n\n"
	}
	return "Hello " + u.Name + ",\n\n"
}

// mailNextString queues the user's next unused security string with its
// index to their security-string transport (else their email). The index
// is not spent: a login with it spends it, like one from the phone.
func mailNextString(tx Tx, log *logger, u User, by string) (int, error) {
	switch {
	case u.Disabled:
		return 0, Errorf(CodeDisabled, "User %q is disabled.", u.Name)
	case u.Locked:
		return 0, Errorf(CodeLocked, "User %q is locked.", u.Name)
	}
	ss, err := tx.Strings(u.Name)
	if errors.Is(err, ErrNotFound) {
		return 0, Errorf(CodeNoStrings, "User %q has no security strings; they need to provision the mobile app.", u.Name)
	} else if err != nil {
		return 0, err
	}
	if ss.Next >= StringsPerDownload {
		return 0, Errorf(CodeNoStrings, "User %q has used all their security strings; the mobile app fetches new ones.", u.Name)
	}
	to := u.StringsEmail
	if to == "" {
		to = u.Email
	}
	if to == "" {
		return 0, Errorf(CodeNoTransport, "User %q has no email address to send a security string to.", u.Name)
	}
	idx := fmt.Sprintf("%02d", ss.Next)
	m := OutMessage{Kind: MailPlain, User: u.Name, FullName: u.FullName, To: to,
		Subject: "Your security string " + idx,
		Text: greeting(u) + "Your security string for index " + idx + " is:\n\n    " + string(ss.S[ss.Next][:]) +
			"\n\nTake the digits at the positions of your PIN (a 0 in your PIN means position 10) " +
			"and type them followed by " + idx + ". The string works once.\n"}
	if err := queueMail(tx, log, &m); err != nil {
		return 0, err
	}
	return ss.Next, log.add(LevelInfo, u.Name, "Security string %s sent to user: %s at the request of %s.", idx, u.Name, by)
}

// OnDemandMessage mails the user their next unused security string and
// its index (the ondemandmessage action) and returns the index.
func (s *Service) OnDemandMessage(agent Agent, username string) (int, error) {
	s = s.As(AgentActor(agent))
	index := 0
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := agentUser(tx, agent, username)
		if err != nil {
			return err
		}
		index, err = mailNextString(tx, log, u, "agent "+quote(agent.Name))
		return err
	}, s.outboxChanged)
	return index, err
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
			return log.add(LevelWarn, u.Name, "Lock count increased for user: %s by agent %q; %d failures in a row, lock %d: %s.", u.Name, agent.Name, ls.Failures, ls.Locks, ls.lockDescription())
		}
		return log.add(LevelInfo, u.Name, "Lock count increased for user: %s by agent %q (%d failures in a row; a lock every %d).", u.Name, agent.Name, ls.Failures, set.MaxFailures)
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

// maxEventText bounds an agent's logevent text.
const maxEventText = 256

// LogEvent writes an agent's message to the audit log (logevent). The
// text is made safe for one log line: control characters become spaces,
// invalid UTF-8 is replaced, and it is cut to 256 bytes. level is INFO
// (the default), WARN or ERROR.
func (s *Service) LogEvent(agent Agent, username, level, text string) error {
	s = s.As(AgentActor(agent))
	lv := LevelInfo
	switch strings.ToUpper(strings.TrimSpace(level)) {
	case "", "INFO":
	case "WARN", "WARNING":
		lv = LevelWarn
	case "ERROR":
		lv = LevelError
	default:
		return FieldError("level", "The event level is INFO, WARN or ERROR.")
	}
	text = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "\uFFFD")))
	if len(text) > maxEventText {
		cut := maxEventText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	if text == "" {
		return FieldError("message", "The event has no text.")
	}
	return s.Log(lv, clean(strings.TrimSpace(username)), "Agent %q event: %s", agent.Name, text)
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
