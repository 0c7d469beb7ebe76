package core

import "strings"

// SecretHasher is implemented by a store that keeps device Ids and agent
// secrets only as keyed hashes (issue #13): HashSecret returns the stored
// form of a presented value for purpose ("device" or "agent"), to compare
// with the stored one. A presented value that looks like a stored hash is
// hashed like any other, so a hash read from a copy of the data never
// works as the secret it stands for.
type SecretHasher interface {
	HashSecret(purpose, value string) string
}

// Purposes of SecretHasher.HashSecret.
const (
	SecretDevice = "device"
	SecretAgent  = "agent"
	// SecretCode is a code's hash (HashCode, pinResetHash,
	// hashPairingCode), keyed once more: a code is short, so its plain
	// hash, read from a copy of the data, gives it away to anyone who
	// hashes every possible code (seconds for a 10-digit one), while it
	// still works.
	SecretCode = "code"
)

// hashedSecretPrefix starts a stored keyed hash (core/store/crypt.go).
const hashedSecretPrefix = "h1:"

// IsHashedSecret reports whether v is a keyed hash as a store keeps it,
// not a secret a person could type back in.
func IsHashedSecret(v string) bool { return strings.HasPrefix(v, hashedSecretPrefix) }

// secretMatches compares a stored secret with a presented one in constant
// time, hashing the presented one when the store keeps only a hash.
func (s *Service) secretMatches(purpose, stored, presented string) bool {
	// A stored value that is not a keyed hash is compared as it is: a
	// plain store's, or a code made before codes were keyed, which keeps
	// working until it expires.
	if s.hasher != nil && IsHashedSecret(stored) {
		presented = s.hasher.HashSecret(purpose, presented)
	}
	return equalConstantTime(stored, presented)
}

// storedCodeHash is the form in which a code's hash (HashCode,
// pinResetHash, hashPairingCode) is stored: keyed with the store's hash
// key when it keeps one (SecretCode).
func (s *Service) storedCodeHash(plain string) string {
	if s.hasher == nil {
		return plain
	}
	return s.hasher.HashSecret(SecretCode, plain)
}

// codeMatches reports in constant time whether a stored code hash is that
// of plain, the hash of the code presented.
func (s *Service) codeMatches(stored, plain string) bool {
	return s.secretMatches(SecretCode, stored, plain)
}

// provisionCodeMatches reports whether code is user name's provision code
// pc (ProvisionCode.Matches, on the stored form).
func (s *Service) provisionCodeMatches(pc ProvisionCode, name, code string) bool {
	return s.codeMatches(pc.Hash, HashCode(name, code))
}
