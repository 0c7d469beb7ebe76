package core

import (
	"time"
)

// Helpdesk actions of the console that go beyond editing a user's fields.

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
	}, s.usersChanged(name), func() []Event {
		if send {
			return s.outboxChanged()
		}
		return nil
	})
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
// self-service reset leaves the lock to an administrator. by names who
// asked for the log ("" for the console and the command line). It returns
// the new PIN, which is never logged.
func resetPIN(tx Tx, log *logger, set Settings, u *User, how pinDelivery, unlock bool, by string) (string, error) {
	if u.Disabled {
		return "", Errorf(CodeDisabled, "User %q is disabled; enable them before resetting their PIN.", u.Name)
	}
	if how == pinMailed && u.Email == "" {
		return "", Errorf(CodeNoTransport, "User %q has no email address to send a new PIN to.", u.Name)
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
			"call your helpdesk.\n"}
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

// RevokeDevice removes a user's provisioned device and security strings:
// the phone stops working at once and the user must reprovision. A
// pending provision code is left alone.
func (s *Service) RevokeDevice(name string) error {
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if !u.Provisioned() {
			return Errorf(CodeConflict, "User %q has no provisioned device.", u.Name)
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		dev := ""
		if u.DeviceOS != "" {
			dev = " (" + u.DeviceOS + ")"
		}
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
		u.DeviceCert = nil // the certificate goes with the device (#14)
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "Device of user %q revoked%s; the user must reprovision.", u.Name, dev)
	}, s.usersChanged(name))
}

// secretAlphabet leaves out characters that are easy to confuse when a
// secret is read off a screen into an agent's configuration.
const secretAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// NewAgentSecret returns a random shared secret for an agent: 24
// characters, about 138 bits.
func NewAgentSecret() string {
	return randomString(secretAlphabet, 24)
}
