package core

import (
	"context"
	"io"
	"time"
)

// AdminAPI is the admin use cases the command line and the console call,
// written once for both the in-process service (LocalAdmin) and a running
// server reached over its admin socket (core/adminapi.Client).
type AdminAPI interface {
	// Users lists the users, sorted by name, without deleted ones.
	Users() ([]AdminUser, error)
	// AddUser creates a user; PIN is optional.
	AddUser(u AdminNewUser) (AdminUser, error)
	// DeleteUser removes a user, their device and strings.
	DeleteUser(name string) error
	// Reprovision issues a new provision code; with mail it is also
	// queued for mail to the user. The plain code is returned only here.
	Reprovision(name string, mail bool) (AdminIssued, error)
	// Settings lists every setting with its value (secrets masked).
	Settings() ([]AdminSetting, error)
	// Setting returns one setting.
	Setting(key string) (AdminSetting, error)
	// SetSetting changes one setting and returns it as now stored.
	SetSetting(key, value string) (AdminSetting, error)
	// Agents lists the agents with their resolved addresses.
	Agents() ([]AdminAgent, error)
	// PutAgent adds or replaces an agent.
	PutAgent(a AdminNewAgent) (AdminAgent, error)
	// DeleteAgent removes an agent.
	DeleteAgent(name string) error
	// Events streams core events until ctx ends; the channel closes then.
	Events(ctx context.Context) (<-chan AdminEvent, error)

	// Unlock lifts a user's lock and forgets the failed logins.
	Unlock(name string) (AdminUser, error)
	// ResetPIN gives a user a new random PIN; with mail it is queued for
	// mail to the user and not returned.
	ResetPIN(name string, mail bool) (AdminPINReset, error)
	// RevokeDevice removes a user's device; the user must reprovision.
	RevokeDevice(name string) error
	// Me says who the API takes the caller for and what it may do.
	Me() (AdminOperator, error)
	// PairConsole makes a one-time code to pair a remote console.
	PairConsole(name string, role Role) (AdminPairing, error)
	// Consoles lists the remote consoles.
	Consoles() ([]AdminConsole, error)
	// RevokeConsole revokes a remote console at once.
	RevokeConsole(name string) error
	// ClientLogs returns the diagnostic logs a user's phone uploaded
	// (#14), newest first.
	ClientLogs(name string) (AdminClientLog, error)
	// ClearClientLogs deletes them and says how many there were.
	ClearClientLogs(name string) (int, error)
	// Profiles lists the provisioning profiles (#14), Default first.
	Profiles() ([]AdminProfile, error)
	// AssignProfile gives a user their own profile; "" returns them to
	// their group's (or the Default) profile. It returns the user's
	// effective profile afterwards.
	AssignProfile(user, profile string) (AdminUserProfile, error)
	// Backup writes an encrypted backup of the data directory to w,
	// taken from one read transaction while logins go on (#13). The
	// passphrase, if that is how it is encrypted, travels in the request
	// body only and is never logged.
	Backup(w io.Writer, enc BackupEncryption) (BackupSummary, error)
}

// AdminPINReset is the outcome of ResetPIN: the PIN only when it was not
// mailed, for the one caller that asked.
type AdminPINReset struct {
	User     string `json:"user"`
	PIN      string `json:"pin,omitempty"`
	MailedTo string `json:"mailed_to,omitempty"`
}

// AdminClientLog is a user's uploaded diagnostic logs, newest first.
type AdminClientLog struct {
	User string           `json:"user"`
	Logs []ClientLogEntry `json:"logs"`
}

// AdminProfile is a provisioning profile as the admin API lists it: the
// name and what it is the default of, not its values.
type AdminProfile struct {
	Name string `json:"name"`
	// Default is true for the shipped Default profile, which applies to
	// everyone without a group's or their own.
	Default bool `json:"default"`
	// Groups are the groups whose default this profile is.
	Groups []string `json:"groups"`
}

// AdminUserProfile is a user's profile after an assignment.
type AdminUserProfile struct {
	User string `json:"user"`
	// Own is the user's own profile; empty when they have none.
	Own string `json:"own,omitempty"`
	// Profile is the effective profile, and Source where it comes from:
	// "user", "group NAME" or "default".
	Profile string `json:"profile"`
	Source  string `json:"source"`
}

// AdminOperator is the caller as the API sees it.
type AdminOperator struct {
	// Name is the paired console's name, or a description of a local
	// caller.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Remote is true for a paired console over mutual TLS.
	Remote bool `json:"remote"`
}

// AdminPairing is a console pairing code just made, with what the remote
// side needs to check it reaches the right server.
type AdminPairing struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
	// Fingerprint is the SHA-256 of the certificate the remote admin
	// listener presents, and Listen its address; empty while it is off.
	Fingerprint string `json:"fingerprint,omitempty"`
	Listen      string `json:"listen,omitempty"`
}

// AdminConsole is a remote console as lists show it.
type AdminConsole struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// State is pending (a code was made), expired (its code ran out),
	// paired or revoked.
	State       string     `json:"state"`
	Serial      string     `json:"serial,omitempty"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	PairedAt    *time.Time `json:"paired_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	// CodeExpires is when a pending pairing code stops working.
	CodeExpires *time.Time `json:"code_expires,omitempty"`
}

// AdminUser is a user as lists show it: never the PIN, device id or strings.
type AdminUser struct {
	Name          string `json:"name"`
	FullName      string `json:"full_name,omitempty"`
	Email         string `json:"email,omitempty"`
	Mobile        string `json:"mobile,omitempty"`
	Group         string `json:"group,omitempty"`
	MobileAllowed bool   `json:"mobile_allowed"`
	// Profile is the user's own provisioning profile (#14); empty when
	// their group's or the Default applies.
	Profile       string     `json:"profile,omitempty"`
	Disabled      bool       `json:"disabled"`
	Locked        bool       `json:"locked"`
	LockText      string     `json:"lock_text,omitempty"`
	DeviceOS      string     `json:"device_os,omitempty"`
	ProvisionedAt *time.Time `json:"provisioned_at,omitempty"`
	// PendingUntil is when the user's unused provision code expires.
	PendingUntil *time.Time `json:"pending_until,omitempty"`
	// App is the kind (totp, hotp) of the user's confirmed
	// authenticator-app token, "" for none; AppPending that of a token
	// waiting for confirmation. A phone with an app is what the helpdesk
	// revokes when it is lost, as one with strings.
	App        string `json:"app,omitempty"`
	AppPending string `json:"app_pending,omitempty"`
}

// AdminNewUser is the request to add a user.
type AdminNewUser struct {
	Name     string `json:"name"`
	FullName string `json:"full_name,omitempty"`
	Email    string `json:"email,omitempty"`
	Mobile   string `json:"mobile,omitempty"`
	Group    string `json:"group,omitempty"`
	// PIN is optional; it is never logged nor echoed back.
	PIN string `json:"pin,omitempty"`
	// The full console's form sets these too; MobileAllowed is true
	// when absent.
	StringsEmail  string `json:"strings_email,omitempty"`
	MobileAllowed *bool  `json:"mobile_allowed,omitempty"`
	Disabled      bool   `json:"disabled,omitempty"`
	Locked        bool   `json:"locked,omitempty"`
	Profile       string `json:"profile,omitempty"`
}

// AdminIssued is a provision code just created: the only copy of the plain
// code, for the one caller that asked.
type AdminIssued struct {
	User    string    `json:"user"`
	Code    string    `json:"code"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
	// Created is the server's clock when the code was made; a console
	// counts Expires − Created down from when it got the answer, so its
	// countdown does not depend on its clock agreeing with the server's.
	Created time.Time `json:"created"`
	// Server and SiteID are what a person types into an app that cannot
	// scan the QR code (from the Provision URL).
	Server string `json:"server,omitempty"`
	SiteID string `json:"site_id,omitempty"`
	// ReplacesDevice says the user has a phone that stops working once
	// this code is used.
	ReplacesDevice bool `json:"replaces_device"`
	// ReplacesApp is the kind of the user's authenticator-app token, which
	// stops working once this code is used; "" for none.
	ReplacesApp string `json:"replaces_app,omitempty"`
	// MailID is the outbox message carrying the code, when mailed; MailTo
	// its address, and MailHeld that it waits for mail to be set up.
	MailID   uint64 `json:"mail_id,omitempty"`
	MailTo   string `json:"mail_to,omitempty"`
	MailHeld bool   `json:"mail_held,omitempty"`
}

// AdminSetting is one setting: its dotted key, its value as text ("********"
// for a secret that is set) and its help sentence.
type AdminSetting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Help  string `json:"help,omitempty"`
}

// AdminAgent is an agent as lists show it: never its secret.
type AdminAgent struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Group      string `json:"group"`
	Repository bool   `json:"repository"`
	Helpdesk   bool   `json:"helpdesk"`
	Rights     string `json:"rights"`
	// Modes are the authentication modes it may use (AgentModes).
	Modes []string `json:"modes"`
	// Addresses are the ranges the agent is accepted from now; empty
	// when its host name does not resolve.
	Addresses []string `json:"addresses"`
	// SharesSecretWith names the other agents that have the same shared
	// secret (saved before each agent needed its own); never the secret.
	SharesSecretWith []string `json:"shares_secret_with,omitempty"`
}

// AdminNewAgent is the request to add or replace an agent.
type AdminNewAgent struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Secret     string `json:"secret"`
	Group      string `json:"group,omitempty"`
	Repository bool   `json:"repository,omitempty"`
	Helpdesk   bool   `json:"helpdesk,omitempty"`
	// Modes are the authentication modes; none means mobile.
	Modes []string `json:"modes,omitempty"`
	// KeepSecret keeps the stored secret of the agent being replaced;
	// Secret is then ignored.
	KeepSecret bool `json:"keep_secret,omitempty"`
}

// AdminEvent is a core event as the stream carries it. It never holds a
// secret: a new provision code's event says only that one was made.
type AdminEvent struct {
	Kind     string         `json:"kind"`
	User     string         `json:"user,omitempty"`
	DeviceOS string         `json:"device_os,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	At       time.Time      `json:"at"`
	Log      *AdminLogEntry `json:"log,omitempty"`
	// Origin is who made the change (Event.Origin).
	Origin *Actor `json:"origin,omitempty"`
}

// AdminLogEntry is an audit log line.
type AdminLogEntry struct {
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"`
	Level string    `json:"level"`
	User  string    `json:"user,omitempty"`
	// Actor is who acted (LogEntry.Actor); empty on entries written
	// before the log named them.
	Actor   string `json:"actor,omitempty"`
	Message string `json:"message"`
}

// Event kinds on the admin stream, one per EventKind.
var adminEventKinds = map[EventKind]string{
	EventLog:             "log",
	EventUsersChanged:    "users_changed",
	EventCodeCreated:     "code_created",
	EventProvisioned:     "provisioned",
	EventProvisionFailed: "provision_failed",
	EventConfigChanged:   "config_changed",
	EventOutboxChanged:   "outbox_changed",
	EventHealth:          "health",
	EventClientLog:       "client_log",
}

// toAdminEvent drops everything secret: Issued is never copied.
func toAdminEvent(e Event) AdminEvent {
	out := AdminEvent{Kind: adminEventKinds[e.Kind], User: e.User, DeviceOS: e.DeviceOS, Reason: e.Reason, At: e.At}
	if out.Kind == "" {
		out.Kind = "other"
	}
	if e.Origin.Kind != "" {
		o := e.Origin
		out.Origin = &o
	}
	if e.Kind == EventLog {
		out.Log = &AdminLogEntry{Seq: e.Log.Seq, Time: e.Log.Time, Level: string(e.Log.Level), User: e.Log.User, Actor: e.Log.Actor, Message: e.Log.Message}
	}
	return out
}
