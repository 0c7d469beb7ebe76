package core

import (
	"errors"
	"strings"
	"time"
)

// IssuedCode is a provision code just created; Code is the only copy of
// the plain code and is shown or sent once.
type IssuedCode struct {
	User    string
	Code    string
	Expires time.Time
	URL     string
	// MailID is the outbox message carrying the code, when it was mailed.
	MailID uint64
}

// CreateProvisionCode makes a new provision code for a user, replacing any
// pending one. The current device keeps working until the code is used.
func (s *Service) CreateProvisionCode(name string) (IssuedCode, error) {
	return s.createProvisionCode(name, false)
}

func (s *Service) createProvisionCode(name string, mail bool) (IssuedCode, error) {
	set := s.Settings()
	var ic IssuedCode
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		if u.Disabled {
			return Errorf(CodeDisabled, "User %q is disabled; enable them before reprovisioning.", u.Name)
		}
		to := ""
		if mail {
			if to, err = provisionDestination(u, set.SelfReset); err != nil {
				return err
			}
		}
		code := NewCode(set.MobileClient.ProvisionNumeric)
		pc := ProvisionCode{Hash: HashCode(u.Name, code), Created: log.now,
			Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second)}
		if err := tx.PutProvisionCode(u.Name, pc); err != nil {
			return err
		}
		ic = IssuedCode{User: u.Name, Code: code, Expires: pc.Expires,
			URL: s.provisionURL(set, u.Name, code)}
		if err := log.add(LevelInfo, u.Name, "Provision code created for user %q", u.Name); err != nil {
			return err
		}
		if mail {
			m := OutMessage{Kind: MailProvision, User: u.Name, FullName: u.FullName, To: to,
				Code: code, URL: ic.URL, Expires: pc.Expires}
			if err := queueMail(tx, log, &m); err != nil {
				return err
			}
			ic.MailID = m.ID
		}
		return log.add(LevelInfo, u.Name, "User %q can now reprovision their mobile device.", u.Name)
	}, func() []Event {
		issued := ic
		ev := []Event{{Kind: EventCodeCreated, User: ic.User, At: s.clock.Now(), Issued: &issued}}
		if mail {
			ev = append(ev, s.outboxChanged()...)
		}
		return ev
	})
	return ic, err
}

// ProvisionURL is the link for username and code that goes into QR codes
// and mail, on the "URL complete" base when the policy sets one.
func (s *Service) ProvisionURL(username, code string) string {
	return s.provisionURL(s.Settings(), username, code)
}

func (s *Service) provisionURL(set Settings, username, code string) string {
	if set.SelfReset.URLComplete != "" {
		return ProvisionURLWithBase(set.SelfReset.URLComplete, set.SiteID, username, code)
	}
	return ProvisionURL(s.AdvertisedHost(), set.ListenPort(), set.SiteID, username, code)
}

// AdvertisedHost is the address phones are told to use: the configured
// one, else the first LAN address, else the host name.
func (s *Service) AdvertisedHost() string {
	set := s.Settings()
	if set.Advertise != "" {
		return set.Advertise
	}
	if addrs := LANAddresses(); len(addrs) > 0 {
		return addrs[0].String()
	}
	if set.ServerName != "" {
		return set.ServerName
	}
	return "localhost"
}

// Provisioned is the result of a successful provision.
type Provisioned struct {
	User     string
	DeviceID string
	Policies MobileClientPolicy
}

const provisionFailedLog = "User %q provision failed, A valid session could not be loaded or created for the user."

// Provision redeems a provision code for a new device. A wrong or late
// attempt burns the code, and bbolt's single writer means exactly one of
// several concurrent attempts with a valid code can win. On success the
// previous device and all its strings are revoked.
func (s *Service) Provision(username, code, deviceOS string) (Provisioned, error) {
	set := s.Settings()
	var res Provisioned
	var failReason string
	err := s.update(true, func(tx Tx, log *logger) error {
		res, failReason = Provisioned{}, ""
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			if err := log.add(LevelWarn, "", "Mobile request from unknown user; the user needs to reprovision"); err != nil {
				return err
			}
			if err := log.add(LevelWarn, "", "AgentXML request failed, error: No suitable authentication method for the user %q was found. The user may be missing from the user repository or a synchronisation has not yet occurred.", clean(username)); err != nil {
				return err
			}
			failReason = "unknown user"
			return nil
		} else if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			failReason = "no provision code is pending"
		case err != nil:
			return err
		case !log.now.Before(pc.Expires):
			failReason = "the provision code has expired"
		case !pc.Matches(u.Name, code):
			failReason = "the provision code is wrong"
		case u.Disabled:
			failReason = "the user is disabled"
		}
		// Any attempt spends the code: one guess per code.
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if failReason != "" {
			return log.add(LevelWarn, u.Name, provisionFailedLog, u.Name)
		}
		if err := revokeDevice(tx, u); err != nil {
			return err
		}
		u.DeviceID, u.DeviceOS, u.ProvisionedAt = NewDeviceID(), clean(deviceOS), log.now
		if err := tx.PutDevice(u.DeviceID, u.Name); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		res = Provisioned{User: u.Name, DeviceID: u.DeviceID, Policies: set.MobileClient}
		if set.SelfReset.LogDeviceInfo && u.DeviceOS != "" {
			if err := log.add(LevelInfo, u.Name, "User %q provisioned a device: %s", u.Name, u.DeviceOS); err != nil {
				return err
			}
		}
		return log.add(LevelInfo, u.Name, "User %q provisioned successfully", u.Name)
	}, func() []Event {
		if res.DeviceID != "" {
			return []Event{{Kind: EventProvisioned, User: res.User, DeviceOS: clean(deviceOS), At: s.clock.Now()}}
		}
		return []Event{{Kind: EventProvisionFailed, User: username, Reason: failReason, At: s.clock.Now()}}
	})
	if err != nil {
		return Provisioned{}, err
	}
	switch {
	case failReason == "unknown user":
		return Provisioned{}, Errorf(CodeNotFound, "There is no user %q.", username)
	case failReason != "":
		return Provisioned{}, Errorf(CodeProvision, "Provision failed: %s.", failReason)
	}
	return res, nil
}

// clean makes outside text safe for one log line.
func clean(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Download is a fresh set of security strings for a device.
type Download struct {
	User     string
	Strings  string // 100 strings joined by ';'
	Policies MobileClientPolicy
}

// SecurityStrings replaces the strings of the user owning deviceID with 100
// new ones and returns them.
func (s *Service) SecurityStrings(deviceID string) (Download, error) {
	set := s.Settings()
	// Made before the transaction so the single writer is held no longer
	// than the write itself takes.
	ss := NewStringSet()
	var d Download
	var fail error
	err := s.update(true, func(tx Tx, log *logger) error {
		d, fail = Download{}, nil
		name, err := tx.DeviceUser(deviceID)
		if errors.Is(err, ErrNotFound) {
			fail = Errorf(CodeSession, "This device is not provisioned; the user needs to reprovision.")
			return log.add(LevelWarn, "", "Mobile request from unknown user; the user needs to reprovision")
		} else if err != nil {
			return err
		}
		u, err := tx.User(name)
		if err != nil || !equalConstantTime(u.DeviceID, deviceID) {
			fail = Errorf(CodeSession, "This device is not provisioned; the user needs to reprovision.")
			return log.add(LevelWarn, name, "Mobile request from unknown user; the user needs to reprovision")
		}
		switch {
		case u.Disabled:
			fail = Errorf(CodeDisabled, "User %q is disabled.", u.Name)
		case u.Locked:
			fail = Errorf(CodeLocked, "User %q is locked.", u.Name)
		case !u.MobileAllowed:
			fail = Errorf(CodeNotInGroup, "User %q may not use the mobile client.", u.Name)
		}
		if fail != nil {
			return log.add(LevelWarn, u.Name, "Security strings refused for user: %s, error: %s", u.Name, ErrorMessage(fail))
		}
		if err := tx.PutStrings(u.Name, &ss); err != nil {
			return err
		}
		d = Download{User: u.Name, Strings: ss.Joined(), Policies: set.MobileClient}
		return log.add(LevelInfo, u.Name, "Security strings fetched for user: %s", u.Name)
	})
	if err != nil {
		return Download{}, err
	}
	if fail != nil {
		return Download{}, fail
	}
	return d, nil
}

// ErrSyncIndexOff is TokenIndex's answer while the Mobile Client policy's
// Sync Index is off: the lookup exists only for clients that sync.
var ErrSyncIndexOff = &Error{Code: CodeInvalid, Message: "This server does not synchronise the string index: Sync Index is off in Policy → Mobile Client."}

// TokenIndex returns the next unused string index of a user, for mobile
// clients that sync their index. Anyone can ask, without a secret, so the
// answer must not tell who exists: an unknown user, a user without
// strings, a locked, disabled or deleted one all answer 0, like a user
// whose strings are fresh. deviceID, when given and the user's, gets the
// precise index whatever the user's state. The lookup writes nothing,
// not even a log line, so it cannot be used to fill the disk.
func (s *Service) TokenIndex(username, deviceID string) (int, error) {
	if !s.Settings().MobileClient.SyncIndex {
		return 0, ErrSyncIndexOff
	}
	next := 0
	err := s.store.View(func(tx Tx) error {
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		owner := deviceID != "" && u.DeviceID != "" && equalConstantTime(u.DeviceID, deviceID)
		if !owner && (u.Locked || u.Disabled || u.Deleted) {
			return nil
		}
		ss, err := tx.Strings(u.Name)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		next = ss.Next
		return nil
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

// Exists reports whether a user exists.
func (s *Service) Exists(username string) (bool, error) {
	_, err := s.User(username)
	if ErrorCode(err) == CodeNotFound {
		return false, nil
	}
	return err == nil, err
}
