package core

import (
	"errors"
	"fmt"
)

// A security string on demand (the ondemandmessage action, docs/api.md):
// an agent asks for the user's next unused string to be mailed to them,
// for a user without their phone at hand. The index is not spent here;
// the login with it spends it.

func greeting(u User) string {
	if u.FullName != "" {
		return "Hello " + u.FullName + ",\n\n"
	}
	return "Hello " + u.Name + ",\n\n"
}

// mailNextString queues the user's next unused security string with its
// index to their security-string transport (else their email). The index
// is not spent: a login with it spends it, like one from the phone.
func mailNextString(tx Tx, log *logger, u User) (int, error) {
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
	return ss.Next, log.add(LevelInfo, u.Name, "Security string %s sent to user: %s.", idx, u.Name)
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
		index, err = mailNextString(tx, log, u)
		return err
	}, s.outboxChanged)
	return index, err
}
