// Package adminapi is Provisio's admin API, version 1: the use cases the
// command line and the console need (users, reprovision, settings,
// agents, the event stream) as one Go interface, API, with two
// implementations: Local, in the process that holds the data directory,
// and Client, which speaks JSON over HTTP to a Server on the data
// directory's Unix socket (admin.sock). docs/admin-api.md documents the
// wire form; its examples are executed by apidoc_test.go.
package adminapi

import (
	"context"
	"time"

	"provisio/core"
)

// Version is the path prefix of every request of this version of the API.
const Version = "/v1"

// SocketName is the file name of the admin socket in the data directory.
const SocketName = "admin.sock"

// API is what the command line (and later the console) calls, written
// once for both the in-process service and a running server.
type API interface {
	// Users lists the users, sorted by name, without deleted ones.
	Users() ([]User, error)
	// AddUser creates a user; PIN is optional.
	AddUser(u NewUser) (User, error)
	// DeleteUser removes a user, their device and strings.
	DeleteUser(name string) error
	// Reprovision issues a new provision code; with mail it is also
	// queued for mail to the user. The plain code is returned only here.
	Reprovision(name string, mail bool) (Issued, error)
	// Settings lists every setting with its value (secrets masked).
	Settings() ([]Setting, error)
	// Setting returns one setting.
	Setting(key string) (Setting, error)
	// SetSetting changes one setting and returns it as now stored.
	SetSetting(key, value string) (Setting, error)
	// Agents lists the agents with their resolved addresses.
	Agents() ([]Agent, error)
	// PutAgent adds or replaces an agent.
	PutAgent(a NewAgent) (Agent, error)
	// DeleteAgent removes an agent.
	DeleteAgent(name string) error
	// Events streams core events until ctx ends; the channel closes then.
	Events(ctx context.Context) (<-chan Event, error)
}

// User is a user as lists show it: never the PIN, device id or strings.
type User struct {
	Name          string     `json:"name"`
	FullName      string     `json:"full_name,omitempty"`
	Email         string     `json:"email,omitempty"`
	Mobile        string     `json:"mobile,omitempty"`
	Group         string     `json:"group,omitempty"`
	MobileAllowed bool       `json:"mobile_allowed"`
	Disabled      bool       `json:"disabled"`
	Locked        bool       `json:"locked"`
	LockText      string     `json:"lock_text,omitempty"`
	DeviceOS      string     `json:"device_os,omitempty"`
	ProvisionedAt *time.Time `json:"provisioned_at,omitempty"`
	// PendingUntil is when the user's unused provision code expires.
	PendingUntil *time.Time `json:"pending_until,omitempty"`
}

// NewUser is the request to add a user.
type NewUser struct {
	Name     string `json:"name"`
	FullName string `json:"full_name,omitempty"`
	Email    string `json:"email,omitempty"`
	Mobile   string `json:"mobile,omitempty"`
	Group    string `json:"group,omitempty"`
	// PIN is optional; it is never logged nor echoed back.
	PIN string `json:"pin,omitempty"`
}

// Issued is a provision code just created: the only copy of the plain
// code, for the one caller that asked.
type Issued struct {
	User    string    `json:"user"`
	Code    string    `json:"code"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
	// MailID is the outbox message carrying the code, when mailed.
	MailID uint64 `json:"mail_id,omitempty"`
}

// Setting is one setting: its dotted key, its value as text ("********"
// for a secret that is set) and its help sentence.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Help  string `json:"help,omitempty"`
}

// Agent is an agent as lists show it: never its secret.
type Agent struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Group      string `json:"group"`
	Repository bool   `json:"repository"`
	Helpdesk   bool   `json:"helpdesk"`
	Rights     string `json:"rights"`
	// Addresses are the ranges the agent is accepted from now; empty
	// when its host name does not resolve.
	Addresses []string `json:"addresses"`
}

// NewAgent is the request to add or replace an agent.
type NewAgent struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Secret     string `json:"secret"`
	Group      string `json:"group,omitempty"`
	Repository bool   `json:"repository,omitempty"`
	Helpdesk   bool   `json:"helpdesk,omitempty"`
}

// Event is a core event as the stream carries it. It never holds a
// secret: a new provision code's event says only that one was made.
type Event struct {
	Kind     string    `json:"kind"`
	User     string    `json:"user,omitempty"`
	DeviceOS string    `json:"device_os,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	Log      *LogEntry `json:"log,omitempty"`
}

// LogEntry is an audit log line.
type LogEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	User    string    `json:"user,omitempty"`
	Message string    `json:"message"`
}

// Event kinds on the stream, one per core.EventKind.
var eventKinds = map[core.EventKind]string{
	core.EventLog:             "log",
	core.EventUsersChanged:    "users_changed",
	core.EventCodeCreated:     "code_created",
	core.EventProvisioned:     "provisioned",
	core.EventProvisionFailed: "provision_failed",
	core.EventConfigChanged:   "config_changed",
	core.EventOutboxChanged:   "outbox_changed",
	core.EventHealth:          "health",
}

// fromCoreEvent drops everything secret: Issued is never copied.
func fromCoreEvent(e core.Event) Event {
	out := Event{Kind: eventKinds[e.Kind], User: e.User, DeviceOS: e.DeviceOS, Reason: e.Reason, At: e.At}
	if out.Kind == "" {
		out.Kind = "other"
	}
	if e.Kind == core.EventLog {
		out.Log = &LogEntry{Seq: e.Log.Seq, Time: e.Log.Time, Level: string(e.Log.Level), User: e.Log.User, Message: e.Log.Message}
	}
	return out
}
