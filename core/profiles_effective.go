package core

import (
	"errors"
	"fmt"
	"strings"
)

// The profile that applies to a user (#14): their own, else their
// group's, else the Default, and where each of its values comes from.

// ProfileSource says where a user's effective profile comes from:
// "default", "group NAME" or "user".
type ProfileSource string

// Sources of an effective profile.
const (
	SourceDefault ProfileSource = "default"
	SourceUser    ProfileSource = "user"
)

func sourceGroup(g string) ProfileSource { return ProfileSource("group " + g) }

// EffectiveValue is one value of an effective profile and its source.
type EffectiveValue struct {
	Key    string        `json:"key"`
	Label  string        `json:"label"`
	Value  string        `json:"value"`
	Source ProfileSource `json:"source"`
}

// EffectiveProfile is the profile that applies to a user.
type EffectiveProfile struct {
	Profile Profile          `json:"profile"`
	Source  ProfileSource    `json:"source"`
	Values  []EffectiveValue `json:"values"`
}

// String is the preview people read, one value a line:
// "PIN cache timeout (seconds): 300 — group Sales (profile Sales)".
func (e EffectiveProfile) String() string {
	var b strings.Builder
	for _, v := range e.Values {
		fmt.Fprintf(&b, "%s: %s — %s\n", v.Label, v.Value, e.describe(v.Source))
	}
	return b.String()
}

func (e EffectiveProfile) describe(s ProfileSource) string {
	if s == SourceDefault {
		return "default"
	}
	return fmt.Sprintf("%s (profile %s)", s, e.Profile.Name)
}

// resolveProfile finds the profile that applies to u: the user's own,
// else their group's, else Default. A user's or group's profile that no
// longer exists falls back to the next one down.
func resolveProfile(tx Tx, u User) (Profile, ProfileSource, error) {
	if u.Profile != "" {
		p, err := tx.Profile(u.Profile)
		if err == nil {
			return p, SourceUser, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Profile{}, "", err
		}
	}
	all, err := tx.Profiles()
	if err != nil {
		return Profile{}, "", err
	}
	var def Profile
	for _, p := range all {
		if p.IsDefault() {
			def = p
		}
		if u.Group == "" {
			continue
		}
		for _, g := range p.Groups {
			if strings.EqualFold(g, u.Group) {
				return p, sourceGroup(u.Group), nil
			}
		}
	}
	if def.Name == "" {
		return Profile{}, "", fmt.Errorf("the Default profile is missing")
	}
	return def, SourceDefault, nil
}

func effective(p Profile, src ProfileSource) EffectiveProfile {
	e := EffectiveProfile{Profile: p, Source: src}
	for _, k := range profileKeys {
		f := profileFields[k]
		s := src
		e.Values = append(e.Values, EffectiveValue{Key: k, Label: f.label, Value: f.get(&p.ClientPolicies), Source: s})
	}
	return e
}

// EffectiveProfile returns the profile that applies to a user and where
// each value comes from.
func (s *Service) EffectiveProfile(username string) (EffectiveProfile, error) {
	var e EffectiveProfile
	err := s.store.View(func(tx Tx) error {
		u, err := findUser(tx, username)
		if err != nil {
			return err
		}
		e, err = effectiveIn(tx, u)
		return err
	})
	return e, err
}

// EffectiveProfileFor previews the profile that would apply to u as
// edited in a form (group and own profile), before it is saved.
func (s *Service) EffectiveProfileFor(u User) (EffectiveProfile, error) {
	var e EffectiveProfile
	err := s.store.View(func(tx Tx) (err error) {
		e, err = effectiveIn(tx, u)
		return err
	})
	return e, err
}

// effectiveIn is the profile that applies to u inside tx.
func effectiveIn(tx Tx, u User) (EffectiveProfile, error) {
	p, src, err := resolveProfile(tx, u)
	if err != nil {
		return EffectiveProfile{}, err
	}
	return effective(p, src), nil
}
