package core

import (
	"errors"
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
		return IssuedCode{}, Errorf(CodeInvalid, "OATH tokens are turned off; turn on oath.enabled (Server settings) first.")
	}
	if err := opt.Normalize(); err != nil {
		return IssuedCode{}, err
	}
	return s.createProvisionCode(name, true, &opt, nil)
}

// RedeemOATHProvision redeems a provision code made for an OATH token
// (the web page behind the Provision URL): a pending token is issued
// whose otpauth:// URI is returned this once, and the code is spent. A
// wrong or late code is spent too, as in Provision, so a code can be
// guessed once; a right code meant for the mobile client is left for it.
// A request for an unknown user or one without a pending code changes
// nothing and writes nothing: it is counted with Refuse (source is the
// caller's address), since anyone can send it.
func (s *Service) RedeemOATHProvision(source, username, code string) (OATHIssued, error) {
	s = s.As(PhoneActor(source))
	var out OATHIssued
	var fail error
	refused := false
	failed := Errorf(CodeProvision, "This set-up link has been used or has expired.")
	err := s.update(false, func(tx Tx, log *logger) error {
		out, fail, refused = OATHIssued{}, nil, false
		u, err := findUser(tx, username)
		if ErrorCode(err) == CodeNotFound {
			fail, refused = failed, true
			return nil
		} else if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		if errors.Is(err, ErrNotFound) {
			fail, refused = failed, true
			return nil
		} else if err != nil {
			return err
		}
		why, right := "", pc.Matches(u.Name, code)
		switch {
		case !log.now.Before(pc.Expires):
			why = "the provision code has expired"
		case !right:
			why = "the provision code is wrong"
		case pc.OATH == nil:
			fail = Errorf(CodeProvision, "This link sets up the mobile client, not an authenticator app.")
			return log.add(LevelWarn, u.Name, "User %q opened a mobile-client provision code as an authenticator set-up; the code still works in the mobile client.", u.Name)
		case u.Disabled:
			why = "the user is disabled"
		}
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if why != "" {
			fail = failed
			return log.add(LevelWarn, u.Name, provisionFailedLog, u.Name)
		}
		out, err = s.issueOATH(tx, log, u.Name, *pc.OATH)
		return err
	}, s.usersChanged(username))
	if err != nil {
		return OATHIssued{}, err
	}
	if refused {
		s.Refuse(source, "authenticator set-up for an unknown user or without a pending code")
	}
	return out, fail
}
