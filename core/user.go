package core

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is one person who authenticates with a mobile client.
type User struct {
	Name     string `json:"name"` // unique, matched case-insensitively, case kept
	FullName string `json:"full_name,omitempty"`
	Email    string `json:"email,omitempty"` // alert transport
	// StringsEmail is the optional security-string transport; Policy →
	// Self-Reset "Send provision code as security string" sends codes here.
	StringsEmail  string    `json:"strings_email,omitempty"`
	Mobile        string    `json:"mobile,omitempty"`
	Group         string    `json:"group,omitempty"`
	MobileAllowed bool      `json:"mobile_allowed"` // right to use the mobile client
	PIN           string    `json:"pin,omitempty"`  // digits; never logged
	Disabled      bool      `json:"disabled,omitempty"`
	Created       time.Time `json:"created"`

	// The login state, kept in its own record (LoginState) so that a
	// login does not rewrite this one. Users read through the Service
	// show it as of the read; setting Locked and saving the user locks
	// (permanently, until unlocked) or unlocks, and an unlock also clears
	// the failure and lock counts. The other three are read only.
	Locked      bool      `json:"-"` // locked now, by an administrator or the lockout policy
	LockedUntil time.Time `json:"-"` // end of a running temporary lock; zero otherwise
	Failures    int       `json:"-"` // wrong codes since the last login or unlock
	LastLogin   time.Time `json:"-"`

	// The one provisioned device, if any.
	DeviceID      string    `json:"device_id,omitempty"`
	DeviceOS      string    `json:"device_os,omitempty"`
	ProvisionedAt time.Time `json:"provisioned_at,omitzero"`

	// Attributes are free-form name → value pairs set through the admin
	// API (a UPN, an employee number); names are lower case (see
	// ValidateAttributes). Email, mobile and full name are fields above.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Repository is the admin-API agent that owns the user; "" is the
	// local repository of users made in the console (users_lookup.go).
	Repository string `json:"repository,omitempty"`
	// Deleted marks a user deleted through the admin API: they cannot log
	// in or provision and are hidden from lists until PurgeDeleted.
	Deleted   bool      `json:"deleted,omitempty"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// PINReset is the pending PIN reset code of resetcode, hash only.
	PINReset *ProvisionCode `json:"pin_reset,omitempty"`
	// Profile is the user's own provisioning profile, overriding their
	// group's (profiles.go); "" uses the group's or the Default.
	Profile string `json:"profile,omitempty"`
	// DeviceCert is the device certificate issued at the last provision
	// with mutual authentication (#14, devicecert.go); nil when none.
	DeviceCert *DeviceCert `json:"device_cert,omitempty"`
}

// Key is the store key of a username: names match case-insensitively.
func Key(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Provisioned reports whether the user has a device.
func (u User) Provisioned() bool { return u.DeviceID != "" }

// ValidateUser checks a user's fields against the PIN length bounds and
// returns a field error for the first problem. It trims spaces in place.
func ValidateUser(u *User, pinMin, pinMax int) error {
	return validateUser(u, nil, pinMin, pinMax)
}

// validateUser is ValidateUser; for an edit, old is the user as stored,
// and a name the edit leaves as stored is not checked again: it was
// accepted when the user was added, and a rule made since (a username of
// only dots) must not stop an administrator from locking, disabling or
// correcting that user.
func validateUser(u *User, old *User, pinMin, pinMax int) error {
	u.Name = strings.TrimSpace(u.Name)
	u.FullName = strings.TrimSpace(u.FullName)
	u.Email = strings.TrimSpace(u.Email)
	u.Mobile = strings.TrimSpace(u.Mobile)
	u.StringsEmail = strings.TrimSpace(u.StringsEmail)
	u.Group = strings.TrimSpace(u.Group)
	u.Profile = strings.TrimSpace(u.Profile)
	u.PIN = strings.TrimSpace(u.PIN)
	if old == nil || u.Name != old.Name {
		if err := ValidateUsername(u.Name); err != nil {
			return err
		}
	}
	if err := validateText("full_name", "full name", u.FullName); err != nil {
		return err
	}
	if err := validateText("group", "group", u.Group); err != nil {
		return err
	}
	if u.Email != "" {
		if err := ValidateEmail("email", u.Email); err != nil {
			return err
		}
	}
	if u.StringsEmail != "" {
		if err := ValidateEmail("strings_email", u.StringsEmail); err != nil {
			return err
		}
	}
	if u.Mobile != "" {
		if err := ValidatePhone("mobile", u.Mobile); err != nil {
			return err
		}
	}
	if u.PIN != "" {
		if err := ValidatePIN(u.PIN, pinMin, pinMax); err != nil {
			return err
		}
	}
	return ValidateAttributes(u.Attributes)
}

// MaxUsernameLen is the longest username ValidateUsername accepts, in
// bytes. Callers that hold a stranger's text keyed by name (a rate
// limiter) cut it to this length, since no account can have a longer one.
const MaxUsernameLen = 64

// ValidateUsername accepts 1-64 printable characters without spaces,
// control characters or any of " < > & ' / \, and not made only of dots,
// so names survive XML, URLs and log lines: "." and ".." as a segment of
// a URL's path are removed by its resolution, and the admin API's mux
// answers /v1/users/.. with a redirect to /v1/ rather than the user.
func ValidateUsername(name string) error {
	if name == "" {
		return FieldError("name", "Enter a username.")
	}
	if len(name) > MaxUsernameLen {
		return FieldError("name", "A username can have at most %d characters.", MaxUsernameLen)
	}
	if !utf8.ValidString(name) {
		return FieldError("name", "%s", notUTF8("username"))
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`"<>&'/\`, r) {
			return FieldError("name", "A username cannot contain spaces or any of \" < > & ' / \\.")
		}
	}
	if strings.Trim(name, ".") == "" {
		return FieldError("name", "A username cannot be only dots.")
	}
	return nil
}

// validateText refuses a free-text field (full name, group) that is not
// valid UTF-8 or holds control characters (a line break, a tab): such a
// value would come out changed through JSON and XML, and split lines.
func validateText(field, what, s string) error {
	if !utf8.ValidString(s) {
		return FieldError(field, "%s", notUTF8(what))
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return FieldError(field, "A %s cannot contain line breaks, tabs or other control characters.", what)
	}
	return nil
}

// notUTF8 is the sentence for text in another character set than UTF-8,
// such as a name typed in a Latin-1 terminal or a file saved as
// Windows-1252.
func notUTF8(what string) string {
	return fmt.Sprintf("The %s is not UTF-8 text (it holds bytes of another character set); type it again in a UTF-8 terminal, or save the file as UTF-8.", what)
}

// ValidatePIN checks that pin is all digits and between min and max long.
func ValidatePIN(pin string, min, max int) error {
	if len(pin) < min || len(pin) > max || !isDigits(pin) {
		return FieldError("pin", "A PIN is %d to %d digits.", min, max)
	}
	return nil
}

// ValidateEmail checks a bare address such as alice@example.org.
func ValidateEmail(field, s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.IndexByte(s, '@')+1:], ".") {
		return FieldError(field, "%q is not an email address like name@example.org.", s)
	}
	return nil
}

// ValidatePhone accepts digits with an optional leading + and the spaces,
// dashes, dots and brackets people type, 6 to 20 digits in all.
func ValidatePhone(field, s string) error {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return FieldError(field, "%q is not a phone number like +44 20 7946 0000.", s)
		}
	}
	if digits < 6 || digits > 20 {
		return FieldError(field, "%q is not a phone number like +44 20 7946 0000.", s)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
