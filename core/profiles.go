package core

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Provisioning profiles (#14, docs/decisions.md "Provisioning profiles
// (#14)"). A profile is a complete client configuration template. The
// shipped Default profile applies to everyone; a profile can be the
// default of a group (the users' Group field) and can be assigned to one
// user, which overrides the group's. The profile that applies to a user
// is sent whole in the Policies element of provision and security-string
// downloads.

// DefaultProfileName is the profile shipped with the product. It cannot
// be deleted; its Mobile Client fields are the policy.mobile.* settings.
const DefaultProfileName = "Default"

// PIN modes of a profile: whether the client asks for a local PIN.
const (
	PINModeOptional  = "optional"
	PINModeMandatory = "mandatory"
)

// Defaults and bounds of the client PIN options.
const (
	DefaultPINCacheTimeout = 300 // seconds
	DefaultPINMaxRetries   = 5
	DefaultPINLockTime     = 300 // seconds
	MaxPINCacheTimeout     = 86_400
	MaxPINMaxRetries       = 100
	MaxPINLockTime         = 86_400
)

// ClientPolicies is what a phone is told in the Policies element: the
// eight Mobile Client fields and the client options of a profile.
type ClientPolicies struct {
	MobileClientPolicy
	// Logging lets the client keep a diagnostic log and upload it to
	// the server, which shows it under the user (clientlog.go).
	Logging bool `json:"logging"`
	// ReadOnlySettings stops the user changing the client's settings.
	ReadOnlySettings bool   `json:"read_only_settings"`
	PINMode          string `json:"pin_mode"`          // optional | mandatory
	PINCacheTimeout  int    `json:"pin_cache_timeout"` // seconds the local PIN is remembered
	PINMaxRetries    int    `json:"pin_max_retries"`   // wrong local PINs before the client locks
	PINLockTime      int    `json:"pin_lock_time"`     // seconds the client stays locked
	// MutualAuth asks for a device certificate (not built yet, see
	// docs/decisions.md); CertPinning tells clients to pin the server
	// certificate.
	MutualAuth  bool `json:"mutual_auth"`
	CertPinning bool `json:"cert_pinning"`
}

// DefaultClientPolicies are the options of a new Default profile, with
// the given Mobile Client policy.
func DefaultClientPolicies(m MobileClientPolicy) ClientPolicies {
	return ClientPolicies{MobileClientPolicy: m, PINMode: PINModeOptional,
		PINCacheTimeout: DefaultPINCacheTimeout, PINMaxRetries: DefaultPINMaxRetries, PINLockTime: DefaultPINLockTime}
}

// Profile is a provisioning profile.
type Profile struct {
	Name string `json:"name"` // unique, matched case-insensitively
	ClientPolicies
	// Groups are the user groups whose default this profile is; a group
	// has at most one profile.
	Groups []string `json:"groups,omitempty"`
}

// IsDefault reports whether p is the shipped Default profile.
func (p Profile) IsDefault() bool { return Key(p.Name) == Key(DefaultProfileName) }

// profileField is one snake_case key of a profile.
type profileField struct {
	label string
	get   func(*ClientPolicies) string
	set   func(*ClientPolicies, string) error
}

// mobileField reuses the policy.mobile.* setting of the same key, so a
// profile's Mobile Client fields parse and validate exactly as the
// settings always did.
func mobileField(key string) profileField {
	return mobileFieldLabelled(key, SettingHelp("policy.mobile."+key))
}

// mobileFieldLabelled is mobileField under the label the Provisioning
// profile seed gives the option ("Customer Service Email" is Policy →
// Mobile Client's "Support Email Address").
func mobileFieldLabelled(key, label string) profileField {
	full := "policy.mobile." + key
	return profileField{label: label,
		get: func(c *ClientPolicies) string {
			s := Settings{MobileClient: c.MobileClientPolicy}
			return settings[full].get(&s)
		},
		set: func(c *ClientPolicies, v string) error {
			s := Settings{MobileClient: c.MobileClientPolicy}
			if err := settings[full].set(&s, v); err != nil {
				return err
			}
			c.MobileClientPolicy = s.MobileClient
			return nil
		}}
}

func profileBool(label string, f func(*ClientPolicies) *bool) profileField {
	return profileField{label: label,
		get: func(c *ClientPolicies) string { return yesNo(*f(c)) },
		set: func(c *ClientPolicies, v string) error {
			b, err := parseYesNo(v)
			*f(c) = b
			return err
		}}
}

func profileInt(label string, f func(*ClientPolicies) *int, min, max int) profileField {
	return profileField{label: label,
		get: func(c *ClientPolicies) string { return strconv.Itoa(*f(c)) },
		set: func(c *ClientPolicies, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min || n > max {
				return Errorf(CodeInvalid, "Enter a whole number from %s to %s.", GroupDigits(min), GroupDigits(max))
			}
			*f(c) = n
			return nil
		}}
}

// profileKeys are the keys of `provisio profile show`, in order.
var profileKeys = []string{"support_email", "support_phone",
	"allow_pin_entry", "allow_choose_extraction", "allow_browse_strings", "provision_numeric", "sync_index", "vpn_url_scheme",
	"logging", "read_only_settings", "pin_mode", "pin_cache_timeout", "pin_max_retries", "pin_lock_time", "mutual_auth", "cert_pinning"}

var profileFields = map[string]profileField{
	"support_email":           mobileFieldLabelled("support_email", "Customer Service Email"),
	"support_phone":           mobileFieldLabelled("support_phone", "Customer Service Phone"),
	"allow_pin_entry":         mobileField("allow_pin_entry"),
	"allow_choose_extraction": mobileField("allow_choose_extraction"),
	"allow_browse_strings":    mobileField("allow_browse_strings"),
	"provision_numeric":       mobileField("provision_numeric"),
	"sync_index":              mobileField("sync_index"),
	"vpn_url_scheme":          mobileField("vpn_url_scheme"),
	"logging":                 profileBool("Logging", func(c *ClientPolicies) *bool { return &c.Logging }),
	"read_only_settings":      profileBool("Read-only settings", func(c *ClientPolicies) *bool { return &c.ReadOnlySettings }),
	"pin_mode": {label: "PIN (optional or mandatory)",
		get: func(c *ClientPolicies) string { return c.PINMode },
		set: func(c *ClientPolicies, v string) error {
			switch m := strings.ToLower(strings.TrimSpace(v)); m {
			case PINModeOptional, PINModeMandatory:
				c.PINMode = m
				return nil
			}
			return Errorf(CodeInvalid, "Enter optional or mandatory, not %q.", v)
		}},
	"pin_cache_timeout": profileInt("PIN cache timeout (seconds)", func(c *ClientPolicies) *int { return &c.PINCacheTimeout }, 0, MaxPINCacheTimeout),
	"pin_max_retries":   profileInt("PIN max retries", func(c *ClientPolicies) *int { return &c.PINMaxRetries }, 1, MaxPINMaxRetries),
	"pin_lock_time":     profileInt("PIN lock time (seconds)", func(c *ClientPolicies) *int { return &c.PINLockTime }, 0, MaxPINLockTime),
	"mutual_auth":       profileBool("Mutual authentication", func(c *ClientPolicies) *bool { return &c.MutualAuth }),
	"cert_pinning":      profileBool("Certificate pinning", func(c *ClientPolicies) *bool { return &c.CertPinning }),
}

// ProfileKeys returns the snake_case keys of a profile in display order.
func ProfileKeys() []string { return append([]string(nil), profileKeys...) }

// ProfileKeyLabel returns the label people read for a key.
func ProfileKeyLabel(key string) string { return profileFields[key].label }

func noProfileKey(key string) error {
	return Errorf(CodeNotFound, "There is no profile key %q; 'provisio profile show NAME' lists them all.", key)
}

// Get returns the value of a key as text.
func (c *ClientPolicies) Get(key string) (string, error) {
	f, ok := profileFields[key]
	if !ok {
		return "", noProfileKey(key)
	}
	return f.get(c), nil
}

// Set parses and stores value under key, validating it.
func (c *ClientPolicies) Set(key, value string) error {
	f, ok := profileFields[key]
	if !ok {
		return noProfileKey(key)
	}
	if err := f.set(c, value); err != nil {
		if e, ok := err.(*Error); ok && e.Field == "" {
			e.Field = key
		}
		return err
	}
	return nil
}

// ValidateProfileName checks a profile name: 1-64 letters, digits,
// spaces, '-', '_' or '.'.
func ValidateProfileName(name string) error {
	n := strings.TrimSpace(name)
	if n == "" {
		return FieldError("name", "Enter a profile name.")
	}
	if strings.EqualFold(n, "none") {
		return FieldError("name", "\"none\" is reserved: 'provisio profile assign none --user U' removes a user's own profile.")
	}
	if len(n) > 64 {
		return FieldError("name", "A profile name has at most 64 characters.")
	}
	for _, r := range n {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.", r) {
			return FieldError("name", "A profile name has letters, digits, spaces, '-', '_' and '.' only, not %q.", string(r))
		}
	}
	return nil
}

// ValidateProfile checks every field of p and trims it in place. The
// customer-service email is mandatory, except on the Default profile,
// which carries over Policy → Mobile Client where it was optional.
func ValidateProfile(p *Profile) error {
	p.Name = strings.TrimSpace(p.Name)
	if err := ValidateProfileName(p.Name); err != nil {
		return err
	}
	for _, k := range profileKeys {
		f := profileFields[k]
		probe := p.ClientPolicies
		if err := f.set(&probe, f.get(&p.ClientPolicies)); err != nil {
			if e, ok := err.(*Error); ok && e.Field == "" {
				e.Field = k
			}
			return err
		}
		p.ClientPolicies = probe
	}
	if p.SupportEmail == "" && !p.IsDefault() {
		return FieldError("support_email", "Enter the customer-service email: every profile needs one, so phone users can reach support.")
	}
	for i, g := range p.Groups {
		p.Groups[i] = strings.TrimSpace(g)
	}
	return nil
}

// Profiles returns every profile, Default first, then by name.
func (s *Service) Profiles() ([]Profile, error) {
	var out []Profile
	err := s.store.View(func(tx Tx) (err error) {
		out, err = tx.Profiles()
		return err
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].IsDefault() != out[j].IsDefault() {
			return out[i].IsDefault()
		}
		return Key(out[i].Name) < Key(out[j].Name)
	})
	return out, err
}

func noProfile(name string) error {
	return Errorf(CodeNotFound, "There is no profile %q.", name)
}

// Profile returns one profile by name.
func (s *Service) Profile(name string) (Profile, error) {
	var p Profile
	err := s.store.View(func(tx Tx) (err error) {
		p, err = tx.Profile(name)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Profile{}, noProfile(name)
	}
	return p, err
}

// profileUsers counts the users whose effective profile is name.
func profileUsers(tx Tx, name string) (int, error) {
	n := 0
	var ferr error
	err := tx.Users(func(u User) bool {
		if u.Deleted {
			return true
		}
		p, _, err := resolveProfile(tx, u)
		if err != nil {
			ferr = err
			return false
		}
		if Key(p.Name) == Key(name) {
			n++
		}
		return true
	})
	if ferr != nil {
		return 0, ferr
	}
	return n, err
}

// ProfileImpact returns how many users a change to the profile affects:
// those whose effective profile it is.
func (s *Service) ProfileImpact(name string) (int, error) {
	var n int
	err := s.store.View(func(tx Tx) (err error) {
		n, err = profileUsers(tx, name)
		return err
	})
	return n, err
}

// profileAssignments lists the groups and the users assigned to name.
func profileAssignments(tx Tx, p Profile) (users []string, err error) {
	err = tx.Users(func(u User) bool {
		if Key(u.Profile) == Key(p.Name) {
			users = append(users, u.Name)
		}
		return true
	})
	return users, err
}

// ProfileReassignAdvice ends DeleteProfile's refusal of a profile still
// assigned: the console's words, whose Delete dialog offers a profile to
// reassign to. The admin API and the command line reassign another way
// (a query parameter, a flag) and replace it with RewordEnding.
const ProfileReassignAdvice = "delete it with another profile to reassign them to."

// DeleteProfile deletes a profile. The Default profile cannot be deleted;
// a profile still assigned to a group or a user is refused unless
// reassignTo names another profile, which then takes over every
// assignment in the same transaction; "Default" instead removes them, so
// its users follow their group's profile and its groups the Default.
func (s *Service) DeleteProfile(name, reassignTo string) error {
	if Key(name) == Key(DefaultProfileName) {
		return Errorf(CodeInvalid, "The Default profile cannot be deleted: it applies to everyone without another profile.")
	}
	return s.update(false, func(tx Tx, log *logger) error {
		p, err := tx.Profile(name)
		if errors.Is(err, ErrNotFound) {
			return noProfile(name)
		} else if err != nil {
			return err
		}
		users, err := profileAssignments(tx, p)
		if err != nil {
			return err
		}
		if reassignTo == "" && (len(users) > 0 || len(p.Groups) > 0) {
			return Errorf(CodeConflict, "Profile %q is still assigned to %s; assign them another profile first, or %s", p.Name, describeAssignments(p.Groups, users), ProfileReassignAdvice)
		}
		var to Profile
		if reassignTo != "" {
			if Key(reassignTo) == Key(p.Name) {
				return Errorf(CodeInvalid, "Choose another profile to reassign to than the one being deleted.")
			}
			if to, err = tx.Profile(reassignTo); errors.Is(err, ErrNotFound) {
				return noProfile(reassignTo)
			} else if err != nil {
				return err
			}
		}
		for _, un := range users {
			u, err := tx.User(un)
			if err != nil {
				return err
			}
			u.Profile = ""
			if !to.IsDefault() {
				u.Profile = to.Name
			}
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		if len(p.Groups) > 0 && !to.IsDefault() {
			to.Groups = append(to.Groups, p.Groups...)
			if err := tx.PutProfile(to); err != nil {
				return err
			}
		}
		if err := tx.DeleteProfile(p.Name); err != nil {
			return err
		}
		msg := fmt.Sprintf("Profile %q deleted.", p.Name)
		switch {
		case reassignTo == "" || (len(users) == 0 && len(p.Groups) == 0):
		case to.IsDefault():
			msg += fmt.Sprintf(" Its %s follow their group's profile or the Default again.", describeAssignments(p.Groups, users))
		default:
			msg += fmt.Sprintf(" Its %s now use profile %q.", describeAssignments(p.Groups, users), to.Name)
		}
		return log.add(LevelInfo, "", "%s", msg)
	}, s.profilesChanged)
}

func describeAssignments(groups, users []string) string {
	var parts []string
	switch len(groups) {
	case 0:
	case 1:
		parts = append(parts, "group "+groups[0])
	default:
		parts = append(parts, "groups "+strings.Join(groups, ", "))
	}
	switch len(users) {
	case 0:
	case 1:
		parts = append(parts, "1 user ("+users[0]+")")
	default:
		parts = append(parts, fmt.Sprintf("%d users", len(users)))
	}
	return strings.Join(parts, " and ")
}

// migrateProfiles creates the Default profile from the global Mobile
// Client policy when the store has none (a data file from before #14).
// It runs inside NewService's opening transaction.
func migrateProfiles(tx Tx, set Settings) error {
	if _, err := tx.Profile(DefaultProfileName); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return tx.PutProfile(Profile{Name: DefaultProfileName, ClientPolicies: DefaultClientPolicies(set.MobileClient)})
}

// syncDefaultProfile copies the policy.mobile.* settings into the Default
// profile, inside the transaction that saves them.
func syncDefaultProfile(tx Tx, m MobileClientPolicy) error {
	p, err := tx.Profile(DefaultProfileName)
	if errors.Is(err, ErrNotFound) {
		// Only a store written outside the service lacks it.
		p = Profile{Name: DefaultProfileName, ClientPolicies: DefaultClientPolicies(m)}
		return tx.PutProfile(p)
	} else if err != nil {
		return err
	}
	if p.MobileClientPolicy == m {
		return nil
	}
	p.MobileClientPolicy = m
	return tx.PutProfile(p)
}

// checkUserProfile refuses a user's own profile that does not exist and
// stores the profile's spelling of its name.
func checkUserProfile(tx Tx, u *User) error {
	if u.Profile == "" {
		return nil
	}
	p, err := tx.Profile(u.Profile)
	if errors.Is(err, ErrNotFound) {
		return FieldError("profile", "There is no profile %q.", u.Profile)
	} else if err != nil {
		return err
	}
	u.Profile = p.Name
	return nil
}
