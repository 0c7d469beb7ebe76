package core

import (
	"net/netip"
	"strings"
)

// GroupAny lets every user authenticate through an agent.
const GroupAny = "ANY"

// Agent is a program (VPN, web app, RADIUS bridge, script) allowed to call
// the AgentXML API from a host or address range with a shared secret.
type Agent struct {
	Name       string `json:"name"`
	Host       string `json:"host"`   // an IP address or a CIDR range
	Secret     string `json:"secret"` // never logged
	Group      string `json:"group"`  // GroupAny or a group name
	Repository bool   `json:"repository"`
	// Modes are the authentication modes the agent may use, from
	// AgentModes. Empty (agents saved before modes existed) means mobile.
	Modes []string `json:"modes,omitempty"`
}

// Authentication modes an agent may use.
const (
	AgentModeMobile = "mobile" // one-time codes from the mobile client
	AgentModeDual   = "dual"   // dual channel: a security string sent to the user
)

// AgentModes lists the modes in the order the console shows them.
var AgentModes = []string{AgentModeMobile, AgentModeDual}

// AllowsMode reports whether the agent may authenticate with mode.
func (a Agent) AllowsMode(mode string) bool {
	if len(a.Modes) == 0 {
		return mode == AgentModeMobile
	}
	for _, m := range a.Modes {
		if m == mode {
			return true
		}
	}
	return false
}

// ValidateAgent checks and normalises an agent in place.
func ValidateAgent(a *Agent) error {
	a.Name = strings.TrimSpace(a.Name)
	a.Host = strings.TrimSpace(a.Host)
	a.Group = strings.TrimSpace(a.Group)
	if a.Name == "" {
		return FieldError("name", "Enter a name for the agent.")
	}
	if _, err := ParseAgentHost(a.Host); err != nil {
		return err
	}
	if len(a.Secret) < 8 {
		return FieldError("secret", "The shared secret needs at least 8 characters.")
	}
	if a.Group == "" || strings.EqualFold(a.Group, GroupAny) {
		a.Group = GroupAny
	}
	// Known modes only, each once, in AgentModes order.
	var modes []string
	for _, known := range AgentModes {
		for _, m := range a.Modes {
			if strings.EqualFold(strings.TrimSpace(m), known) {
				modes = append(modes, known)
				break
			}
		}
	}
	for _, m := range a.Modes {
		if m = strings.ToLower(strings.TrimSpace(m)); m != AgentModeMobile && m != AgentModeDual {
			return FieldError("modes", "%q is not an authentication mode; use mobile or dual.", m)
		}
	}
	a.Modes = modes
	return nil
}

// ParseAgentHost reads an agent's host as a prefix: a single address is a
// /32 (or /128) range.
func ParseAgentHost(h string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(h); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, FieldError("host", "%q is not an IP address (192.168.1.10) or range (192.168.1.0/24).", h)
}

// Allows reports whether the agent accepts requests from addr with secret.
// The secret is compared in constant time.
func (a Agent) Allows(addr netip.Addr, secret string) bool {
	p, err := ParseAgentHost(a.Host)
	if err != nil {
		return false
	}
	return p.Contains(addr.Unmap()) && equalConstantTime(a.Secret, secret)
}

// Admits reports whether user may authenticate through this agent.
func (a Agent) Admits(u User) bool {
	return a.Group == "" || a.Group == GroupAny || strings.EqualFold(a.Group, u.Group)
}
