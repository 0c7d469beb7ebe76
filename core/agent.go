package core

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// GroupAny lets every user authenticate through an agent.
const GroupAny = "ANY"

// Agent is a program (VPN, web app, RADIUS bridge, script) allowed to call
// the AgentXML API from a host or address range with a shared secret.
type Agent struct {
	Name   string `json:"name"`
	Host   string `json:"host"`   // an IP address, a CIDR range or a host name
	Secret string `json:"secret"` // never logged
	Group  string `json:"group"`  // GroupAny or a group name
	// Rights. Every agent may authenticate (login and the other
	// authentication actions). Repository is the admin right: AdminXML
	// AdminRequests in its own repository. Helpdesk allows
	// HelpdeskRequests. Agents saved before rights existed have neither.
	Repository bool `json:"repository"`
	Helpdesk   bool `json:"helpdesk,omitempty"`
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
func ValidateAgent(a *Agent) error { return validateAgent(a, true) }

// validateAgent is ValidateAgent, checking the secret only when secret.
func validateAgent(a *Agent, secret bool) error {
	a.Name = strings.TrimSpace(a.Name)
	a.Host = strings.TrimSpace(a.Host)
	a.Group = strings.TrimSpace(a.Group)
	if a.Name == "" {
		return FieldError("name", "Enter a name for the agent.")
	}
	if _, err := ParseAgentHost(a.Host); err != nil {
		if agentHostName(a.Host) == "" {
			return FieldError("host", "%q is not an IP address (192.168.1.10), a range (192.168.1.0/24) or a host name (vpn.office.lan).", a.Host)
		}
	}
	if secret && len(a.Secret) < 8 {
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
// The secret is compared in constant time. A host name never matches
// here: AuthorizeAgent uses the addresses it resolved to.
func (a Agent) Allows(addr netip.Addr, secret string) bool {
	p, err := ParseAgentHost(a.Host)
	if err != nil {
		return false
	}
	return allows([]netip.Prefix{p}, a.Secret, addr, secret)
}

func allows(prefixes []netip.Prefix, want string, addr netip.Addr, secret string) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return equalConstantTime(want, secret)
		}
	}
	return false
}

// Rights lists the agent's rights as the console and CLI show them.
func (a Agent) Rights() string {
	r := "authenticate"
	if a.Helpdesk {
		r += ", helpdesk"
	}
	if a.Repository {
		r += ", admin"
	}
	return r
}

// agentHostName returns h in lower case when it is a host name rather
// than an address or range, and "" otherwise.
func agentHostName(h string) string {
	h = strings.TrimSuffix(h, ".")
	if _, err := ParseAgentHost(h); err == nil || h == "" || len(h) > 253 || validateHost(h) != nil {
		return ""
	}
	// A name never ends in an all-numeric label (RFC 3696): 10.0.0.300
	// is a mistyped address, not a host.
	last := h[strings.LastIndexByte(h, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return ""
	}
	return strings.ToLower(h)
}

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// WithResolver sets how agent host names are resolved (tests use a fixed
// table).
func WithResolver(r Resolver) Option { return func(s *Service) { s.resolver = r } }

func systemResolver(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// resolveTimeout bounds one round of agent host name lookups, so a dead
// DNS server delays start-up by seconds, not minutes.
const resolveTimeout = 3 * time.Second

// resolveAgents returns the ranges each agent accepts, by name: its
// address or range, or the addresses its host name resolves to now. A
// name that does not resolve accepts nothing until the next resolution.
func (s *Service) resolveAgents(agents []Agent) map[string][]netip.Prefix {
	out := make(map[string][]netip.Prefix, len(agents))
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range agents {
		if p, err := ParseAgentHost(a.Host); err == nil {
			mu.Lock() // lookups started earlier in the loop write too
			out[a.Name] = []netip.Prefix{p}
			mu.Unlock()
			continue
		}
		name := agentHostName(a.Host)
		if name == "" {
			continue
		}
		wg.Add(1)
		go func(agent, host string) {
			defer wg.Done()
			addrs, _ := s.resolver(ctx, host)
			var ps []netip.Prefix
			seen := map[netip.Addr]bool{}
			for _, ad := range addrs {
				ad = ad.Unmap()
				if !seen[ad] {
					seen[ad] = true
					ps = append(ps, netip.PrefixFrom(ad, ad.BitLen()))
				}
			}
			mu.Lock()
			out[agent] = ps
			mu.Unlock()
		}(a.Name, name)
	}
	wg.Wait()
	return out
}

// AgentAddresses returns the addresses or ranges an agent is accepted
// from: its own when it is named by address, else what its host name
// resolved to at start or at its last change (none when it did not
// resolve).
func (s *Service) AgentAddresses(name string) []netip.Prefix {
	return s.config.Load().agentAddrs[name]
}

// ResolveAgents looks the agents' host names up again, for a network
// whose addresses changed while Provisio runs. No lock is held while it
// waits for DNS, so saves go on meanwhile.
func (s *Service) ResolveAgents() {
	cfg := s.config.Load()
	s.resolveAgentsFor(cfg.agentsGen, cfg.Agents)
}

// putAgentsLocked puts agents into the snapshot in place of the list it
// holds, as a new generation, which it returns. Until its host names are
// looked up (resolveAgentsFor), each agent keeps the addresses the
// snapshot had for it when its host is unchanged; one given by address
// or range has it at once, and a new host name has none yet. The caller
// holds cfgMu.
func (s *Service) putAgentsLocked(agents []Agent) uint64 {
	cfg := *s.config.Load()
	old := make(map[string]string, len(cfg.Agents))
	for _, a := range cfg.Agents {
		old[a.Name] = a.Host
	}
	addrs := make(map[string][]netip.Prefix, len(agents))
	for _, a := range agents {
		if p, err := ParseAgentHost(a.Host); err == nil {
			addrs[a.Name] = []netip.Prefix{p}
		} else if h, ok := old[a.Name]; ok && h == a.Host {
			addrs[a.Name] = cfg.agentAddrs[a.Name]
		}
	}
	cfg.Agents, cfg.agentAddrs = agents, addrs
	cfg.agentsGen++
	s.config.Store(&cfg)
	return cfg.agentsGen
}

// resolveAgentsFor looks up the host names of agents, generation gen of
// the snapshot's agent list, with no lock held, and puts the addresses
// into the snapshot only while gen is still its list and no lookup that
// started later has been applied: a lookup that outlasts a later save or
// reload never puts back the addresses of an older list.
func (s *Service) resolveAgentsFor(gen uint64, agents []Agent) {
	lookup := s.lookups.Add(1)
	addrs := s.resolveAgents(agents)
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	cfg := *s.config.Load()
	if cfg.agentsGen != gen || cfg.addrsLookup > lookup {
		return
	}
	cfg.agentAddrs, cfg.addrsLookup = addrs, lookup
	s.config.Store(&cfg)
}

// Admits reports whether user may authenticate through this agent.
func (a Agent) Admits(u User) bool {
	return a.Group == "" || a.Group == GroupAny || strings.EqualFold(a.Group, u.Group)
}

// secretAlphabet leaves out characters that are easy to confuse when a
// secret is read off a screen into an agent's configuration.
const secretAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// NewAgentSecret returns a random shared secret for an agent: 24
// characters, about 138 bits.
func NewAgentSecret() string {
	return randomString(secretAlphabet, 24)
}

// agentUser reads an active user the agent may act for.
func agentUser(tx Tx, agent Agent, name string) (User, error) {
	u, err := findUser(tx, name)
	if err != nil {
		return User{}, err
	}
	if !agent.Admits(u) {
		return User{}, Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
	}
	return u, nil
}
