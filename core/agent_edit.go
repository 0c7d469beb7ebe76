package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AgentChange is an edit of an agent: only the fields present change, on
// the agent as stored when the save's transaction runs, so a field
// another console or server saved meanwhile stays (docs/decisions.md,
// "Two consoles editing the same record"). It is the body of the admin
// API's PATCH /v1/agents/{name}.
type AgentChange struct {
	Host *string `json:"host,omitempty"`
	// Secret, when present and not empty, replaces the shared secret;
	// absent or empty keeps the stored one, which a console never holds.
	// Never echoed or logged.
	Secret     *string   `json:"secret,omitempty"`
	Group      *string   `json:"group,omitempty"`
	Modes      *[]string `json:"modes,omitempty"`
	Repository *bool     `json:"repository,omitempty"`
	Helpdesk   *bool     `json:"helpdesk,omitempty"`
}

// newSecret reports whether c replaces the secret.
func (c AgentChange) newSecret() bool { return c.Secret != nil && *c.Secret != "" }

// Apply makes the change to a.
func (c AgentChange) Apply(a *Agent) {
	if c.Host != nil {
		a.Host = *c.Host
	}
	if c.newSecret() {
		a.Secret = *c.Secret
	}
	if c.Group != nil {
		a.Group = *c.Group
	}
	if c.Modes != nil {
		a.Modes = slices.Clone(*c.Modes)
	}
	if c.Repository != nil {
		a.Repository = *c.Repository
	}
	if c.Helpdesk != nil {
		a.Helpdesk = *c.Helpdesk
	}
}

// Fields names what the change touches, for the log (never a value).
func (c AgentChange) Fields() string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{c.Host != nil, "host"}, {c.newSecret(), "secret"}, {c.Group != nil, "group"},
		{c.Modes != nil, "modes"}, {c.Repository != nil, "repository right"}, {c.Helpdesk != nil, "helpdesk right"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "nothing"
	}
	return strings.Join(f, ", ")
}

// ChangeAgent makes the change c to the agent called name as stored when
// the save's transaction runs, checked there on the agent as it will be:
// the fields c leaves out keep what another console or server saved
// meanwhile, and a field both changed takes this later save. An agent
// deleted meanwhile is not put back: the answer is CodeNotFound.
func (s *Service) ChangeAgent(name string, c AgentChange) error {
	if c.newSecret() && IsHashedSecret(*c.Secret) {
		// It would be stored as it is and never match what the agent sends.
		return FieldError("secret", "A shared secret cannot start with %q, which marks a stored hash; generate one or choose another.", hashedSecretPrefix)
	}
	return s.changeAgents(func(tx Tx, log *logger) error {
		a, err := tx.Agent(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no agent %q.", name)
		} else if err != nil {
			return err
		}
		old := a
		c.Apply(&a)
		if err := validateAgent(&a, c.newSecret()); err != nil {
			return err
		}
		if c.newSecret() {
			if err := s.secretFree(tx, a.Name, a.Secret); err != nil {
				return err
			}
		}
		if err := tx.PutAgent(a); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Agent %q saved (host %s, group %s, rights: %s); changed: %s.", a.Name, a.Host, a.Group, a.Rights(), describeAgentChanges(old, a, c.newSecret()))
	})
}

// describeAgentChanges says what a save changed in an agent for the audit
// log: each field with its old and new value (host, group, modes, the
// rights), as a user's or a setting's change is logged, and the secret by
// name only; "nothing" when the save changed nothing.
func describeAgentChanges(old, a Agent, newSecret bool) string {
	var ch []string
	value := func(from, to, name string) {
		if from != to {
			ch = append(ch, fmt.Sprintf("%s %s → %s", name, quoteEmpty(from), quoteEmpty(to)))
		}
	}
	value(old.Host, a.Host, "host")
	if newSecret {
		ch = append(ch, "secret")
	}
	value(old.Group, a.Group, "group")
	value(agentModesText(old), agentModesText(a), "modes")
	value(yesNo(old.Repository), yesNo(a.Repository), "repository right")
	value(yesNo(old.Helpdesk), yesNo(a.Helpdesk), "helpdesk right")
	if len(ch) == 0 {
		return "nothing"
	}
	return strings.Join(ch, ", ")
}

// agentModesText is the modes an agent allows, for the log: "mobile+dual".
func agentModesText(a Agent) string {
	var m []string
	for _, mode := range AgentModes {
		if a.AllowsMode(mode) {
			m = append(m, mode)
		}
	}
	return strings.Join(m, "+")
}
