package core

import "errors"

// Downloading security strings to a provisioned device, and the string
// index a device or agent asks for (split from provision.go, which makes
// and redeems the codes).

// Download is a fresh set of security strings for a device.
type Download struct {
	User    string
	Strings string // 100 strings joined by ';'
	// Policies are the user's effective provisioning profile, read in
	// the download's transaction, so a changed profile reaches the phone
	// at its next download.
	Policies ClientPolicies
}

// SecurityStrings replaces the strings of the user owning deviceID with 100
// new ones and returns them. Every refusal is decided on a read, without
// a write or a log line of its own: an unknown device Id (anyone can send
// one), a missing device certificate, and a disabled, locked or
// no-mobile-right user (whoever holds a lost phone's Id can repeat it).
// The caller counts them with Service.Refuse; SecurityStringsRefused gives
// the reason for the user's state.
//
// It is SecurityStringsFrom for a caller that has no requester's address
// (in-process callers and tests): the audit line says only "a phone".
func (s *Service) SecurityStrings(deviceID string) (Download, error) {
	return s.SecurityStringsFrom("", deviceID, "")
}

// SecurityStringsFrom is SecurityStrings for a request from source, the
// requester's address: the audit line names it ("a phone at 192.0.2.7"),
// as the lines of a provision and of a self-service request do.
// certSerial, when not "", is the serial of the verified device
// certificate the client presented on the mutual-TLS listener. Users
// whose effective profile has mutual authentication can download only
// that way, with the certificate of their current device (devicecert.go).
func (s *Service) SecurityStringsFrom(source, deviceID, certSerial string) (Download, error) {
	s = s.As(PhoneActor(source))
	// Made before the transaction so the single writer is held no longer
	// than the write itself takes.
	notProvisioned := Errorf(CodeSession, "This device is not provisioned; the user needs to reprovision.")
	if deviceID == "" {
		return Download{}, notProvisioned
	}
	// Refused on a read, so that a refusal costs no write.
	err := s.store.View(func(tx Tx) error {
		u, found, err := deviceOwner(tx, deviceID)
		if err != nil {
			return err
		}
		if !found || u.Deleted || !s.secretMatches(SecretDevice, u.DeviceID, deviceID) {
			return notProvisioned
		}
		// The certificate first, as before: without it the answer is
		// the same whatever the user's state.
		if err := checkDeviceCert(tx, deviceID, certSerial); err != nil {
			return err
		}
		return downloadRefusal(u)
	})
	if err != nil {
		return Download{}, err
	}
	ss := NewStringSet()
	var d Download
	var fail error
	err = s.update(true, func(tx Tx, log *logger) error {
		d, fail = Download{}, nil
		// Checked again inside the write: a reprovision may have come
		// in between.
		name, err := tx.DeviceUser(deviceID)
		if errors.Is(err, ErrNotFound) {
			fail = notProvisioned
			return nil
		} else if err != nil {
			return err
		}
		u, err := tx.User(name)
		if err != nil || u.Deleted || !s.secretMatches(SecretDevice, u.DeviceID, deviceID) {
			fail = notProvisioned
			return nil
		}
		if fail = downloadRefusal(u); fail != nil {
			// Changed since the read: refused like there, no log line
			// (the caller counts it).
			return nil
		}
		prof, _, err := resolveProfile(tx, u)
		if err != nil {
			return err
		}
		if prof.MutualAuth && !u.DeviceCert.valid(u, certSerial) {
			// A reprovision came in between the read and this write.
			fail = ErrDeviceCert
			return nil
		}
		if err := tx.PutStrings(u.Name, &ss); err != nil {
			return err
		}
		d = Download{User: u.Name, Strings: ss.Joined(), Policies: prof.ClientPolicies}
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

// downloadRefusal is why the state of u, a device's owner, keeps it from
// downloading security strings, or nil.
func downloadRefusal(u User) error {
	switch {
	case u.Disabled:
		return Errorf(CodeDisabled, "User %q is disabled.", u.Name)
	case u.Locked:
		return Errorf(CodeLocked, "User %q is locked.", u.Name)
	case !u.MobileAllowed:
		return Errorf(CodeNotInGroup, "User %q may not use the mobile client.", u.Name)
	}
	return nil
}

// SecurityStringsRefused is the reason to count with Refuse for an error
// of SecurityStrings that refused the download for the user's state
// (disabled, locked, no mobile right), and "" for any other error. It
// quotes the refusal, which names the user the store found by the device
// Id, never text the request carried, so the counts stay bounded; the
// aggregated line tells the administrator whose phone keeps asking.
func SecurityStringsRefused(err error) string {
	switch ErrorCode(err) {
	case CodeDisabled, CodeLocked, CodeNotInGroup:
		return "security-string download refused: " + ErrorMessage(err)
	}
	return ""
}

// ErrSyncIndexOff is TokenIndex's answer while the Mobile Client policy's
// Sync Index is off: the lookup exists only for clients that sync.
var ErrSyncIndexOff = &Error{Code: CodeInvalid, Message: "This server does not synchronise the string index: Sync Index is off in Policy → Mobile Client."}

// TokenIndex returns the next unused string index of a user: the string
// the user's next login uses and the one ondemandmessage sends. It is the
// one index lookup (#12) for the two actors that ask, who may learn
// different amounts:
//
// An agent (agent set: the transportindex action) is authenticated: it
// gets the index of a user in its group, or the reason there is none
// (no such user, not in the group, no strings).
//
// A phone (agent nil: the TokenIndex page, for mobile clients that sync
// their index) asks without a secret, and only while the Mobile Client
// policy's Sync Index is on, so the answer must not tell who exists: an
// unknown user, a user without strings, a locked, disabled or deleted one
// all answer 0, like a user whose strings are fresh. deviceID, when given
// and the user's, gets the precise index whatever the user's state. The
// phone's lookup writes nothing, not even a log line, so it cannot be
// used to fill the disk.
func (s *Service) TokenIndex(agent *Agent, username, deviceID string) (int, error) {
	if agent == nil && !s.Settings().MobileClient.SyncIndex {
		return 0, ErrSyncIndexOff
	}
	next := 0
	err := s.store.View(func(tx Tx) error {
		var u User
		var err error
		if agent != nil {
			u, err = agentUser(tx, *agent, username)
		} else {
			u, err = findUser(tx, username)
			if ErrorCode(err) == CodeNotFound {
				return nil
			}
		}
		if err != nil {
			return err
		}
		owner := agent == nil && deviceID != "" && u.DeviceID != "" && s.secretMatches(SecretDevice, u.DeviceID, deviceID)
		if agent == nil && !owner && (u.Locked || u.Disabled) {
			return nil
		}
		ss, err := tx.Strings(u.Name)
		switch {
		case errors.Is(err, ErrNotFound) && agent != nil:
			return Errorf(CodeNoStrings, "User %q has no security strings.", u.Name)
		case errors.Is(err, ErrNotFound):
			return nil
		case err != nil:
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
