package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OATHIssued is a token just issued, shown once: URI and SecretText carry
// the secret and are never logged or stored elsewhere.
type OATHIssued struct {
	User       string      `json:"user"`
	ID         string      `json:"id,omitempty"` // OATHToken.ID
	Options    OATHOptions `json:"options"`
	URI        string      `json:"uri"`         // otpauth:// Key URI for the QR code
	SecretText string      `json:"secret_text"` // base32 in groups of four, for typing
	Expires    time.Time   `json:"expires"`
	// Created is the service's clock when the token was issued: a
	// console counts Expires − Created down from when it received the
	// answer, whatever its own clock says (IssuedCode.Created).
	Created time.Time `json:"created"`
}

// OATHStatus is what the console and the admin API show of a user's token.
type OATHStatus struct {
	Kind      string    `json:"kind"`              // "strings", OATHTOTP or OATHHOTP: what the user logs in with
	State     string    `json:"state"`             // "none", "pending" or "confirmed"
	Expires   time.Time `json:"expires,omitzero"`  // of the pending token, when State is pending
	Pending   string    `json:"pending,omitempty"` // kind of a pending token beside a confirmed one, else ""
	Confirmed time.Time `json:"confirmed,omitzero"`
	// ID names the confirmed token and PendingID the pending one
	// (OATHToken.ID): they tell a console's dialog whether the token it
	// shows is still the one waiting, was confirmed, or was replaced by
	// another console's.
	ID        string `json:"id,omitempty"`
	PendingID string `json:"pending_id,omitempty"`
}

// Token states.
const (
	OATHStateNone      = "none"
	OATHStatePending   = "pending"
	OATHStateConfirmed = "confirmed"
)

func oathStatus(u User, rec OATHRecord, now time.Time) OATHStatus {
	st := OATHStatus{Kind: "strings", State: OATHStateNone}
	if u.Provisioned() {
		st.State = OATHStateConfirmed
	}
	if rec.Active != nil {
		st.Kind, st.State, st.Confirmed = rec.Active.Kind, OATHStateConfirmed, rec.Active.ConfirmedAt
		st.ID = rec.Active.ID
	}
	if p := rec.Pending; p != nil && now.Before(p.Expires) {
		if rec.Active == nil && !u.Provisioned() {
			st.Kind, st.State = p.Kind, OATHStatePending
		}
		st.Pending, st.Expires, st.PendingID = p.Kind, p.Expires, p.ID
	}
	return st
}

// OATHStatus returns the token kind and state of a user.
func (s *Service) OATHStatus(name string) (OATHStatus, error) {
	var st OATHStatus
	err := s.store.View(func(tx Tx) error {
		// Deleted users too: the admin API's Read reports their token.
		u, err := scopedUser(tx, Scope{}, name, true)
		if err != nil {
			return err
		}
		rec, err := readOATH(tx, u.Name)
		st = oathStatus(u, rec, s.clock.Now())
		return err
	})
	return st, err
}

// OATHStatuses returns the OATH status of every user that has a record,
// by lower-case name (one transaction for the users list).
func (s *Service) OATHStatuses() (map[string]OATHStatus, error) {
	now := s.clock.Now()
	out := map[string]OATHStatus{}
	err := s.store.View(func(tx Tx) error {
		var recs []struct {
			name string
			rec  OATHRecord
		}
		if err := tx.OATHRecords(func(name string, r OATHRecord) bool {
			recs = append(recs, struct {
				name string
				rec  OATHRecord
			}{name, r})
			return true
		}); err != nil {
			return err
		}
		for _, r := range recs {
			u, err := tx.User(r.name)
			if err != nil {
				continue
			}
			out[Key(u.Name)] = oathStatus(u, r.rec, now)
		}
		return nil
	})
	return out, err
}

func readOATH(tx Tx, name string) (OATHRecord, error) {
	rec, err := tx.OATH(name)
	if errors.Is(err, ErrNotFound) {
		return OATHRecord{}, nil
	}
	return rec, err
}

func kindName(o OATHOptions) string {
	return fmt.Sprintf("%s, %s, %d digits", strings.ToUpper(o.Kind), o.Algorithm, o.Digits)
}

// IssueOATH issues a pending OATH token to a user, replacing a pending
// one. The current device or token keeps working until the new one is
// confirmed; an unconfirmed token is wiped after the Self-Reset policy's
// code validity.
func (s *Service) IssueOATH(name string, opt OATHOptions) (OATHIssued, error) {
	var out OATHIssued
	err := s.update(false, func(tx Tx, log *logger) error {
		var err error
		out, err = s.issueOATH(tx, log, name, opt)
		return err
	}, s.usersChanged(name))
	return out, err
}

// errOATHOff refuses an OATH token while oath.enabled is off, saying the
// two ways to turn it on: there is no such field on any console screen.
func errOATHOff() error {
	return Errorf(CodeInvalid, "OATH tokens are turned off; turn them on first: provisio settings set oath.enabled yes, or Yes when the console asks.")
}

func (s *Service) issueOATH(tx Tx, log *logger, name string, opt OATHOptions) (OATHIssued, error) {
	set := s.Settings()
	if !set.OATH.Enabled {
		return OATHIssued{}, errOATHOff()
	}
	if s.oathKeys == nil {
		return OATHIssued{}, Errorf(CodeInternal, "This build cannot make OATH keys.")
	}
	if err := opt.Normalize(); err != nil {
		return OATHIssued{}, err
	}
	u, err := findUser(tx, name)
	if err != nil {
		return OATHIssued{}, err
	}
	if u.Disabled {
		return OATHIssued{}, Errorf(CodeDisabled, "User %q is disabled; enable them before issuing a token.", u.Name)
	}
	rec, err := readOATH(tx, u.Name)
	if err != nil {
		return OATHIssued{}, err
	}
	if rec.Pending != nil {
		s.oath.dirty.Store(true)
	}
	tok := &OATHToken{OATHOptions: opt, ID: rand.Text(), Secret: newOATHSecret(opt.Algorithm), Created: log.now,
		Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second)}
	if opt.Kind == OATHHOTP {
		tok.Counter = opt.Counter
	}
	uri, err := s.oathKeys.KeyURI(set.OATHIssuer(), u.Name, opt, tok.Secret)
	if err != nil {
		return OATHIssued{}, fmt.Errorf("build the OATH key URI: %w", err)
	}
	rec.Pending = tok
	if err := tx.PutOATH(u.Name, rec); err != nil {
		return OATHIssued{}, err
	}
	if err := log.add(LevelInfo, u.Name, "OATH token (%s) issued for user %q; it expires unless confirmed by %s.",
		kindName(opt), u.Name, tok.Expires.Local().Format("15:04")); err != nil {
		return OATHIssued{}, err
	}
	return OATHIssued{User: u.Name, ID: tok.ID, Options: opt, URI: uri, SecretText: OATHSecretText(tok.Secret), Expires: tok.Expires, Created: tok.Created}, nil
}

// userOATH reads a user and their OATH record.
func userOATH(tx Tx, name string) (User, OATHRecord, error) {
	u, err := findUser(tx, name)
	if err != nil {
		return User{}, OATHRecord{}, err
	}
	rec, err := readOATH(tx, u.Name)
	return u, rec, err
}

// ConfirmOATH confirms a user's pending token with a code from the app
// (the console's "Code from the app"). A wrong code is an error with a
// sentence and changes nothing: it is the administrator typing, not a
// login. On success the previous device or token is revoked in the same
// transaction.
func (s *Service) ConfirmOATH(name, code string) error {
	set := s.Settings()
	return s.update(false, func(tx Tx, log *logger) error {
		u, rec, err := userOATH(tx, name)
		if err != nil {
			return err
		}
		p := rec.Pending
		if p == nil || !log.now.Before(p.Expires) {
			return Errorf(CodeSession, "User %q has no OATH token waiting for confirmation; issue a new one.", u.Name)
		}
		code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
		if len(code) != p.Digits || !isDigits(code) {
			return FieldError("code", "Enter the %d-digit code the app shows.", p.Digits)
		}
		if p.checkCode(code, log.now, set.OATH) != oathAccepted {
			return FieldError("code", "That code is not right. Check the phone's clock and type the code the app shows now.")
		}
		return s.confirmOATH(tx, log, &u, &rec, "in the console")
	}, s.usersChanged(name))
}

// confirmOATH makes the pending token the user's token, revoking the
// previous device and its strings or the previous token.
func (s *Service) confirmOATH(tx Tx, log *logger, u *User, rec *OATHRecord, how string) error {
	had := ""
	switch {
	case rec.Active != nil:
		had = "the previous OATH token"
	case u.Provisioned():
		had = "the previous device"
	}
	if err := revokeDevice(tx, *u); err != nil {
		return err
	}
	u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
	u.DeviceCert = nil
	tok := rec.Pending
	tok.Expires, tok.ConfirmedAt = time.Time{}, log.now
	if rec.Active != nil {
		s.oath.dirty.Store(true)
	}
	*rec = OATHRecord{Active: tok}
	if err := tx.PutOATH(u.Name, *rec); err != nil {
		return err
	}
	if err := tx.PutUser(*u); err != nil {
		return err
	}
	msg := fmt.Sprintf("OATH token for user %q confirmed %s.", u.Name, how)
	if had != "" {
		msg = fmt.Sprintf("OATH token for user %q confirmed %s; %s was revoked.", u.Name, how, had)
	}
	return log.add(LevelInfo, u.Name, "%s", msg)
}

// RevokeOATH removes a user's OATH tokens, confirmed and pending.
func (s *Service) RevokeOATH(name string) error {
	err := s.update(false, func(tx Tx, log *logger) error {
		u, rec, err := userOATH(tx, name)
		if err != nil {
			return err
		}
		if rec.Active == nil && rec.Pending == nil {
			return Errorf(CodeConflict, "User %q has no OATH token.", u.Name)
		}
		if err := tx.DeleteOATH(u.Name); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "OATH token of user %q revoked; the user must reprovision.", u.Name)
	}, s.usersChanged(name))
	if err == nil {
		s.scrub(true)
	}
	return err
}

// ExpireOATH wipes pending tokens past their deadline, logging each, and
// then scrubs the store's free space so the secrets are gone from the
// file. It returns how many expired.
func (s *Service) ExpireOATH() (int, error) {
	var names []string
	err := s.update(false, func(tx Tx, log *logger) error {
		names = names[:0]
		type exp struct {
			name string
			rec  OATHRecord
		}
		var due []exp
		if err := tx.OATHRecords(func(name string, r OATHRecord) bool {
			if r.Pending != nil && !log.now.Before(r.Pending.Expires) {
				due = append(due, exp{name, r})
			}
			return true
		}); err != nil {
			return err
		}
		for _, d := range due {
			u, err := tx.User(d.name)
			display := d.name
			if err == nil {
				display = u.Name
			}
			d.rec.Pending = nil
			if d.rec.Active == nil {
				err = tx.DeleteOATH(d.name)
			} else {
				err = tx.PutOATH(d.name, d.rec)
			}
			if err != nil {
				return err
			}
			names = append(names, display)
			if err := log.add(LevelWarn, display, "OATH token for user %q expired unconfirmed", display); err != nil {
				return err
			}
		}
		return nil
	}, func() []Event {
		ev := make([]Event, 0, len(names))
		for _, n := range names {
			ev = append(ev, Event{Kind: EventUsersChanged, User: n, At: s.clock.Now()})
		}
		return ev
	})
	if err != nil {
		return 0, err
	}
	s.scrub(len(names) > 0)
	return len(names), nil
}

// scrub overwrites the store's free pages when it can: always when a
// secret went in a transaction of this Service (dirty) or now (force),
// else when the store itself saw an OATH record deleted.
func (s *Service) scrub(force bool) {
	force = s.oath.dirty.Swap(false) || force
	if sc, ok := s.store.(Scrubber); ok {
		if err := sc.ScrubFree(force); err != nil {
			s.oath.dirty.Store(true)
			_ = s.Log(LevelError, "", "Wiping free space in the data file failed: %v", err)
		}
	}
}

// OATHExpiryInterval is how often RunOATHExpiry looks for expired tokens.
const OATHExpiryInterval = 15 * time.Second

// RunOATHExpiry calls ExpireOATH every OATHExpiryInterval until done is
// closed, passing errors to report.
func (s *Service) RunOATHExpiry(done <-chan struct{}, report func(error)) {
	s = s.As(ServerActor)
	t := time.NewTicker(OATHExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if _, err := s.ExpireOATH(); err != nil && report != nil {
				report(err)
			}
		}
	}
}
