package core

import (
	"errors"
	"strings"
	"time"
)

// Scope is the set of users one admin, helpdesk or reporting request may
// reach (docs/api.md, "Repositories").
type Scope struct {
	// Agent names the caller in log lines.
	Agent string
	// Repository limits the request to one repository (LocalRepository
	// for console users); "" reaches every repository.
	Repository string
	// Group, unless "" or GroupAny, limits the request to that group's
	// members: a helpdesk agent restricted to a group helps only them.
	Group string
	// Helpdesk marks a HelpdeskRequest (or a report), whose changes are
	// the helpdesk actor's (actor.go).
	Helpdesk bool
}

// AdminScope is the scope of an AdminRequest: only the repository named
// like the agent, as in Swivel, so that a script managing its own users
// cannot touch anyone else's.
func AdminScope(a Agent) Scope { return Scope{Agent: a.Name, Repository: a.Name} }

// HelpdeskScope is the scope of a HelpdeskRequest or a report: the named
// repository, or all of them, within the agent's group.
func HelpdeskScope(a Agent, repository string) Scope {
	return Scope{Agent: a.Name, Repository: repository, Group: a.Group, Helpdesk: true}
}

func (sc Scope) reaches(u User) bool {
	if sc.Repository != "" && u.RepositoryName() != sc.Repository {
		return false
	}
	return sc.Group == "" || sc.Group == GroupAny || strings.EqualFold(sc.Group, u.Group)
}

// scopedUser reads a user the scope reaches. Users outside it are reported
// missing, so a request learns nothing about other repositories' users.
// A deleted user is CodeDeleted unless deletedOK.
func scopedUser(tx Tx, sc Scope, name string, deletedOK bool) (User, error) {
	u, err := tx.User(name)
	if errors.Is(err, ErrNotFound) || err == nil && !sc.reaches(u) {
		if sc.Repository != "" {
			return User{}, Errorf(CodeNotFound, "There is no user %q in repository %q.", clean(name), sc.Repository)
		}
		return User{}, Errorf(CodeNotFound, "There is no user %q.", clean(name))
	} else if err != nil {
		return User{}, err
	}
	if u.Deleted && !deletedOK {
		return User{}, Errorf(CodeDeleted, "User %q is deleted; PurgeDeleted removes the record.", u.Name)
	}
	return u, nil
}

// eachUser runs fn for items 0..n-1 in one write transaction and returns a
// result per item. A rule failure (*Error) is that item's result and the
// others go on; fn checks its rules before it writes, so a failed item
// changes nothing. Any other error (the store) aborts the transaction and
// becomes every item's result, since nothing was committed. One commit for
// the whole list keeps a 100-user Create to one fsync.
func (s *Service) eachUser(n int, fn func(tx Tx, log *logger, i int) error, events ...func() []Event) ([]error, error) {
	results := make([]error, n)
	err := s.update(false, func(tx Tx, log *logger) error {
		clear(results)
		for i := 0; i < n; i++ {
			err := fn(tx, log, i)
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Code == CodeInternal) {
				return err
			}
			results[i] = err
		}
		return nil
	}, append(events, s.usersChanged(""))...)
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return results, err
	}
	return results, nil
}

// CreateUsers adds users to repository (an agent's name, or
// LocalRepository) and returns a result per user. New users have the
// mobile right unless the spec says otherwise. A name already in use
// fails with CodeConflict, whatever repository holds it, except that a
// deleted user of the same repository is replaced.
func (s *Service) CreateUsers(agent, repository string, specs []UserSpec) ([]error, error) {
	s = s.As(Actor{Kind: ActorAgent, Name: agent})
	set := s.Settings()
	return s.eachUser(len(specs), func(tx Tx, log *logger, i int) error {
		sp := &specs[i]
		name := strings.TrimSpace(sp.Name)
		if err := ValidateUsername(name); err != nil {
			return err
		}
		u := User{Name: name, MobileAllowed: true, Repository: repositoryField(repository), Created: log.now}
		if err := sp.apply(&u); err != nil {
			return err
		}
		if err := ValidateUser(&u, set.PINMin, set.PINMax); err != nil {
			return err
		}
		if err := claimName(tx, u.Name, repository); err != nil {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "User %q added to repository %s.", u.Name, u.RepositoryName())
	})
}

// UpdateUsers changes the fields each spec gives. Unlocking a user clears
// their failure count, as in the console.
func (s *Service) UpdateUsers(sc Scope, specs []UserSpec) ([]error, error) {
	s = s.As(scopeActor(sc))
	set := s.Settings()
	return s.eachUser(len(specs), func(tx Tx, log *logger, i int) error {
		sp := &specs[i]
		old, err := scopedUser(tx, sc, sp.Name, false)
		if err != nil {
			return err
		}
		u := old // apply replaces the attribute map rather than edit old's
		if err := sp.apply(&u); err != nil {
			return err
		}
		if err := validateUser(&u, &old, set.PINMin, set.PINMax); err != nil {
			return err
		}
		if old.Locked && !u.Locked {
			u.Failures = 0
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if u.PIN != old.PIN {
			if err := withdrawSecretMail(tx, log, u.Name, CarriesPIN); err != nil { // the mailed PIN died
				return err
			}
		}
		return log.add(LevelInfo, u.Name, "User %q changed: %s.", u.Name, describeChanges(old, u))
	})
}

// DeleteUsers deletes users for the admin API by the one deletion rule
// (deleteUser). Deleting a deleted user passes and changes nothing, as
// the protocol's Delete is idempotent.
func (s *Service) DeleteUsers(sc Scope, names []string) ([]error, error) {
	s = s.As(scopeActor(sc))
	res, err := s.eachUser(len(names), func(tx Tx, log *logger, i int) error {
		u, err := scopedUser(tx, sc, names[i], true)
		if err != nil || u.Deleted {
			return err
		}
		return deleteUser(tx, log, u, true)
	})
	if err == nil {
		for i, r := range res {
			if r == nil {
				s.dropSessions(names[i])
			}
		}
	}
	return res, err
}

// ReadUsers returns the users the scope reaches, deleted ones included
// (User.Deleted says so), with a result per name.
func (s *Service) ReadUsers(sc Scope, names []string) ([]User, []error, error) {
	users := make([]User, len(names))
	results := make([]error, len(names))
	err := s.store.View(func(tx Tx) error {
		for i, name := range names {
			u, err := scopedUser(tx, sc, name, true)
			var e *Error
			if err != nil && !errors.As(err, &e) {
				return err
			}
			users[i], results[i] = u, err
		}
		return nil
	})
	if err != nil {
		for i := range results {
			results[i] = err
		}
	}
	return users, results, err
}

// PurgeDeleted removes the records of deleted users in scope and returns
// their names.
func (s *Service) PurgeDeleted(sc Scope) ([]string, error) {
	s = s.As(scopeActor(sc))
	var purged []string
	err := s.update(false, func(tx Tx, log *logger) error {
		purged = nil
		var doomed []User
		err := tx.Users(func(u User) bool {
			if u.Deleted && sc.reaches(u) {
				doomed = append(doomed, u)
			}
			return true
		})
		if err != nil {
			return err
		}
		for _, u := range doomed {
			// Deletion revoked these already; a record written by an
			// older version may still have them.
			if err := revokeDevice(tx, u); err != nil {
				return err
			}
			if err := tx.DeleteProvisionCode(u.Name); err != nil {
				return err
			}
			if err := tx.DeleteUser(u.Name); err != nil {
				return err
			}
			if err := log.add(LevelInfo, u.Name, "Deleted user %q purged.", u.Name); err != nil {
				return err
			}
			purged = append(purged, u.Name)
		}
		return nil
	}, s.usersChanged(""))
	if err != nil {
		return nil, err
	}
	return purged, nil
}

// ResetPINs gives each user a new random PIN of the shortest length the
// PIN policy allows and queues it to their alert transport (email) in the
// same transaction, so a PIN is never changed without its message. A reset
// by an administrator also unlocks the user: the lock protected the old
// PIN, and only the user's mailbox learns the new one.
func (s *Service) ResetPINs(sc Scope, names []string) ([]error, error) {
	s = s.As(scopeActor(sc))
	set := s.Settings()
	return s.eachUser(len(names), func(tx Tx, log *logger, i int) error {
		u, err := scopedUser(tx, sc, names[i], false)
		if err != nil {
			return err
		}
		_, err = resetPIN(tx, log, set, &u, pinMailed, true, "")
		return err
	}, s.outboxChanged)
}

// SendStrings mails each user their next unused security string with its
// index (helpdesk Strings) and returns the indexes.
func (s *Service) SendStrings(sc Scope, names []string) ([]int, []error, error) {
	s = s.As(scopeActor(sc))
	indexes := make([]int, len(names))
	res, err := s.eachUser(len(names), func(tx Tx, log *logger, i int) error {
		u, err := scopedUser(tx, sc, names[i], false)
		if err != nil {
			return err
		}
		indexes[i], err = mailNextString(tx, log, u)
		return err
	}, s.outboxChanged)
	return indexes, res, err
}

// Sync answers the admin Sync operation. Provisio keeps every repository
// itself (the console's local users and each agent's own users); there is
// no outside directory to read, so there is nothing to synchronise. The
// request is logged and passes.
func (s *Service) Sync(sc Scope) error {
	s = s.As(scopeActor(sc))
	return s.Log(LevelInfo, "", "Sync requested for repository %s: nothing to do; this server is the repository's only source.", sc.Repository)
}

// ReportKind selects a report.
type ReportKind string

// Reports of the reporting API.
const (
	ReportIdle     ReportKind = "idle"     // no login since a date
	ReportLocked   ReportKind = "locked"   // locked users
	ReportDisabled ReportKind = "disabled" // disabled users
)

// Report lists the users in scope, sorted by name, that match kind.
// Deleted users are never listed. A user is idle when their last login,
// or their creation if they never logged in, is before since.
func (s *Service) Report(sc Scope, kind ReportKind, since time.Time) ([]User, error) {
	var match func(User) bool
	switch kind {
	case ReportIdle:
		match = func(u User) bool {
			last := u.LastLogin
			if last.IsZero() {
				last = u.Created
			}
			return last.Before(since)
		}
	case ReportLocked:
		match = func(u User) bool { return u.Locked }
	case ReportDisabled:
		match = func(u User) bool { return u.Disabled }
	default:
		return nil, Errorf(CodeInvalid, "There is no %q report.", clean(string(kind)))
	}
	var out []User
	err := s.store.View(func(tx Tx) error {
		return tx.Users(func(u User) bool {
			if !u.Deleted && sc.reaches(u) && match(u) {
				out = append(out, u)
			}
			return true
		})
	})
	return out, err
}

func quote(s string) string { return `"` + clean(s) + `"` }
