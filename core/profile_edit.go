package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Saving provisioning profiles: adding one, and changing one onto the
// profile as stored when the save's transaction runs, so a change another
// console or server saved meanwhile to another key stays
// (docs/decisions.md, "Two consoles editing the same record").

// AddProfile creates a new profile; the name must be new.
func (s *Service) AddProfile(p Profile) error {
	if err := ValidateProfile(&p); err != nil {
		return err
	}
	p.Groups = nil // assigned with AssignProfileToGroup
	return s.update(false, func(tx Tx, log *logger) error {
		if _, err := tx.Profile(p.Name); err == nil {
			return Errorf(CodeConflict, "A profile called %q already exists.", p.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.PutProfile(p); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Profile %q created.", p.Name)
	}, s.profilesChanged)
}

// SaveProfile replaces every option of an existing profile with p's (its
// name and groups stay), for a caller that means the whole record. A form
// that edits some keys uses ChangeProfile, which keeps the others as
// they are stored at the save. It takes effect on each affected phone at
// its next provision or security-string download.
func (s *Service) SaveProfile(p Profile) error {
	if err := ValidateProfile(&p); err != nil {
		return err
	}
	return s.EditProfile(p.Name, func(cur *Profile) error {
		cur.ClientPolicies = p.ClientPolicies
		return nil
	})
}

// ChangeProfile sets the given keys of the profile called name (profile
// key → text, as ClientPolicies.Set reads it) on the profile as stored
// when the save's transaction runs: the keys not given keep what another
// console or server saved meanwhile, and a key both changed takes this
// later save.
func (s *Service) ChangeProfile(name string, values map[string]string) error {
	return s.EditProfile(name, func(cur *Profile) error {
		return cur.SetValues(values)
	})
}

// SetProfileValue changes one key of a profile.
func (s *Service) SetProfileValue(name, key, value string) error {
	return s.ChangeProfile(name, map[string]string{key: value})
}

// EditProfile saves what edit makes of the profile called name as stored
// when the save's transaction runs, checked there (ValidateProfile) on
// the record as it will be; the name and the groups stay, as
// AssignProfileToGroup and DeleteProfile own them. edit must only
// compute: a store may run the transaction more than once. The admin
// API's PUT /v1/profiles/{name} merges the JSON fields given with it.
func (s *Service) EditProfile(name string, edit func(cur *Profile) error) error {
	s.cfgWrite.Lock() // it may change the settings (saveSettings)
	defer s.cfgWrite.Unlock()
	var set *Settings
	err := s.update(false, func(tx Tx, log *logger) error {
		set = nil // a retried transaction starts again
		old, err := tx.Profile(name)
		if errors.Is(err, ErrNotFound) {
			return noProfile(name)
		} else if err != nil {
			return err
		}
		p := old
		p.Groups = slices.Clone(old.Groups)
		if err := edit(&p); err != nil {
			return err
		}
		p.Name, p.Groups = old.Name, old.Groups
		if err := ValidateProfile(&p); err != nil {
			return err
		}
		if err := tx.PutProfile(p); err != nil {
			return err
		}
		if p.IsDefault() {
			// The policy.mobile.* settings are the Default profile's
			// Mobile Client fields: both change in this transaction.
			cur, err := tx.Settings()
			if err != nil {
				return err
			}
			cur.fillDefaults()
			cur.MobileClient = p.MobileClientPolicy
			if err := tx.PutSettings(cur); err != nil {
				return err
			}
			set = &cur
		}
		n, err := profileUsers(tx, p.Name)
		if err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Profile %q saved: %s; it applies to %s at their next provision or string download.",
			p.Name, describeProfileChanges(old.ClientPolicies, p.ClientPolicies), Plural(n, "user", "users"))
	}, s.profilesChanged)
	if err == nil && set != nil {
		s.storeSettings(set.MobileClient)
	}
	return err
}

// describeProfileChanges is the part of a profile's audit line that says
// which keys a save changed, as the settings' lines do
// (describeSettingChanges): "pin_cache_timeout 300 → 600, vpn_url_scheme
// changed", with values only when they are short and one line.
func describeProfileChanges(old, cur ClientPolicies) string {
	var parts []string
	for _, k := range profileKeys {
		from, _ := old.Get(k)
		to, _ := cur.Get(k)
		switch {
		case from == to:
		case loggable(from) && loggable(to):
			parts = append(parts, fmt.Sprintf("%s %s → %s", k, quoteEmpty(from), quoteEmpty(to)))
		default:
			parts = append(parts, k+" changed")
		}
	}
	if len(parts) == 0 {
		return "no key changed"
	}
	return strings.Join(parts, ", ")
}

// SetValues parses and stores several keys at once. Every key that does
// not parse is reported, each a *Error naming its key (joined;
// FieldErrors lists them); c changes only when all parse. The rules of
// the whole profile are ValidateProfile's.
func (c *ClientPolicies) SetValues(values map[string]string) error {
	next := *c
	var errs []error
	for _, k := range profileKeys {
		if v, ok := values[k]; ok {
			if err := next.Set(k, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var unknown []string
	for k := range values {
		if _, ok := profileFields[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		e := noProfileKey(k).(*Error)
		e.Field = k
		errs = append(errs, e)
	}
	switch len(errs) {
	case 0:
		*c = next
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// profilesChanged announces a committed profile or assignment change, so
// the console's Profiles screen and user list follow it.
func (s *Service) profilesChanged() []Event {
	now := s.clock.Now()
	return []Event{{Kind: EventConfigChanged, At: now}, {Kind: EventUsersChanged, At: now}}
}

// storeSettings puts a changed Mobile Client policy into the snapshot.
func (s *Service) storeSettings(m MobileClientPolicy) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	cfg := *s.config.Load()
	cfg.Settings.MobileClient = m
	s.config.Store(&cfg)
	s.bus.Publish(Event{Kind: EventConfigChanged, At: s.clock.Now(), Origin: s.actor})
}
