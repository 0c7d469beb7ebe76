package core

import "fmt"

// ActorKind says who asks for a use case. The rules are the same for
// every actor; the kind decides only what the actor may learn (an
// anonymous phone is told less than an agent) and what the log and the
// event stream say about the change.
type ActorKind string

// The actors of #12.
const (
	// ActorConsole is the desktop console in the process that holds the
	// data directory.
	ActorConsole ActorKind = "console"
	// ActorOperator is a person at the command line, or a console
	// attached through the admin API.
	ActorOperator ActorKind = "operator"
	// ActorAgent is an AgentXML agent: authentication and admin requests.
	ActorAgent ActorKind = "agent"
	// ActorHelpdesk is an agent's HelpdeskRequest.
	ActorHelpdesk ActorKind = "helpdesk"
	// ActorPhone is the mobile client or the web pages a phone opens,
	// with no secret but a code or a device Id.
	ActorPhone ActorKind = "phone"
	// ActorServer is the server's own background work that no one asked
	// for at the time: the log trim, scheduled backups, token expiry,
	// mail delivery, the refused-request summary.
	ActorServer ActorKind = "server"
)

// Actor is who asks for a use case: a kind and a name (the agent's name,
// the operator's description, a phone's source address).
type Actor struct {
	Kind ActorKind `json:"kind"`
	Name string    `json:"name,omitempty"`
}

// ConsoleActor is the desktop console; NewService's Service acts for it.
var ConsoleActor = Actor{Kind: ActorConsole}

// ServerActor is the server's own background work.
var ServerActor = Actor{Kind: ActorServer}

// CommandLine describes the operator of a command run on the data
// directory itself, not attached to a server.
const CommandLine = "the command line"

// WithActor makes NewService's Service act for a instead of the console:
// the command line's, or the server's when no console runs (serve).
func WithActor(a Actor) Option { return func(s *Service) { s.actor = a } }

// OperatorActor is a person at the command line or an attached console,
// described for the log, e.g. "the command line on this machine (uid 1000)".
func OperatorActor(who string) Actor { return Actor{Kind: ActorOperator, Name: who} }

// RemoteConsoleOperator describes a remote console for the log, e.g.
// `console "desk-2" (helpdesk) at 192.0.2.7`: its name, role and address.
func RemoteConsoleOperator(name string, role Role, source string) string {
	return fmt.Sprintf("console %q (%s) at %s", name, role, source)
}

// AgentActor is an AgentXML agent.
func AgentActor(a Agent) Actor { return Actor{Kind: ActorAgent, Name: a.Name} }

// PhoneActor is a phone or a browser, named by its source address.
func PhoneActor(source string) Actor { return Actor{Kind: ActorPhone, Name: source} }

// scopeActor is the actor of an admin-API request of scope sc.
func scopeActor(sc Scope) Actor {
	if sc.Helpdesk {
		return Actor{Kind: ActorHelpdesk, Name: sc.Agent}
	}
	return Actor{Kind: ActorAgent, Name: sc.Agent}
}

// String describes the actor for people: "the console", `agent "vpn"`.
// It is what the audit log's Actor holds, made on every logged login, so
// an agent's description is one concatenation (one allocation).
func (a Actor) String() string {
	switch a.Kind {
	case ActorConsole:
		return "the console"
	case ActorOperator:
		if a.Name != "" {
			return a.Name
		}
		return "an operator"
	case ActorAgent:
		return `agent "` + clean(a.Name) + `"`
	case ActorHelpdesk:
		return `helpdesk agent "` + clean(a.Name) + `"`
	case ActorPhone:
		if a.Name != "" {
			return "a phone at " + clean(a.Name)
		}
		return "a phone"
	}
	return "the server"
}

// As returns a Service over the same store, settings and event bus that
// acts for a: its events carry a as their Origin. The console's Service
// is NewService's; the command line and the admin API's server use
// As(OperatorActor(...)); the AgentXML and web adapters act for agents and
// phones through the use cases that take an Agent or a source address.
func (s *Service) As(a Actor) *Service {
	if a == s.actor {
		return s
	}
	return &Service{serviceState: s.serviceState, actor: a}
}

// Actor is who this Service acts for.
func (s *Service) Actor() Actor { return s.actor }
