package core

import (
	"io"
	"net/netip"
	"strings"
	"time"
)

// ConsoleAPI is what the full desktop console (package ui) needs of
// Provisio: the use cases behind its screens, with the Service's own names
// and signatures, so the Service itself is the in-process implementation
// and core/adminapi's Console the one over the admin API (the admin socket,
// or mutual TLS for a remote console with the admin role). Who acted is
// the Service's actor in the in-process log (Service.As); over the admin
// API the server names the operator.
type ConsoleAPI interface {
	// Now is the service's clock (over the admin API, the console's
	// estimate of it from the server's answers).
	Now() time.Time
	// Subscribe follows the service's events until the returned function
	// is called, which closes the channel.
	Subscribe() (<-chan Event, func())
	// Log adds an audit log line.
	Log(level Level, user, format string, args ...any) error
	// Health is the server's health as of now.
	Health() Health

	// Settings and policies.
	Settings() Settings
	SetSettings(set Settings, what string) error
	SetSetting(key, value string) error
	// ChangeSettings sets only the dotted keys given, onto the settings
	// as stored when it saves, so a form that sends what it changed
	// keeps what another console changed meanwhile.
	ChangeSettings(values map[string]string, what string) error

	// Users.
	Users() ([]User, error)
	User(name string) (User, error)
	AddUser(u User) (User, error)
	UpdateUser(name string, edit func(*User) error) (User, error)
	DeleteUser(name string) error
	PendingCodes() (map[string]time.Time, error)
	RevokeDevice(name string) error
	ResetPIN(name string, send bool) (PINReset, error)
	PreviewImport(r io.Reader) (ImportPreview, error)
	ImportUsers(rows []ImportRow, progress func(done, total int)) (int, error)
	ClientLogs(username string) ([]ClientLogEntry, error)
	ClearClientLogs(username string) (int, error)

	// Reprovision, with the mobile client or an authenticator app.
	CreateProvisionCode(name string) (IssuedCode, error)
	MailIssuedCode(ic IssuedCode) (IssuedCode, error)
	WithdrawProvisionCode(name, code string) (bool, error)
	OATHStatus(name string) (OATHStatus, error)
	OATHStatuses() (map[string]OATHStatus, error)
	IssueOATH(name string, opt OATHOptions) (OATHIssued, error)
	ConfirmOATH(name, code string) error
	MailOATHProvisionCode(name string, opt OATHOptions) (IssuedCode, error)

	// Provisioning profiles.
	Profiles() ([]Profile, error)
	Profile(name string) (Profile, error)
	ProfileImpact(name string) (int, error)
	AddProfile(p Profile) error
	// ChangeProfile sets only the profile keys given, onto the profile
	// as stored when it saves (as ChangeSettings).
	ChangeProfile(name string, values map[string]string) error
	DeleteProfile(name, reassignTo string) error
	AssignProfileToGroup(profile, group string) error
	EffectiveProfileFor(u User) (EffectiveProfile, error)

	// Agents.
	Agents() []Agent
	// AgentsSharingSecrets names the agents saved before each needed
	// its own secret that share one (Service.AgentsSharingSecrets).
	AgentsSharingSecrets() [][]string
	AgentAddresses(name string) []netip.Prefix
	PutAgent(a Agent) error
	// ChangeAgent makes only the change given, onto the agent as stored
	// when it saves; an absent secret keeps the stored one.
	ChangeAgent(name string, c AgentChange) error
	DeleteAgent(name string) error

	// The outbox.
	Outbox() ([]OutMessage, error)
	RetryMail(id uint64) error
	RetryFailedMail() (int, error)
	DiscardMail(id uint64) error

	// The audit log.
	LogTail(limit int) ([]LogEntry, error)
	Logs(after uint64, limit int) ([]LogEntry, error)
	VerifyLog() (LogChain, error)

	// Backups into the folder.
	BackupState() BackupState
	BackupNow(scheduled bool) BackupResult
	CheckBackupSettings(b BackupSettings) error

	// Remote consoles.
	PairConsole(name string, role Role) (ConsolePairing, error)
	ConsoleEndpoint() (addr, fingerprint string)
	Consoles() ([]Console, error)
	RevokeConsole(name string) error
}

var _ ConsoleAPI = (*Service)(nil)

// Subscribe follows the service's events (Events().Subscribe), so the
// Service is a ConsoleAPI.
func (s *Service) Subscribe() (<-chan Event, func()) { return s.bus.Subscribe() }

// SetMailTools gives the service the mail adapter's tools, so a console
// attached over the admin API can send a test message from the server,
// which is where mail leaves from.
func (s *Service) SetMailTools(t MailTools) { s.mailTools.Store(&t) }

// MailTools returns what SetMailTools gave; nil when nothing did.
func (s *Service) MailTools() MailTools {
	if t := s.mailTools.Load(); t != nil {
		return *t
	}
	return nil
}

// SecretMask stands for a secret that is set (the SMTP password, an
// agent's secret) in what the admin API answers; given back unchanged in
// a request, it keeps the stored secret.
const SecretMask = "********"

// AdminUserRecord is a user as the full console shows and edits it over
// the admin API: the record with its login state, without the PIN or
// anything hashed; the device Id is SecretMask when there is a device.
type AdminUserRecord struct {
	User
	Locked      bool      `json:"locked"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	Failures    int       `json:"failures"`
	LastLogin   time.Time `json:"last_login,omitzero"`
}

// AdminUserRecordOf is u as the admin API shows it.
func AdminUserRecordOf(u User) AdminUserRecord {
	r := AdminUserRecord{User: u, Locked: u.Locked, LockedUntil: u.LockedUntil, Failures: u.Failures, LastLogin: u.LastLogin}
	r.User.PIN, r.User.PINReset, r.User.DeviceCert = "", nil, nil
	if u.DeviceID != "" {
		r.User.DeviceID = SecretMask
	}
	return r
}

// UserOf is the record as a User, for the console.
func (r AdminUserRecord) UserOf() User {
	u := r.User
	u.Locked, u.LockedUntil, u.Failures, u.LastLogin = r.Locked, r.LockedUntil, r.Failures, r.LastLogin
	return u
}

// AdminUserChange is an edit of a user over the admin API: only the
// fields present change. PIN is never echoed or logged.
type AdminUserChange struct {
	FullName      *string            `json:"full_name,omitempty"`
	Email         *string            `json:"email,omitempty"`
	StringsEmail  *string            `json:"strings_email,omitempty"`
	Mobile        *string            `json:"mobile,omitempty"`
	Group         *string            `json:"group,omitempty"`
	Profile       *string            `json:"profile,omitempty"`
	MobileAllowed *bool              `json:"mobile_allowed,omitempty"`
	Disabled      *bool              `json:"disabled,omitempty"`
	Locked        *bool              `json:"locked,omitempty"`
	PIN           *string            `json:"pin,omitempty"`
	Attributes    *map[string]string `json:"attributes,omitempty"`
}

// UserChange is what an edit turned before into after, field by field, so
// a change made meanwhile by someone else to another field is kept.
func UserChange(before, after User) AdminUserChange {
	var c AdminUserChange
	str := func(dst **string, a, b string) {
		if a != b {
			*dst = &b
		}
	}
	flag := func(dst **bool, a, b bool) {
		if a != b {
			*dst = &b
		}
	}
	str(&c.FullName, before.FullName, after.FullName)
	str(&c.Email, before.Email, after.Email)
	str(&c.StringsEmail, before.StringsEmail, after.StringsEmail)
	str(&c.Mobile, before.Mobile, after.Mobile)
	str(&c.Group, before.Group, after.Group)
	str(&c.Profile, before.Profile, after.Profile)
	str(&c.PIN, before.PIN, after.PIN)
	flag(&c.MobileAllowed, before.MobileAllowed, after.MobileAllowed)
	flag(&c.Disabled, before.Disabled, after.Disabled)
	flag(&c.Locked, before.Locked, after.Locked)
	if !sameAttributes(before.Attributes, after.Attributes) {
		a := after.Attributes
		if a == nil {
			a = map[string]string{}
		}
		c.Attributes = &a
	}
	return c
}

// EditSince is the edit (for UpdateUser) of a form that was opened on
// opened and is saved showing edited: only the fields the form changed
// (UserChange) are written, onto the user as stored at the save, so what
// another console changed meanwhile in another field stays, and a field
// both changed takes the later save (docs/decisions.md, "Two consoles
// editing the same record"). A user deleted and added again under the
// same name while the form was open is another person: the edit is
// refused rather than written onto them.
func EditSince(opened, edited User) func(*User) error {
	c := UserChange(opened, edited)
	return func(u *User) error {
		if !u.Created.Equal(opened.Created) {
			return Errorf(CodeConflict, "%s was deleted and added again while this form was open, so nothing was saved: close the form and open the user again.", opened.Name)
		}
		c.Apply(u)
		return nil
	}
}

func sameAttributes(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Apply makes the change to u.
func (c AdminUserChange) Apply(u *User) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setb := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.FullName, c.FullName)
	set(&u.Email, c.Email)
	set(&u.StringsEmail, c.StringsEmail)
	set(&u.Mobile, c.Mobile)
	set(&u.Group, c.Group)
	set(&u.Profile, c.Profile)
	set(&u.PIN, c.PIN)
	setb(&u.MobileAllowed, c.MobileAllowed)
	setb(&u.Disabled, c.Disabled)
	setb(&u.Locked, c.Locked)
	if c.Attributes != nil {
		u.Attributes = *c.Attributes
	}
}

// Fields names what the change touches, for the log (never a value).
func (c AdminUserChange) Fields() string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{c.FullName != nil, "full name"}, {c.Email != nil, "email"}, {c.StringsEmail != nil, "strings email"},
		{c.Mobile != nil, "mobile"}, {c.Group != nil, "group"}, {c.Profile != nil, "profile"},
		{c.MobileAllowed != nil, "mobile right"}, {c.Disabled != nil, "disabled"}, {c.Locked != nil, "locked"},
		{c.PIN != nil, "PIN"}, {c.Attributes != nil, "attributes"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "nothing"
	}
	return strings.Join(f, ", ")
}

// AdminIssuedOf is an issued code as the admin API answers it.
func AdminIssuedOf(ic IssuedCode) AdminIssued {
	return AdminIssued{User: ic.User, Code: ic.Code, URL: ic.URL, Expires: ic.Expires, Created: ic.Created, Server: ic.Server, SiteID: ic.SiteID,
		ReplacesDevice: ic.ReplacesDevice, ReplacesApp: ic.ReplacesApp, MailID: ic.MailID, MailTo: ic.MailTo, MailHeld: ic.MailHeld}
}

// IssuedCode is the answer as the console's IssuedCode.
func (a AdminIssued) IssuedCode() IssuedCode {
	return IssuedCode{User: a.User, Code: a.Code, URL: a.URL, Expires: a.Expires, Created: a.Created, Server: a.Server, SiteID: a.SiteID,
		ReplacesDevice: a.ReplacesDevice, ReplacesApp: a.ReplacesApp, MailID: a.MailID, MailTo: a.MailTo, MailHeld: a.MailHeld}
}

// MaskSettings is set with its secret (the SMTP password) masked, as the
// admin API answers it.
func MaskSettings(set Settings) Settings {
	if set.Mail.Password != "" {
		set.Mail.Password = SecretMask
	}
	return set
}

// AdminOutMessage is an outbox message as the admin API lists it: what
// it is and how its delivery goes, never the code, the Provision URL or
// a plain message's text (which may hold a PIN).
func AdminOutMessage(m OutMessage) OutMessage {
	m.Code, m.URL, m.Text = "", "", ""
	return m
}

// Event is the streamed event as the console's Event; Issued stays nil,
// since the stream never carries a code.
func (e AdminEvent) Event() Event {
	out := Event{Kind: -1, User: e.User, DeviceOS: e.DeviceOS, Reason: e.Reason, At: e.At}
	for k, name := range adminEventKinds {
		if name == e.Kind {
			out.Kind = k
		}
	}
	if e.Kind == AdminKindConnection {
		out.Kind = EventConnection
	}
	if e.Origin != nil {
		out.Origin = *e.Origin
	}
	if e.Log != nil {
		out.Log = LogEntry{Seq: e.Log.Seq, Time: e.Log.Time, Level: Level(e.Log.Level), User: e.Log.User, Actor: e.Log.Actor, Message: e.Log.Message}
	}
	return out
}
