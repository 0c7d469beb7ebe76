package core

import (
	"errors"
	"strings"
)

// Giving a profile to a group (its default) or to one user (#14), each
// in one transaction with its audit line.

// AssignProfileToGroup makes profile the default of group; "" or
// "Default" returns the group to the Default profile. Administrators and
// the helpdesk may assign.
func (s *Service) AssignProfileToGroup(profile, group string) error {
	group = strings.TrimSpace(group)
	if group == "" {
		return FieldError("group", "Enter the group to assign the profile to.")
	}
	return s.update(false, func(tx Tx, log *logger) error {
		all, err := tx.Profiles()
		if err != nil {
			return err
		}
		var target *Profile
		for i := range all {
			if Key(all[i].Name) == Key(profile) {
				target = &all[i]
			}
		}
		if profile != "" && target == nil {
			return noProfile(profile)
		}
		for _, p := range all {
			kept := p.Groups[:0:0]
			for _, g := range p.Groups {
				if !strings.EqualFold(g, group) {
					kept = append(kept, g)
				}
			}
			if target != nil && Key(p.Name) == Key(target.Name) && !p.IsDefault() {
				kept = append(kept, group)
			}
			if len(kept) != len(p.Groups) || (target != nil && Key(p.Name) == Key(target.Name)) {
				p.Groups = kept
				if err := tx.PutProfile(p); err != nil {
					return err
				}
			}
		}
		name := DefaultProfileName
		if target != nil {
			name = target.Name
		}
		return log.add(LevelInfo, "", "Group %s now uses profile %q.", group, name)
	}, s.profilesChanged)
}

// AssignProfileToUser gives a user their own profile, overriding their
// group's; "" returns them to their group's (or the Default) profile.
func (s *Service) AssignProfileToUser(profile, username string) error {
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		u.Profile = ""
		if profile != "" {
			p, err := tx.Profile(profile)
			if errors.Is(err, ErrNotFound) {
				// Invalid input, not a missing user: the admin API answers
				// 400 here and keeps 404 for the user in the path.
				return FieldError("profile", "There is no profile %q.", profile)
			} else if err != nil {
				return err
			}
			u.Profile = p.Name
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if u.Profile == "" {
			return log.add(LevelInfo, u.Name, "User %q no longer has a profile of their own.", u.Name)
		}
		return log.add(LevelInfo, u.Name, "User %q now uses profile %q.", u.Name, u.Profile)
	}, s.profilesChanged)
}
