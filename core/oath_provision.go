package core

import (
	"errors"
	"fmt"
)

// OATHURLParam marks the Provision URL of a code that sets up an OATH
// token, so the page it opens offers the authenticator set-up instead of
// the mobile client's settings. It says nothing secret.
const OATHURLParam = "kind=oath"

// MailOATHProvisionCode mails the user the usual single-use Provision URL,
// for a code that sets up an OATH token: redeeming it (the web client's
// Set up page, RedeemOATHProvision) reveals the otpauth:// QR once. The
// secret itself never goes into a message.
func (s *Service) MailOATHProvisionCode(name string, opt OATHOptions) (IssuedCode, error) {
	if !s.Settings().OATH.Enabled {
		return IssuedCode{}, errOATHOff()
	}
	if err := opt.Normalize(); err != nil {
		return IssuedCode{}, err
	}
	return s.createProvisionCode(name, true, &opt, nil)
}

// Reasons of refused authenticator set-ups, counted with Service.Refuse
// like those of Provision: fixed sentences, never what a stranger sent.
const (
	refusedOATHNoCode   = "authenticator set-up for an unknown user or without a pending code"
	refusedOATHExpired  = "authenticator set-up with an expired code"
	refusedOATHThrottle = "authenticator set-up inside the delay after a wrong code"
	refusedOATHWrong    = "wrong authenticator set-up code"
	// With the user's stored name, which the administrator acts on.
	refusedOATHMobileCode = "authenticator set-up with the mobile-client code of user %q, which still works in the mobile client"
)

// errMobileCodeOnOATHPage answers a right code that was made for the
// mobile client, which the code's holder may be told.
var errMobileCodeOnOATHPage = Errorf(CodeProvision, "This link sets up the mobile client, not an authenticator app.")

var oathRefusals = attemptRefusals{refusedOATHNoCode, refusedOATHExpired, refusedOATHThrottle, refusedOATHWrong}

// RedeemOATHProvision redeems a provision code made for an OATH token
// (the web page behind the Provision URL): a pending token is issued
// whose otpauth:// URI is returned this once, and the code is spent.
//
// Anyone can send it, so it keeps Provision's rules (provision_guard.go):
// everything a stranger can try is decided on a read and counted in
// memory (Refuse), never written one by one; a wrong code does not burn
// the code, so that nobody can cancel another person's enrolment with one
// request, but wrong attempts are throttled per code and source and the
// code dies after the Self-Reset policy's MaxProvisionAttempts; every
// failure is the same sentence, whether the user exists or not. A right
// code meant for the mobile client is left for it.
func (s *Service) RedeemOATHProvision(source, username, code string) (OATHIssued, error) {
	s = s.As(PhoneActor(source))
	failed := Errorf(CodeProvision, "This set-up link has been used or has expired.")
	u, pc, err := s.admitProvisionAttempt(source, username, code, oathRefusals, failed)
	if err != nil {
		return OATHIssued{}, err
	}
	if pc.OATH == nil {
		// Right, but made for the mobile client: it stays for it.
		// Counted, not written: the code is not spent, so a line each
		// would let its holder write one per request for as long as the
		// code lives. Only the code's holder learns that it is right.
		s.Refuse(source, fmt.Sprintf(refusedOATHMobileCode, u.Name))
		s.provisions.forget(pc.Hash)
		return OATHIssued{}, errMobileCodeOnOATHPage
	}

	// The code is right: redeem it, checking again inside the write.
	var out OATHIssued
	var fail error
	err = s.update(false, func(tx Tx, log *logger) error {
		out, fail = OATHIssued{}, nil
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		cur, err := tx.ProvisionCode(u.Name)
		why := ""
		switch {
		case errors.Is(err, ErrNotFound):
			fail = failed
			return nil // used meanwhile: its redemption wrote the log line
		case err != nil:
			return err
		case cur.Hash != pc.Hash || !s.provisionCodeMatches(cur, u.Name, code):
			fail = failed
			return nil // replaced meanwhile: the new code is not this one
		case !log.now.Before(cur.Expires):
			why = "the provision code has expired"
		case cur.OATH == nil:
			// Refused before the write (above); the same code read again
			// cannot get here, and nothing is written if it did.
			fail = errMobileCodeOnOATHPage
			return nil
		case u.Disabled:
			// Right, so spent, as in Provision: an administrator enables
			// the user and makes a new code.
			why = "the user is disabled"
		}
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if err := withdrawCodeMail(tx, log, u.Name, ""); err != nil { // redeemed
			return err
		}
		if why != "" {
			fail = failed
			return log.add(LevelWarn, u.Name, provisionFailedLog+" (%s)", u.Name, why)
		}
		out, err = s.issueOATH(tx, log, u.Name, *cur.OATH)
		return err
	}, s.usersChanged(username))
	if ErrorCode(err) == CodeNotFound {
		return OATHIssued{}, failed
	} else if err != nil {
		return OATHIssued{}, err
	}
	s.provisions.forget(pc.Hash)
	return out, fail
}
