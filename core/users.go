package core

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// User returns one user by name (any case). A user deleted through the
// admin API is not found, for every caller.
func (s *Service) User(name string) (User, error) {
	var u User
	err := s.store.View(func(tx Tx) (err error) {
		u, err = findUser(tx, name)
		return err
	})
	return u, err
}

// Exists reports whether a user exists and is not deleted.
func (s *Service) Exists(name string) (bool, error) {
	_, err := s.User(name)
	if ErrorCode(err) == CodeNotFound {
		return false, nil
	}
	return err == nil, err
}

// Users returns all users sorted by name, except users deleted through
// the admin API (DeletedUsers lists those).
func (s *Service) Users() ([]User, error) {
	var out []User
	err := s.store.View(func(tx Tx) error {
		return tx.Users(func(u User) bool {
			if !u.Deleted {
				out = append(out, u)
			}
			return true
		})
	})
	return out, err
}

// PendingCodes returns the usernames with an unexpired provision code and
// when each code expires.
func (s *Service) PendingCodes() (map[string]time.Time, error) {
	now := s.clock.Now()
	out := map[string]time.Time{}
	err := s.store.View(func(tx Tx) error {
		return tx.ProvisionCodes(func(user string, c ProvisionCode) bool {
			if now.Before(c.Expires) {
				out[user] = c.Expires
			}
			return true
		})
	})
	return out, err
}

// AddUser validates and creates a user. New users may use the mobile
// client unless the caller says otherwise.
func (s *Service) AddUser(u User) (User, error) {
	set := s.Settings()
	if err := ValidateUser(&u, set.PINMin, set.PINMax); err != nil {
		return User{}, err
	}
	u.Created = s.clock.Now()
	u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
	u.DeviceCert = nil
	err := s.update(false, func(tx Tx, log *logger) error {
		if err := claimName(tx, u.Name, LocalRepository); err != nil {
			return err
		}
		if err := checkUserProfile(tx, &u); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "User %q added.", u.Name)
	}, s.usersChanged(u.Name))
	return u, err
}

func (s *Service) usersChanged(name string) func() []Event {
	return func() []Event { return []Event{{Kind: EventUsersChanged, User: name, At: s.clock.Now()}} }
}

// UpdateUser applies edit to the stored user and saves it if it validates.
// The device, creation time and name key cannot be changed this way.
func (s *Service) UpdateUser(name string, edit func(*User) error) (User, error) {
	set := s.Settings()
	var out User
	err := s.update(false, func(tx Tx, log *logger) error {
		old, err := findUser(tx, name)
		if err != nil {
			return err
		}
		u := old
		if err := edit(&u); err != nil {
			return err
		}
		if err := validateUser(&u, &old, set.PINMin, set.PINMax); err != nil {
			return err
		}
		if Key(u.Name) != Key(old.Name) {
			return FieldError("name", "A username cannot be changed; add a new user instead.")
		}
		u.Created, u.DeviceID, u.DeviceOS, u.ProvisionedAt = old.Created, old.DeviceID, old.DeviceOS, old.ProvisionedAt
		u.DeviceCert = old.DeviceCert
		if old.Locked && !u.Locked {
			u.Failures = 0
		}
		if err := checkUserProfile(tx, &u); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if u.PIN != old.PIN {
			if err := withdrawSecretMail(tx, log, u.Name, CarriesPIN); err != nil { // the mailed PIN died
				return err
			}
		}
		out = u
		return log.add(LevelInfo, u.Name, "User %q changed: %s.", u.Name, describeChanges(old, u))
	}, s.usersChanged(name))
	return out, err
}

// describeChanges lists what changed between two versions of a user for
// the audit log: each field with its old and new value (KEY OLD → NEW),
// the PIN and the attributes by name only, never a secret value. Every edit (the
// console, the command line, the admin API) is described by it, so an
// edit is logged alike whoever made it.
func describeChanges(a, b User) string {
	var ch []string
	add := func(cond bool, name string) {
		if cond {
			ch = append(ch, name)
		}
	}
	// A field the log may show says what it was and what it is now, as
	// a settings save does (describeSettingChanges): "what changed" is
	// what an auditor asks, and these are no secrets. The PIN and the
	// attributes (free text an agent sets) are named only.
	value := func(old, new, name string) {
		if old == new {
			return
		}
		if !loggable(old) || !loggable(new) {
			ch = append(ch, name)
			return
		}
		ch = append(ch, fmt.Sprintf("%s %s → %s", name, quoteEmpty(old), quoteEmpty(new)))
	}
	value(a.FullName, b.FullName, "full name")
	value(a.Email, b.Email, "email")
	value(a.StringsEmail, b.StringsEmail, "strings email")
	value(a.Mobile, b.Mobile, "mobile")
	value(a.Group, b.Group, "group")
	value(a.Profile, b.Profile, "profile")
	add(a.MobileAllowed != b.MobileAllowed, "mobile right "+yesNo(b.MobileAllowed))
	add(a.PIN != b.PIN, "PIN")
	add(a.Locked != b.Locked, map[bool]string{true: "locked", false: "unlocked"}[b.Locked])
	add(a.Disabled != b.Disabled, map[bool]string{true: "disabled", false: "enabled"}[b.Disabled])
	var names []string
	for k, v := range b.Attributes {
		if a.Attributes[k] != v {
			names = append(names, k)
		}
	}
	for k := range a.Attributes {
		if _, ok := b.Attributes[k]; !ok {
			names = append(names, k)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		ch = append(ch, "attributes "+strings.Join(names, " "))
	}
	if len(ch) == 0 {
		return "nothing"
	}
	return strings.Join(ch, ", ")
}

// DeleteUser deletes a user for the console or the command line, by the
// one deletion rule every caller shares (deleteUser).
func (s *Service) DeleteUser(name string) error {
	var u User
	err := s.update(false, func(tx Tx, log *logger) (err error) {
		if u, err = findUser(tx, name); err != nil {
			return err
		}
		return deleteUser(tx, log, u, false)
	}, s.usersChanged(name))
	if err == nil {
		s.dropSessions(u.Name)
	}
	return err
}

// deleteUser is the one deletion rule (#12), for the console, the command
// line and the admin API alike: the user's device, security strings,
// authenticator token, pending provision code, its queued message and a
// pending PIN reset go at once, so the user can no longer log in or
// provision; the record stays as a tombstone (Deleted) that every list
// and lookup hides, until PurgeDeleted removes it or a new user of that
// name replaces it. A tombstone, not removal, because the admin API's
// repositories promise Read and PurgeDeleted of deleted users (docs/api.md)
// and one rule cannot both keep and drop the record. purgeHint tells the
// log that PurgeDeleted removes the record (the admin API's agents); the
// line's Actor names who deleted. The caller ends the user's sessions
// after the commit.
func deleteUser(tx Tx, log *logger, u User, purgeHint bool) error {
	if err := revokeDevice(tx, u); err != nil {
		return err
	}
	if err := tx.DeleteProvisionCode(u.Name); err != nil {
		return err
	}
	// Every unsent message carrying one of the user's secrets (provision
	// code, PIN, PIN reset code) is withdrawn with them.
	if err := withdrawMail(tx, log, LevelInfo, u.Name, OutMessage.carriesSecret); err != nil {
		return err
	}
	u.DeviceID, u.DeviceOS, u.ProvisionedAt, u.PINReset = "", "", time.Time{}, nil
	u.DeviceCert = nil
	u.Deleted, u.DeletedAt = true, log.now
	if err := tx.PutUser(u); err != nil {
		return err
	}
	if !purgeHint {
		return log.add(LevelInfo, u.Name, "User %q deleted.", u.Name)
	}
	return log.add(LevelInfo, u.Name, "User %q deleted; PurgeDeleted removes the record.", u.Name)
}

// checkName says whether a new user may take name in repository. A live
// user of that name is CodeConflict, whatever repository holds it. A
// deleted user's record (deleteUser) may be replaced when the new user is
// the console's (which owns the whole server) or of the same repository;
// another repository's tombstone stays until its owner purges it.
func checkName(tx Tx, name, repository string) (replaces bool, err error) {
	old, err := tx.User(name)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !old.Deleted || repository != LocalRepository && old.RepositoryName() != repository:
		return false, Errorf(CodeConflict, "A user called %q already exists.", clean(name))
	}
	return true, nil
}

// claimName is checkName for a write: a replaced record's login state
// goes with it, so the new user starts clean.
func claimName(tx Tx, name, repository string) error {
	replaces, err := checkName(tx, name, repository)
	if err != nil || !replaces {
		return err
	}
	return tx.PutLoginState(name, LoginState{})
}

func revokeDevice(tx Tx, u User) error {
	if u.DeviceID != "" {
		if err := tx.DeleteDevice(u.DeviceID); err != nil {
			return err
		}
	}
	// One token per user: a device replaces an OATH token (provision.go,
	// confirmOATH in oath_issue.go).
	if err := tx.DeleteOATH(u.Name); err != nil {
		return err
	}
	return tx.DeleteStrings(u.Name)
}
