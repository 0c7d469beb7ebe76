package core

import (
	"fmt"
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

// Mail wording of a PIN sent by ResetPIN.
const (
	pinMailSubject = "Your new PIN"
	pinMailText    = "Hello %s,\n\nyour PIN for the mobile authenticator has been reset. Your new PIN is %s.\n\n" +
		"Use it with the security strings on your phone as before. If you did not ask for a new PIN, call your helpdesk.\n"
)

// ResetPIN gives a user a new random PIN as long as the shortest PIN the
// policy allows. With send the PIN is queued as mail to the user's email
// address in the same transaction, so it is never changed without its
// message; otherwise it is returned once, to be shown to the helpdesk.
// The PIN is never logged.
func (s *Service) ResetPIN(name string, send bool) (PINReset, error) {
	set := s.Settings()
	pin := NewPIN(set.PINMin)
	var res PINReset
	err := s.update(false, func(tx Tx, log *logger) error {
		res = PINReset{}
		u, err := findUser(tx, name)
		if err != nil {
			return err
		}
		if send && u.Email == "" {
			return Errorf(CodeInvalid, "User %q has no email address to send the PIN to.", u.Name)
		}
		u.PIN = pin
		if err := tx.PutUser(u); err != nil {
			return err
		}
		res.User = u.Name
		if err := log.add(LevelInfo, u.Name, "PIN reset for user %q.", u.Name); err != nil {
			return err
		}
		if !send {
			res.PIN = pin
			return nil
		}
		greet := u.FullName
		if greet == "" {
			greet = u.Name
		}
		m := OutMessage{Kind: MailPlain, User: u.Name, FullName: u.FullName, To: u.Email,
			Subject: pinMailSubject, Text: fmt.Sprintf(pinMailText, greet, pin)}
		res.To = u.Email
		return queueMail(tx, log, &m)
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
	r := randBytes{}
	out := make([]byte, 24)
	for i := range out {
		out[i] = secretAlphabet[r.below(len(secretAlphabet))]
	}
	return string(out)
}
