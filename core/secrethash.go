package core

import "strings"

// SecretHasher is implemented by a store that keeps device Ids and agent
// secrets only as keyed hashes (issue #13): HashSecret returns the stored
// form of value for purpose ("device" or "agent"), to compare with the
// stored one. A value already in stored form is returned unchanged.
type SecretHasher interface {
	HashSecret(purpose, value string) string
}

// Purposes of SecretHasher.HashSecret.
const (
	SecretDevice = "device"
	SecretAgent  = "agent"
)

// hashedSecretPrefix starts a stored keyed hash (core/store/crypt.go).
const hashedSecretPrefix = "h1:"

// IsHashedSecret reports whether v is a keyed hash as a store keeps it,
// not a secret a person could type back in.
func IsHashedSecret(v string) bool { return strings.HasPrefix(v, hashedSecretPrefix) }

// secretMatches compares a stored secret with a presented one in constant
// time, hashing the presented one when the store keeps only a hash.
func (s *Service) secretMatches(purpose, stored, presented string) bool {
	if s.hasher != nil && IsHashedSecret(stored) {
		presented = s.hasher.HashSecret(purpose, presented)
	}
	return equalConstantTime(stored, presented)
}
