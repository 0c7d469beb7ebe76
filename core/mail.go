package core

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// MailKind says what an outbox message carries.
type MailKind string

// Outbox message kinds.
const (
	MailProvision MailKind = "provision" // a provision code, URL and QR
	MailPlain     MailKind = "plain"     // pre-rendered subject and text (test message, PIN)
)

// MailState is where an outbox message stands.
type MailState string

// Outbox states.
const (
	MailQueued MailState = "queued"
	MailSent   MailState = "sent"
	MailFailed MailState = "failed"
	// MailWithdrawn is a provision message whose code died (redeemed,
	// burned, replaced or expired) before it went out. It stays in the
	// outbox's history and is never sent.
	MailWithdrawn MailState = "withdrawn"
)

// WithdrawnReason is the LastError of a withdrawn message; the Outbox
// screen shows it after the state. A message carrying a PIN has
// WithdrawnPINReason instead.
const (
	WithdrawnReason    = "the code is no longer valid"
	WithdrawnPINReason = "the PIN it carries is no longer the user's"
)

// MailCarries names the secret a plain message's text holds, so that the
// text is wiped when the secret dies, as a provision message's code is.
type MailCarries string

// Secrets a plain message can carry.
const (
	// CarriesPIN: the user's new PIN. It dies when the PIN changes again
	// or the user is deleted.
	CarriesPIN MailCarries = "pin"
	// CarriesPINResetCode: a PIN reset code. It dies when it is spent or
	// replaced, when the PIN is reset, when the user is deleted, and at
	// the message's Expires.
	CarriesPINResetCode MailCarries = "pin_reset_code"
)

// MaxMailAttempts is how many temporary failures a message survives
// before it is marked failed; with the back-off that is about a day.
const MaxMailAttempts = 12

// OutMessage is one message in the durable outbox. A provision message
// holds its code in plain text until it is delivered, expires or is
// discarded, because the sender must be able to send it after a restart;
// the code is wiped as soon as it is no longer needed. A message that
// failed keeps its code while the code is valid, so that "Retry now" can
// still send it; when the code dies (expiry, redemption, replacement, the
// user's deletion) the message is withdrawn and wiped like a queued one.
// A plain message carrying a PIN or a PIN reset code (Carries) follows the
// same rule.
type OutMessage struct {
	ID       uint64   `json:"id"`
	Kind     MailKind `json:"kind"`
	User     string   `json:"user"`
	FullName string   `json:"full_name,omitempty"`
	To       string   `json:"to"`

	Code string `json:"code,omitempty"`
	URL  string `json:"url,omitempty"`
	// Expires is when the code the message carries dies: a provision
	// code's or a PIN reset code's expiry. Zero: not by time.
	Expires time.Time `json:"expires,omitzero"`

	Subject string      `json:"subject,omitempty"` // MailPlain only
	Text    string      `json:"text,omitempty"`    // MailPlain only
	Carries MailCarries `json:"carries,omitempty"` // MailPlain only; "" for none

	State       MailState `json:"state"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Created     time.Time `json:"created"`
	SentAt      time.Time `json:"sent_at,omitzero"`
}

// wipe forgets the secret parts of a message that will not be sent again.
func (m *OutMessage) wipe() { m.Code, m.URL, m.Text = "", "", "" }

// ExpiredAt reports whether m is unsent (queued or failed) and the code it
// carries has expired at now: such a message is withdrawn, not sent or
// retried.
func (m OutMessage) ExpiredAt(now time.Time) bool {
	return (m.State == MailQueued || m.State == MailFailed) && !m.Expires.IsZero() && !now.Before(m.Expires)
}

// WithdrawnBecause is the reason m is, or would be, withdrawn.
func (m OutMessage) WithdrawnBecause() string {
	if m.Carries == CarriesPIN {
		return WithdrawnPINReason
	}
	return WithdrawnReason
}

// carriesSecret reports whether m holds a secret that dies (a provision
// code, a PIN, a PIN reset code), which withdrawal wipes.
func (m OutMessage) carriesSecret() bool { return m.Kind == MailProvision || m.Carries != "" }

// mailBackoff is the wait after the n-th temporary failure: 30 s doubling
// up to 4 hours.
func mailBackoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 4*time.Hour; i++ {
		d *= 2
	}
	return min(d, 4*time.Hour)
}

// provisionDestination picks the transport that carries provision codes.
func provisionDestination(u User, p SelfResetPolicy) (string, error) {
	if p.SendCodeAsSecurityString && u.StringsEmail != "" {
		return u.StringsEmail, nil
	}
	if u.Email == "" {
		return "", Errorf(CodeInvalid, "User %q has no email address to send the provision code to.", u.Name)
	}
	return u.Email, nil
}

// queueMail adds m to the outbox inside tx and logs it with the seed's
// wording.
func queueMail(tx Tx, log *logger, m *OutMessage) error {
	m.State, m.Created, m.NextAttempt = MailQueued, log.now, log.now
	if err := tx.PutMail(m); err != nil {
		return err
	}
	return log.add(LevelInfo, m.User, "Message added to message queue for user: %s, destination: %s.", m.User, m.To)
}

// withdrawCodeMail withdraws every unsent (queued or failed) provision
// message of user except the one carrying keep (a plain code; "" keeps
// none), inside tx. Every path that ends a code's life calls it in its own
// transaction, so the outbox never delivers a dead code nor keeps one for
// a retry, and the status bar's pending count and the Outbox agree.
func withdrawCodeMail(tx Tx, log *logger, user, keep string) error {
	return withdrawMail(tx, log, LevelInfo, user, func(m OutMessage) bool {
		return m.Kind == MailProvision && (keep == "" || m.Code != keep)
	})
}

// withdrawSecretMail withdraws user's unsent plain messages carrying what,
// inside tx: every path that ends a PIN's or a PIN reset code's life calls
// it, as withdrawCodeMail for provision codes.
func withdrawSecretMail(tx Tx, log *logger, user string, what MailCarries) error {
	return withdrawMail(tx, log, LevelInfo, user, func(m OutMessage) bool {
		return m.Kind == MailPlain && m.Carries == what
	})
}

// withdrawMail withdraws user's unsent (queued or failed) messages that
// dead picks, inside tx.
func withdrawMail(tx Tx, log *logger, level Level, user string, dead func(OutMessage) bool) error {
	var doomed []OutMessage
	err := tx.Mails(func(m OutMessage) bool {
		if m.State != MailSent && m.State != MailWithdrawn && Key(m.User) == Key(user) && dead(m) {
			doomed = append(doomed, m)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, m := range doomed {
		if err := withdraw(tx, log, level, &m); err != nil {
			return err
		}
	}
	return nil
}

// withdraw marks m withdrawn, wipes what it carries, stores and logs it.
// Who it was for, when it was queued and how many attempts it had stay in
// the Outbox; a failure's reason stays in the log.
func withdraw(tx Tx, log *logger, level Level, m *OutMessage) error {
	m.State, m.LastError = MailWithdrawn, m.WithdrawnBecause()
	m.wipe()
	if err := tx.PutMail(m); err != nil {
		return err
	}
	return log.add(level, m.User, "Message for user: %s, destination: %s withdrawn: %s.", m.User, m.To, m.LastError)
}

// MailIssuedCode queues a message carrying ic, a code this process issued
// and still holds in plain text (the store keeps only its hash), so "Send
// by email" mails the code already on screen: same code, same expiry, same
// QR. It fails with a sentence when the code is no longer the user's
// pending one or has expired. A message already queued for the same code
// is reused rather than sent twice.
func (s *Service) MailIssuedCode(ic IssuedCode) (IssuedCode, error) {
	set := s.Settings()
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, ic.User)
		if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		if errors.Is(err, ErrNotFound) || err == nil && !s.provisionCodeMatches(pc, u.Name, ic.Code) {
			return Errorf(CodeConflict, "This code is no longer valid; use New code to make another.")
		} else if err != nil {
			return err
		}
		if !log.now.Before(pc.Expires) {
			return Errorf(CodeConflict, "This code has expired; use New code to make another.")
		}
		to, err := provisionDestination(u, set.SelfReset)
		if err != nil {
			return err
		}
		var queued *OutMessage
		err = tx.Mails(func(m OutMessage) bool {
			if m.Kind == MailProvision && m.State == MailQueued && Key(m.User) == Key(u.Name) &&
				m.Code == ic.Code && m.To == to {
				queued = &m
			}
			return true
		})
		if err != nil {
			return err
		}
		if queued == nil {
			m := OutMessage{Kind: MailProvision, User: u.Name, FullName: u.FullName, To: to,
				Code: ic.Code, URL: ic.URL, Expires: pc.Expires}
			if err := queueMail(tx, log, &m); err != nil {
				return err
			}
			queued = &m
		}
		ic.mailed(*queued, set)
		return nil
	}, s.outboxChanged)
	return ic, err
}

// MailProvisionCode creates a provision code and queues a message carrying
// it in the same transaction, so a code is never made without its message
// nor a message queued for a code that was rolled back.
func (s *Service) MailProvisionCode(name string) (IssuedCode, error) {
	return s.createProvisionCode(name, true, nil, nil)
}

// QueueMail queues a pre-rendered plain message (test message, PIN).
func (s *Service) QueueMail(user, to, subject, text string) (OutMessage, error) {
	if err := ValidateEmail("to", to); err != nil {
		return OutMessage{}, err
	}
	m := OutMessage{Kind: MailPlain, User: user, To: to, Subject: subject, Text: text}
	err := s.update(false, func(tx Tx, log *logger) error {
		m.ID = 0
		return queueMail(tx, log, &m)
	}, s.outboxChanged)
	return m, err
}

func (s *Service) outboxChanged() []Event {
	return []Event{{Kind: EventOutboxChanged, At: s.clock.Now()}}
}

// Outbox returns every message, oldest first.
func (s *Service) Outbox() ([]OutMessage, error) {
	var out []OutMessage
	err := s.store.View(func(tx Tx) error {
		return tx.Mails(func(m OutMessage) bool { out = append(out, m); return true })
	})
	return out, err
}

// OutMessage returns one outbox message.
func (s *Service) OutMessage(id uint64) (OutMessage, error) {
	var m OutMessage
	err := s.store.View(func(tx Tx) (err error) {
		m, err = outboxMessage(tx, id)
		return err
	})
	return m, err
}

// DueMail returns queued messages whose next attempt is due. Unsent
// messages whose code has expired (ExpiredAt), queued or failed, are
// withdrawn and wiped instead: a dead code is no use to anyone, and a
// failed message keeps its code only while a retry could still send it.
// It writes only when something expired, since the sender asks every few
// seconds.
func (s *Service) DueMail() ([]OutMessage, error) {
	now := s.clock.Now()
	var due, expired []OutMessage
	err := s.store.View(func(tx Tx) error {
		return tx.Mails(func(m OutMessage) bool {
			switch {
			case m.ExpiredAt(now):
				expired = append(expired, m)
			case m.State != MailQueued || m.NextAttempt.After(now):
			default:
				due = append(due, m)
			}
			return true
		})
	})
	if err != nil || len(expired) == 0 {
		return due, err
	}
	for _, m := range expired {
		err := s.update(false, func(tx Tx, log *logger) error {
			cur, err := outboxMessage(tx, m.ID)
			if err != nil || !cur.ExpiredAt(log.now) {
				return err // changed meanwhile
			}
			return withdraw(tx, log, LevelWarn, &cur)
		}, s.outboxChanged)
		if err != nil && ErrorCode(err) != CodeNotFound {
			return due, err
		}
	}
	return due, nil
}

// MailStillDue reads message id again just before the sender sends it:
// the list DueMail gave can be minutes old when a slow server held up the
// messages before it. ok is false when the message was discarded,
// withdrawn, sent or retried later meanwhile, or its code has expired
// (the next DueMail withdraws it); m is then the zero message.
func (s *Service) MailStillDue(id uint64) (m OutMessage, ok bool, err error) {
	now := s.clock.Now()
	err = s.store.View(func(tx Tx) error {
		m, err = tx.Mail(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return OutMessage{}, false, nil
	}
	if err != nil || m.State != MailQueued || m.NextAttempt.After(now) || m.ExpiredAt(now) {
		return OutMessage{}, false, err
	}
	return m, true, nil
}

// MailSent records a delivery and wipes the message's code.
func (s *Service) MailSent(id uint64) error {
	s = s.As(ServerActor)
	return s.changeMail(id, func(m *OutMessage, log *logger) error {
		m.State, m.SentAt, m.LastError = MailSent, log.now, ""
		m.Attempts++
		m.wipe()
		return log.add(LevelInfo, m.User, "Message sent to user: %s, destination: %s.", m.User, m.To)
	})
}

// MailFailed records a failed attempt. A temporary failure is retried with
// back-off until MaxMailAttempts; a permanent one marks the message failed
// at once. reason is a sentence for people, free of secrets. A failed
// message keeps what it carries for "Retry now" only while that is valid:
// DueMail and the withdrawals wipe it when it dies. A message withdrawn
// while it was being sent stays withdrawn.
func (s *Service) MailFailed(id uint64, reason string, temporary bool) error {
	s = s.As(ServerActor)
	return s.changeMail(id, func(m *OutMessage, log *logger) error {
		m.Attempts++
		if m.State == MailWithdrawn {
			// Withdrawn while the sender had it in hand: it stays
			// withdrawn (wiped, never retried); the attempt is counted
			// and the server's answer logged.
			return log.add(LevelWarn, m.User, "Message for user: %s, destination: %s failed after it was withdrawn: %s", m.User, m.To, reason)
		}
		m.LastError = reason
		if temporary && m.Attempts < MaxMailAttempts {
			m.NextAttempt = log.now.Add(mailBackoff(m.Attempts))
			return log.add(LevelWarn, m.User, "Message for user: %s, destination: %s not sent, will retry at %s: %s",
				m.User, m.To, m.NextAttempt.Local().Format("15:04:05"), reason)
		}
		m.State = MailFailed
		return log.add(LevelError, m.User, "Message for user: %s, destination: %s failed: %s", m.User, m.To, reason)
	})
}

// sendWaitingMailNow makes every queued message waiting out a back-off
// due at now, inside tx, and returns how many. A change of the mail
// transport calls it: the failures were the old server's or settings'
// (a relay gone, a wrong port), and the admin who saved the fix expects
// the mail to go, not to wait up to 4 h for the old retry time. Attempts
// are kept, so a message still cannot be tried for ever.
func sendWaitingMailNow(tx Tx, now time.Time) (int, error) {
	var waiting []OutMessage
	err := tx.Mails(func(m OutMessage) bool {
		if m.State == MailQueued && m.NextAttempt.After(now) {
			waiting = append(waiting, m)
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	for _, m := range waiting {
		m.NextAttempt = now
		if err := tx.PutMail(&m); err != nil {
			return 0, err
		}
	}
	return len(waiting), nil
}

// RetryMail queues a failed or waiting message for an attempt now.
func (s *Service) RetryMail(id uint64) error {
	return s.changeMail(id, func(m *OutMessage, log *logger) error {
		if _, err := retryRefusal(*m, log.now); err != nil {
			return err
		}
		m.State, m.NextAttempt = MailQueued, log.now
		return log.add(LevelInfo, m.User, "Message for user: %s, destination: %s queued again.", m.User, m.To)
	})
}

// retryRefusal is why m may not be queued again at now, the one rule
// RetryMail and RetryFailedMail share: why is a few words for a summary
// ("its code is no longer valid"), err the sentence RetryMail answers.
// Both are zero when m may be retried.
func retryRefusal(m OutMessage, now time.Time) (why string, err error) {
	if m.State == MailSent {
		return "it was already sent", Errorf(CodeConflict, "That message was already sent.")
	}
	if m.State == MailWithdrawn || m.ExpiredAt(now) {
		switch m.Carries {
		case CarriesPIN:
			return "the PIN it carries is no longer the user's",
				Errorf(CodeConflict, "That message was withdrawn because the PIN it carried is no longer the user's; reset the PIN again to send a new one.")
		case CarriesPINResetCode:
			return "its PIN reset code is no longer valid",
				Errorf(CodeConflict, "That message was withdrawn because its PIN reset code is no longer valid; the user can ask for a new one.")
		}
		return "its code is no longer valid",
			Errorf(CodeConflict, "That message was withdrawn because its code is no longer valid; reprovision the user for a new one.")
	}
	if m.Kind == MailProvision && m.Code == "" {
		return "its provision code is gone",
			Errorf(CodeConflict, "That message's provision code is gone; reprovision the user for a new one.")
	}
	return "", nil
}

// RetryFailedMail queues again, in one transaction, every failed message
// that RetryMail would accept, for the fix an admin makes once for all of
// them: a permanent failure (a changed relay certificate, a wrong SMTP
// password, a refused sender) fails every queued message alike. It skips
// the others, which stay failed until the sender withdraws them, and
// writes one audit line with both counts. It returns how many it queued;
// with no failed message it changes and logs nothing.
func (s *Service) RetryFailedMail() (int, error) {
	var queued int
	err := s.update(false, func(tx Tx, log *logger) error {
		queued = 0 // fn runs again when the store retries it
		var failed []OutMessage
		err := tx.Mails(func(m OutMessage) bool {
			if m.State == MailFailed {
				failed = append(failed, m)
			}
			return true
		})
		if err != nil || len(failed) == 0 {
			return err
		}
		// Why the skipped ones were, by reason, in the order first met.
		var reasons []string
		skipped := map[string]int{}
		for _, m := range failed {
			if why, _ := retryRefusal(m, log.now); why != "" {
				if skipped[why] == 0 {
					reasons = append(reasons, why)
				}
				skipped[why]++
				continue
			}
			m.State, m.NextAttempt = MailQueued, log.now
			if err := tx.PutMail(&m); err != nil {
				return err
			}
			queued++
		}
		line := Plural(queued, "failed message", "failed messages") + " queued again"
		if n := len(failed) - queued; n > 0 {
			line += "; " + strconv.Itoa(n) + " could not be: "
			for i, why := range reasons {
				if i > 0 {
					line += ", "
				}
				line += why
				if len(reasons) > 1 {
					line += " (" + strconv.Itoa(skipped[why]) + ")"
				}
			}
		}
		return log.add(LevelInfo, "", "%s.", line)
	}, func() []Event {
		if queued == 0 {
			return nil // the outbox is as it was
		}
		return s.outboxChanged()
	})
	return queued, err
}

// DiscardMail removes a message from the outbox.
func (s *Service) DiscardMail(id uint64) error {
	return s.update(false, func(tx Tx, log *logger) error {
		m, err := outboxMessage(tx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteMail(id); err != nil {
			return err
		}
		return log.add(LevelInfo, m.User, "Message for user: %s, destination: %s discarded.", m.User, m.To)
	}, s.outboxChanged)
}

func (s *Service) changeMail(id uint64, fn func(*OutMessage, *logger) error) error {
	return s.update(false, func(tx Tx, log *logger) error {
		m, err := outboxMessage(tx, id)
		if err != nil {
			return err
		}
		if err := fn(&m, log); err != nil {
			return err
		}
		return tx.PutMail(&m)
	}, s.outboxChanged)
}

func outboxMessage(tx Tx, id uint64) (OutMessage, error) {
	m, err := tx.Mail(id)
	if errors.Is(err, ErrNotFound) {
		return m, Errorf(CodeNotFound, "There is no message %d in the outbox.", id)
	}
	return m, err
}

// String describes a message for lists, without its secret parts.
func (m OutMessage) String() string {
	return fmt.Sprintf("%d %s to %s (%s)", m.ID, m.Kind, m.To, m.State)
}
