package core

import (
	"fmt"
	"sort"
	"strings"
)

// Agents that share a shared secret. secretFree refuses a secret another
// agent has, but agents saved before that rule may share one: they keep
// working (refusing them would stop a VPN's logins without warning), and
// the admin is told which they are on the Agents screen and by
// 'provisio check', to give each its own.

// AgentsSharingSecrets returns the names of the agents that share a
// shared secret, one group (sorted, two or more names) per secret, the
// groups in the order of their first name. Secrets are compared as
// secretFree compares them, through the store's keyed hash on a sealed
// store; no secret leaves this function.
func (s *Service) AgentsSharingSecrets() [][]string {
	agents := s.Agents()
	names, secrets := make([]string, len(agents)), make([]string, len(agents))
	for i, a := range agents {
		names[i], secrets[i] = a.Name, a.Secret
	}
	return groupShared(names, secrets, s.sameStoredSecret)
}

// sameStoredSecret reports whether two agents' stored secrets are one
// secret. A sealed store keeps each as its keyed hash, equal exactly when
// the secrets are; a value stored as typed (a plain store) is hashed
// first when the other is a hash, as secretMatches does.
func (s *Service) sameStoredSecret(a, b string) bool {
	if IsHashedSecret(a) && !IsHashedSecret(b) {
		return s.secretMatches(SecretAgent, a, b)
	}
	if IsHashedSecret(b) && !IsHashedSecret(a) {
		return s.secretMatches(SecretAgent, b, a)
	}
	return equalConstantTime(a, b)
}

// SharedStoredSecrets groups agents whose stored secrets, as read from
// the records without the data key ('provisio check'), are equal: on a
// sealed store, keyed hashes under one key, so equal exactly when the
// secrets are. names and secrets are parallel.
func SharedStoredSecrets(names, secrets []string) [][]string {
	return groupShared(names, secrets, equalConstantTime)
}

func groupShared(names, secrets []string, same func(a, b string) bool) [][]string {
	grouped := make([]bool, len(names))
	var out [][]string
	for i := range names {
		if grouped[i] || secrets[i] == "" {
			continue
		}
		g := []string{names[i]}
		for j := i + 1; j < len(names); j++ {
			if !grouped[j] && secrets[j] != "" && same(secrets[i], secrets[j]) {
				grouped[j] = true
				g = append(g, names[j])
			}
		}
		if len(g) > 1 {
			sort.Strings(g)
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// SharedSecretsSentence tells the admin which agents share a shared
// secret and what to do; "" when none do.
func SharedSecretsSentence(groups [][]string) string {
	if len(groups) == 0 {
		return ""
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = quotedList(g)
	}
	what := "Agents " + parts[0] + " have the same shared secret"
	for _, p := range parts[1:] {
		what += ", and so do " + p
	}
	return what + ", saved before each agent needed its own: a request with it may act as any of them. Give each its own shared secret (in the console: Agents, Edit, Generate; or provisio agent add NAME again with --secret -) and set the new one in that agent's program."
}

// quotedList is names quoted and joined: "a", "b" and "c".
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
