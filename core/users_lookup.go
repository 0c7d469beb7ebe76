package core

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LocalRepository names the users made in the console (Repository ""). An
// admin-API agent called "local" manages them, as in Swivel, where an
// agent reaches the repository that has its name.
const LocalRepository = "local"

// Attribute names that are User fields rather than entries of
// User.Attributes. The agent API looks them up like any other attribute.
const (
	AttrEmail    = "email"    // User.Email, the alert transport
	AttrMobile   = "mobile"   // User.Mobile
	AttrFullName = "fullname" // User.FullName
)

// Limits on free-form attributes, so that a script cannot grow a user
// record without bound.
const (
	MaxAttributes       = 32
	maxAttributeName    = 64
	maxAttributeValue   = 256
	maxAttributeMatches = 2 // a lookup needs to know only "one" or "more"
)

// RepositoryName is the name of the repository that owns the user.
func (u User) RepositoryName() string {
	if u.Repository == "" {
		return LocalRepository
	}
	return u.Repository
}

// repositoryField is the User.Repository value for a repository name.
func repositoryField(name string) string {
	if name == LocalRepository {
		return ""
	}
	return name
}

// ValidateAttributes checks free-form attributes: at most MaxAttributes,
// names of 1-64 lower-case letters, digits, '.', '_' or '-' starting with a
// letter and not one of the field names, values of 1-256 printable
// characters.
func ValidateAttributes(attrs map[string]string) error {
	if len(attrs) > MaxAttributes {
		return FieldError("attributes", "A user can have at most %d attributes.", MaxAttributes)
	}
	for name, v := range attrs {
		if err := validateAttributeName(name); err != nil {
			return err
		}
		switch name {
		case AttrEmail, AttrMobile, AttrFullName:
			return FieldError("attributes", "%q is not a free-form attribute.", name)
		}
		if v == "" || len(v) > maxAttributeValue || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return FieldError("attributes", "The value of attribute %q must be 1 to %d printable characters.", name, maxAttributeValue)
		}
	}
	return nil
}

func validateAttributeName(name string) error {
	ok := name != "" && len(name) <= maxAttributeName && name[0] >= 'a' && name[0] <= 'z'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return FieldError("attributes", "%q is not an attribute name: use 1 to %d lower-case letters, digits, '.', '_' or '-', starting with a letter.", clean(name), maxAttributeName)
	}
	return nil
}

// Attribute returns the value of a named attribute (any case): email,
// mobile and fullname are the user's fields, other names their free-form
// attributes. ok is false when the user has no such value.
func (u User) Attribute(name string) (string, bool) {
	var v string
	switch name = strings.ToLower(strings.TrimSpace(name)); name {
	case AttrEmail:
		v = u.Email
	case AttrMobile:
		v = u.Mobile
	case AttrFullName:
		v = u.FullName
	default:
		v = u.Attributes[name]
	}
	return v, v != ""
}

// attributeMatches compares an attribute value with one given by an agent.
// Values match without regard to case or surrounding space (addresses and
// UPNs are case-insensitive in practice); phone numbers match on their
// digits, so "+44 20 7946 0001" finds "+442079460001".
func attributeMatches(name, have, want string) bool {
	if strings.EqualFold(strings.TrimSpace(name), AttrMobile) {
		return phoneDigits(have) != "" && phoneDigits(have) == phoneDigits(want)
	}
	return strings.EqualFold(strings.TrimSpace(have), strings.TrimSpace(want))
}

func phoneDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '+' {
			return r
		}
		return -1
	}, s)
}

// UserSpec is a user as an admin-API request describes it. Nil fields are
// left as they are, so an Update changes only what the request names.
type UserSpec struct {
	Name          string
	PIN           *string
	Email         *string // alert transport
	StringsEmail  *string // security-string transport
	Mobile        *string
	FullName      *string
	Group         *string
	MobileAllowed *bool
	Locked        *bool
	Disabled      *bool
	// Attributes to set, by name in any case; an empty value removes one.
	// email, mobile and fullname set the fields of the same name.
	Attributes map[string]string
}

// apply writes the spec's fields onto u. Validation is left to
// ValidateUser, which sees the result.
func (sp *UserSpec) apply(u *User) error {
	setPtr(&u.PIN, sp.PIN)
	setPtr(&u.Email, sp.Email)
	setPtr(&u.StringsEmail, sp.StringsEmail)
	setPtr(&u.Mobile, sp.Mobile)
	setPtr(&u.FullName, sp.FullName)
	setPtr(&u.Group, sp.Group)
	setPtr(&u.MobileAllowed, sp.MobileAllowed)
	setPtr(&u.Locked, sp.Locked)
	setPtr(&u.Disabled, sp.Disabled)
	if len(sp.Attributes) == 0 {
		return nil
	}
	attrs := make(map[string]string, len(u.Attributes)+len(sp.Attributes))
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	for name, v := range sp.Attributes {
		name, v = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(v)
		switch name {
		case AttrEmail:
			u.Email = v
		case AttrMobile:
			u.Mobile = v
		case AttrFullName:
			u.FullName = v
		default:
			if err := validateAttributeName(name); err != nil {
				return err
			}
			if v == "" {
				delete(attrs, name)
			} else {
				attrs[name] = v
			}
		}
	}
	u.Attributes = attrs
	if len(attrs) == 0 {
		u.Attributes = nil
	}
	return nil
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// findUser reads a user any caller may act on: a missing user and one
// deleted through the admin API are the same CodeNotFound sentence, so
// no use case acts on a deleted user by mistake. Only the admin API's
// scoped reads (scopedUser) see deleted users, to report or purge them.
func findUser(tx Tx, name string) (User, error) {
	u, err := tx.User(name)
	if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
		return User{}, Errorf(CodeNotFound, "There is no user %q.", clean(name))
	}
	return u, err
}

// UserByAttribute returns the one active user whose attribute name has
// the given value. No match is CodeNotFound; more than one is CodeConflict,
// since an agent that logs people in by attribute must not guess.
func (s *Service) UserByAttribute(name, value string) (User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || strings.TrimSpace(value) == "" {
		return User{}, FieldError("attribute", "Give an attribute name and value.")
	}
	var found []User
	err := s.store.View(func(tx Tx) error {
		return tx.Users(func(u User) bool {
			if v, ok := u.Attribute(name); ok && !u.Deleted && attributeMatches(name, v, value) {
				found = append(found, u)
			}
			return len(found) < maxAttributeMatches
		})
	})
	switch {
	case err != nil:
		return User{}, err
	case len(found) == 0:
		return User{}, Errorf(CodeNotFound, "No user has %s %q.", name, clean(value))
	case len(found) > 1:
		return User{}, Errorf(CodeConflict, "More than one user has %s %q.", name, clean(value))
	}
	return found[0], nil
}

// UserAttribute returns one attribute of an active user.
func (s *Service) UserAttribute(username, name string) (string, error) {
	u, err := s.User(username)
	if err != nil {
		return "", err
	}
	v, ok := u.Attribute(name)
	if !ok {
		return "", Errorf(CodeNoAttribute, "User %q has no attribute %q.", u.Name, clean(name))
	}
	return v, nil
}

// DeletedUsers returns the users deleted through the admin API that have
// not been purged yet, sorted by name.
func (s *Service) DeletedUsers() ([]User, error) {
	var out []User
	err := s.store.View(func(tx Tx) error {
		return tx.Users(func(u User) bool {
			if u.Deleted {
				out = append(out, u)
			}
			return true
		})
	})
	return out, err
}
