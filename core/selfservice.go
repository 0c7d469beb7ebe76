package core

import (
	"errors"
	"time"
)

// SelfServiceOutcome says what a self-service code request did. The person
// asking is always told the same sentence; the outcome is for the log and
// for tests.
type SelfServiceOutcome int

// Outcomes of RequestSelfServiceCode.
const (
	// SelfServiceMailed: a code was made and its message queued.
	SelfServiceMailed SelfServiceOutcome = iota
	// SelfServiceOff: the Self-Reset policy does not allow self-provision.
	SelfServiceOff
	// SelfServiceNoUser: there is no such user (or it is deleted).
	SelfServiceNoUser
	// SelfServiceCannotReceive: the user is disabled, may not use the
	// mobile client, or has no address to mail the code to.
	SelfServiceCannotReceive
	// SelfServicePending: a code is already pending, perhaps one the
	// administrator made; it is left alone.
	SelfServicePending
)

// RequestSelfServiceCode mails a new provision code to a user who asked
// for one on the self-service portal, through the outbox.
//
// Unlike CreateProvisionCode it never replaces a pending code: the
// administrator may have just handed the user one, and a stranger who
// knows the username must not be able to cancel it. So a code is made
// only when none is pending, checked inside the same transaction that
// creates it. It never touches the current device: that stays until the
// new code is used.
//
// Requests that issue nothing write nothing (no durable write for anyone
// who reaches the portal); the caller counts them with Refuse.
//
// source is the requester's address: the lines of a code it issues name
// it ("a phone at 192.0.2.7"), as a provision's do.
func (s *Service) RequestSelfServiceCode(source, name string) (SelfServiceOutcome, error) {
	s = s.As(PhoneActor(source))
	set := s.Settings()
	if !set.SelfReset.AllowSelfProvision {
		return SelfServiceOff, nil
	}
	// A read first, so that refused requests cost no write.
	out, err := s.selfServiceCheck(name, set)
	if err != nil || out != SelfServiceMailed {
		return out, err
	}
	var ic IssuedCode
	err = s.update(false, func(tx Tx, log *logger) error {
		ic, out = IssuedCode{}, SelfServiceMailed
		u, to, o, err := selfServiceUser(tx, name, set, log.now)
		if err != nil || o != SelfServiceMailed {
			out = o
			return err
		}
		if err := log.add(LevelInfo, u.Name, "Provision code for user %q requested on the self-service portal.", u.Name); err != nil {
			return err
		}
		ic, err = s.issueCode(tx, log, set, u, to, nil)
		return err
	}, func() []Event {
		if ic.Code == "" {
			return nil
		}
		issued := ic
		return append([]Event{{Kind: EventCodeCreated, User: ic.User, At: s.clock.Now(), Issued: &issued}}, s.outboxChanged()...)
	})
	if err != nil {
		return SelfServiceMailed, err
	}
	return out, nil
}

func (s *Service) selfServiceCheck(name string, set Settings) (SelfServiceOutcome, error) {
	out := SelfServiceMailed
	err := s.store.View(func(tx Tx) error {
		var err error
		_, _, out, err = selfServiceUser(tx, name, set, s.clock.Now())
		return err
	})
	return out, err
}

// selfServiceUser finds the user a self-service code would go to and the
// address it would go to, or says why none goes.
func selfServiceUser(tx Tx, name string, set Settings, now time.Time) (User, string, SelfServiceOutcome, error) {
	if ValidateUsername(name) != nil {
		return User{}, "", SelfServiceNoUser, nil
	}
	u, err := findUser(tx, name)
	if ErrorCode(err) == CodeNotFound {
		return User{}, "", SelfServiceNoUser, nil
	} else if err != nil {
		return User{}, "", SelfServiceMailed, err
	}
	if u.Disabled || !u.MobileAllowed {
		return User{}, "", SelfServiceCannotReceive, nil
	}
	to, err := provisionDestination(u, set.SelfReset)
	if err != nil {
		return User{}, "", SelfServiceCannotReceive, nil
	}
	pc, err := tx.ProvisionCode(u.Name)
	switch {
	case err == nil && now.Before(pc.Expires):
		return User{}, "", SelfServicePending, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return User{}, "", SelfServiceMailed, err
	}
	return u, to, SelfServiceMailed, nil
}
