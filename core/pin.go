package core

import (
	"strings"
	"time"
)

// PINs: the administrator's reset (console, admin API), the self-service
// reset an agent requests and the user redeems, and the change a user
// makes with a one-time code. One rule each, for every caller.

// PINReset is the outcome of ResetPIN.
type PINReset struct {
	User string
	// PIN is the new PIN when it is to be shown; it is empty when the PIN
	// was queued for mail instead, so it is never on screen and in mail.
	PIN string
	// To is the address the PIN was queued for, when it was mailed.
	To string
}

// ResetPIN gives a user a new random PIN for the console or the command
// line (and the admin API's operators), by the one PIN-reset rule
// (resetPIN). With send the PIN is queued as mail to the user's email
// address in the same transaction, so it is never changed without its
// message; otherwise it is returned once, to be shown to the helpdesk.
// The PIN is never logged.
func (s *Service) ResetPIN(name string, send bool) (PINReset, error) {
	set := s.Settings()
	var res PINReset
	err := s.update(false, func(tx Tx, log *logger) error {
		res = PINReset{}
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		how := pinShown
		if send {
			how = pinMailed
		}
		pin, err := resetPIN(tx, log, set, &u, how, true, "")
		if err != nil {
			return err
		}
		res.User = u.Name
		if send {
			res.To = u.Email
		} else {
			res.PIN = pin
		}
		return nil
	}, s.usersChanged(name), s.outboxChanged) // a message queued, or the old PIN's withdrawn
	if err != nil {
		return PINReset{}, err
	}
	return res, nil
}

// pinDelivery is how a new PIN reaches its user.
type pinDelivery int

const (
	pinMailed pinDelivery = iota // queued to the user's email
	pinShown                     // returned once, for a person to hand over
)

// resetPIN is the one PIN-reset rule (#12), for the console, the command
// line, the admin API's ResetPINs and the self-service reset code: a
// disabled user is refused (enable them first); a new random PIN as long
// as the shortest the policy allows replaces the old one; the failure
// count and any pending PIN reset code go with the old PIN; and a mailed
// PIN needs an email address. unlock also lifts a lock, for a reset by an
// administrator (the lock protected the old PIN, which is gone); a
// self-service reset leaves the lock to an administrator. by says how,
// for the log ("with a reset code", or ""); the line's Actor names who
// asked. It returns the new PIN, which is never logged.
func resetPIN(tx Tx, log *logger, set Settings, u *User, how pinDelivery, unlock bool, by string) (string, error) {
	if u.Disabled {
		return "", Errorf(CodeDisabled, "User %q is disabled; enable them before resetting their PIN.", u.Name)
	}
	if how == pinMailed && u.Email == "" {
		return "", Errorf(CodeNoTransport, "User %q has no email address to send a new PIN to.", u.Name)
	}
	// The PIN and any pending reset code die here, and with them every
	// unsent message carrying one.
	for _, what := range []MailCarries{CarriesPIN, CarriesPINResetCode} {
		if err := withdrawSecretMail(tx, log, u.Name, what); err != nil {
			return "", err
		}
	}
	pin := NewPIN(set.PINMin)
	u.PIN, u.PINReset, u.Failures = pin, nil, 0
	if unlock {
		u.Locked = false
	}
	if err := tx.PutUser(*u); err != nil {
		return "", err
	}
	if by != "" {
		by = " " + by
	}
	if how == pinShown {
		return pin, log.add(LevelInfo, u.Name, "PIN reset for user %q%s; the new PIN was shown to the administrator.", u.Name, by)
	}
	m := OutMessage{Kind: MailPlain, User: u.Name, FullName: u.FullName, To: u.Email,
		Subject: "Your new PIN",
		Text: greeting(*u) + "Your PIN has been reset. Your new PIN is:\n\n    " + pin +
			"\n\nUse it with the security strings in your mobile app. Keep it to yourself: " +
			"nobody, not even the helpdesk, will ever ask you for it. If you did not ask for a new PIN, " +
			"call your helpdesk.\n",
		Carries: CarriesPIN}
	if err := queueMail(tx, log, &m); err != nil {
		return "", err
	}
	return pin, log.add(LevelInfo, u.Name, "PIN reset for user %q%s; the new PIN was queued to the user's email.", u.Name, by)
}

// NewPIN returns n random digits, never all the same digit nor a run up
// or down such as 1234 or 9876, which people guess first.
func NewPIN(n int) string {
	r := randBytes{}
	out := make([]byte, n)
	for {
		for i := range out {
			out[i] = '0' + byte(r.below(10))
		}
		if !weakPIN(out) {
			return string(out)
		}
	}
}

func weakPIN(p []byte) bool {
	same, up, down := true, true, true
	for i := 1; i < len(p); i++ {
		same = same && p[i] == p[0]
		up = up && p[i] == p[i-1]+1
		down = down && p[i] == p[i-1]-1
	}
	return same || up || down
}

// pinResetHash binds a PIN reset code to its user and keeps it apart from
// provision codes, which share the code alphabet.
func pinResetHash(username, code string) string {
	return HashCode("pin-reset\x00"+Key(username), code)
}

// selfResetUser reads the user of a self-service PIN reset step: in the
// agent's group, enabled, and with an email address for what the step
// mails.
func selfResetUser(tx Tx, agent Agent, username, what string) (User, error) {
	u, err := agentUser(tx, agent, username)
	switch {
	case err != nil:
		return User{}, err
	case u.Disabled:
		return User{}, Errorf(CodeDisabled, "User %q is disabled.", u.Name)
	case u.Email == "":
		return User{}, Errorf(CodeNoTransport, "User %q has no email address to send %s to.", u.Name, what)
	}
	return u, nil
}

// RequestPINReset creates a PIN reset code for the user, replacing any
// pending one, and queues it to their email (resetcode). The code is
// valid for the Self-Reset policy's code validity.
func (s *Service) RequestPINReset(agent Agent, username string) error {
	s = s.As(AgentActor(agent))
	set := s.Settings()
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := selfResetUser(tx, agent, username, "a PIN reset code")
		if err != nil {
			return err
		}
		if err := withdrawSecretMail(tx, log, u.Name, CarriesPINResetCode); err != nil { // the old code dies here
			return err
		}
		code := NewCode(false)
		pc := ProvisionCode{Hash: s.storedCodeHash(pinResetHash(u.Name, code)), Created: log.now,
			Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second)}
		u.PINReset = &pc
		if err := tx.PutUser(u); err != nil {
			return err
		}
		m := OutMessage{Kind: MailPlain, User: u.Name, FullName: u.FullName, To: u.Email,
			Subject: "Your PIN reset code",
			Text: greeting(u) + "Someone asked to reset your PIN. Your PIN reset code is:\n\n    " + code +
				"\n\nIt works once, until " + pc.Expires.Local().Format("15:04 on 2 Jan 2006") +
				". If you did not ask for a reset, ignore this message: your PIN stays as it is.\n",
			Carries: CarriesPINResetCode, Expires: pc.Expires}
		if err := queueMail(tx, log, &m); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "PIN reset code created for user %q.", u.Name)
	}, s.outboxChanged)
}

// RedeemPINReset redeems a PIN reset code (reset): the user gets a new random
// PIN by email. Like a provision code, any attempt spends the pending
// code, so a code can be guessed once. A missing, wrong, used or expired
// code is CodeSession. The lock, if any, stays for an administrator.
func (s *Service) RedeemPINReset(agent Agent, username, code string) error {
	s = s.As(AgentActor(agent))
	set := s.Settings()
	var fail error
	err := s.update(false, func(tx Tx, log *logger) error {
		fail = nil
		u, err := selfResetUser(tx, agent, username, "a new PIN")
		if err != nil {
			return err
		}
		pc := u.PINReset
		switch {
		case pc == nil:
			fail = Errorf(CodeSession, "User %q has no pending PIN reset; ask for a code with resetcode.", u.Name)
		case !log.now.Before(pc.Expires):
			fail = Errorf(CodeSession, "The PIN reset code has expired.")
		case strings.TrimSpace(code) == "" || !s.codeMatches(pc.Hash, pinResetHash(u.Name, code)):
			fail = Errorf(CodeSession, "The PIN reset code is wrong.")
		}
		if fail != nil {
			if pc != nil {
				u.PINReset = nil
				if err := tx.PutUser(u); err != nil {
					return err
				}
				if err := withdrawSecretMail(tx, log, u.Name, CarriesPINResetCode); err != nil { // spent
					return err
				}
			}
			return log.add(LevelWarn, u.Name, "PIN reset failed for user %q: %s", u.Name, ErrorMessage(fail))
		}
		_, err = resetPIN(tx, log, set, &u, pinMailed, false, "with a reset code")
		return err
	}, s.outboxChanged)
	if err != nil {
		return err
	}
	return fail
}

// parseNewOTC reads the NewOTC of a changepin: the digits extracted with
// the new PIN from the same string as the OTC, bare ("5521") or with that
// string's index after a comma ("5521,12"). Without a comma the value is
// never read as carrying an index: "552112" is a six-digit new PIN, since
// guessing would silently set the wrong PIN.
func parseNewOTC(s string, index, pinMin, pinMax int) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ','); i >= 0 {
		idx := s[i+1:]
		if len(idx) != 2 || !isDigits(idx) || int(idx[0]-'0')*10+int(idx[1]-'0') != index {
			return "", false
		}
		s = s[:i]
	}
	return s, isDigits(s) && len(s) >= pinMin && len(s) <= pinMax
}

// ChangePIN checks a mobile OTC exactly as Login does (the index is spent,
// failures count, a lock follows) and then sets the PIN read back from
// newOTC, which was extracted with the new PIN from the same string.
func (s *Service) ChangePIN(agent Agent, username, otc, newOTC string) error {
	s = s.As(AgentActor(agent))
	set := s.Settings()
	if err := s.requireMobile(agent, username, "PIN change"); err != nil {
		return err
	}
	return s.updateOutcome(true, username, func(tx Tx, log *logger, out *outcome) error {
		logFail := func(why string) error {
			return log.add(LevelWarn, clean(username), "PIN change failed for user: %s, error: %s", clean(username), why)
		}
		code, index, why := parseOTC(otc, set)
		if why != nil {
			out.fail = why.err
			return logFail(why.reason)
		}
		newCode, ok := parseNewOTC(newOTC, index, set.PINMin, set.PINMax)
		if !ok {
			out.fail = Errorf(CodeBadOTC, "The new one-time code is not of the expected form.")
			return logFail("malformed new one-time code")
		}
		u, ss, why, err := checkOTC(tx, log.now, agent, set, username, code, index)
		if err != nil {
			return err
		}
		if why != nil {
			out.fail, out.locked = why.err, why.locked
			return logFail(why.reason)
		}
		// checkOTC has recorded the login in the login record; u is not
		// locked, so saving it changes no lock.
		pin, _ := PINFromOTC(ss.S[index], newCode)
		u.PIN = pin
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := withdrawSecretMail(tx, log, u.Name, CarriesPIN); err != nil { // the mailed PIN is not this one
			return err
		}
		return log.add(LevelInfo, u.Name, "PIN changed for user: %s.", u.Name)
	})
}
