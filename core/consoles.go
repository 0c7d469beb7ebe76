package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Remote consoles (#12): a console on another machine reaches the admin
// API over HTTPS with mutual TLS. It is paired once with a one-time code;
// from then on its client certificate says which paired console it is,
// and the console's role says what it may do. The record of every paired
// console is read on every request, so a revoke takes effect at once.

// Role is what a paired console may do.
type Role string

// Roles of paired consoles.
const (
	// RoleHelpdesk may find and list users, reprovision, unlock, reset a
	// PIN and revoke a device: what a helpdesk desk needs, and nothing
	// that changes the server or adds and removes people.
	RoleHelpdesk Role = "helpdesk"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// ParseRole reads a role as typed; "" is helpdesk, the smaller one.
func ParseRole(s string) (Role, error) {
	switch Role(strings.ToLower(strings.TrimSpace(s))) {
	case "", RoleHelpdesk:
		return RoleHelpdesk, nil
	case RoleAdmin:
		return RoleAdmin, nil
	}
	return "", &Error{Code: CodeInvalid, Field: "role", Message: fmt.Sprintf("%q is not a role; choose helpdesk or admin.", s)}
}

// AdminAction names one use case of the admin API, for the role check.
type AdminAction string

// Admin API actions. Those a helpdesk console may do are in helpdeskMay.
const (
	ActListUsers      AdminAction = "users.list"
	ActAddUser        AdminAction = "users.add"
	ActDeleteUser     AdminAction = "users.delete"
	ActReprovision    AdminAction = "users.reprovision"
	ActUnlock         AdminAction = "users.unlock"
	ActResetPIN       AdminAction = "users.reset_pin"
	ActRevokeDevice   AdminAction = "users.revoke_device"
	ActReadSettings   AdminAction = "settings.read"
	ActWriteSettings  AdminAction = "settings.write"
	ActReadAgents     AdminAction = "agents.read"
	ActWriteAgents    AdminAction = "agents.write"
	ActEvents         AdminAction = "events"
	ActMe             AdminAction = "me"
	ActConsoles       AdminAction = "consoles"
	ActBackup         AdminAction = "backup"
	ActReadClientLog  AdminAction = "users.client_log.read"
	ActClearClientLog AdminAction = "users.client_log.clear"
	ActReadProfiles   AdminAction = "profiles.read"
	ActAssignProfile  AdminAction = "users.assign_profile"
	// The full console's (adminops_console.go); all admin-only.
	ActEditUser      AdminAction = "users.edit"
	ActImportUsers   AdminAction = "users.import"
	ActWriteProfiles AdminAction = "profiles.write"
	ActReadOutbox    AdminAction = "outbox.read"
	ActWriteOutbox   AdminAction = "outbox.write"
	ActReadLog       AdminAction = "log.read"
	ActWriteLog      AdminAction = "log.write"
	ActHealth        AdminAction = "health"
	ActMailTest      AdminAction = "mail.test"
)

// helpdeskMay is everything a helpdesk console may do. The event stream
// is read-only and the helpdesk's window needs it to show changes live.
var helpdeskMay = map[AdminAction]bool{
	ActListUsers: true, ActReprovision: true, ActUnlock: true, ActResetPIN: true,
	ActRevokeDevice: true, ActEvents: true, ActMe: true,
	// A phone's diagnostic log is what a helpdesk reads when a phone
	// misbehaves (#14); clearing it is an administrator's call.
	ActReadClientLog: true,
	// The seed's "a helpdesk person can assign a profile" (#14): the
	// helpdesk reads the profiles and gives a user one; editing them
	// stays with administrators.
	ActReadProfiles: true, ActAssignProfile: true,
}

// Allows reports whether the role may do a; an unknown role may do
// nothing.
func (r Role) Allows(a AdminAction) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleHelpdesk:
		return helpdeskMay[a]
	}
	return false
}

// Error codes of the remote admin API's refusals.
const (
	// CodeForbidden: the caller is known but its role may not do this.
	CodeForbidden Code = "forbidden"
	// CodeNotPaired: the caller's certificate is not a paired console's,
	// or that console was revoked.
	CodeNotPaired Code = "not_paired"
)

// Console is a paired console, or one waiting to be paired, as stored.
type Console struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// CodeHash is the hash of the pending pairing code (never the code);
	// empty once paired or revoked.
	CodeHash    string    `json:"code_hash,omitempty"`
	CodeExpires time.Time `json:"code_expires,omitempty"`
	Created     time.Time `json:"created"`
	// Serial is the client certificate's serial (upper-case hex) and
	// Fingerprint its SHA-256, once paired.
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	PairedAt    time.Time `json:"paired_at,omitempty"`
	Revoked     bool      `json:"revoked,omitempty"`
	RevokedAt   time.Time `json:"revoked_at,omitempty"`
}

// State is the console's state in a word: pending, paired or revoked.
func (c Console) State() string {
	switch {
	case c.Revoked:
		return "revoked"
	case c.Serial != "":
		return "paired"
	}
	return "pending"
}

// StateAt is State as of now: a pending code past its expiry is
// "expired".
func (c Console) StateAt(now time.Time) string {
	st := c.State()
	if st == "pending" && !now.Before(c.CodeExpires) {
		return "expired"
	}
	return st
}

// ConsolePairing is a pairing code just made: the only copy of the code.
type ConsolePairing struct {
	Name    string
	Role    Role
	Code    string
	Expires time.Time
}

// PairingValidity is how long a pairing code works.
const PairingValidity = 10 * time.Minute

// pairingCodeLen is the pairing code's length in symbols of alnumAlphabet
// (31 symbols): 12 of them are about 59 bits, shown as three groups of 4.
const pairingCodeLen = 12

// newPairingCode returns a random pairing code.
func newPairingCode() string { return randomString(alnumAlphabet, pairingCodeLen) }

// GroupPairingCode shows a code as XXXX-XXXX-XXXX, easier to read out;
// typing it is forgiving of dashes, spaces and case.
func GroupPairingCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hashPairingCode is the stored form of a pairing code. The code is
// found by its hash among the pending ones (nobody types the console's
// name with it), so the hash is not bound to a name.
func hashPairingCode(code string) string {
	sum := sha256.Sum256([]byte("provisio console pairing\x00" + normalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// validateConsoleName accepts 1-64 printable characters.
func validateConsoleName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 64 {
		return FieldError("name", "A console name is 1 to 64 characters, e.g. helpdesk-2.")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return FieldError("name", "A console name may not hold control characters.")
		}
	}
	return nil
}

// PairConsole makes a one-time pairing code for a console called name
// with role: valid PairingValidity, stored hashed, used once. A name that
// is paired and not revoked is refused (revoke it first); a pending or
// revoked one is replaced, and its old code stops working.
func (s *Service) PairConsole(name string, role Role) (ConsolePairing, error) {
	name = strings.TrimSpace(name)
	if err := validateConsoleName(name); err != nil {
		return ConsolePairing{}, err
	}
	if role != RoleAdmin && role != RoleHelpdesk {
		return ConsolePairing{}, FieldError("role", "The role is helpdesk or admin.")
	}
	code := newPairingCode()
	now := s.clock.Now()
	out := ConsolePairing{Name: name, Role: role, Code: code, Expires: now.Add(PairingValidity)}
	err := s.update(false, func(tx Tx, log *logger) error {
		old, err := tx.Console(name)
		switch {
		case err == nil && old.State() == "paired":
			return Errorf(CodeConflict, "A console called %q is already paired; revoke it first (provisio console revoke %s) or choose another name.", old.Name, old.Name)
		case err != nil && ErrorCode(err) != CodeNotFound:
			return err
		}
		c := Console{Name: name, Role: role, CodeHash: s.storedCodeHash(hashPairingCode(code)), CodeExpires: out.Expires.UTC(), Created: now.UTC()}
		if err := tx.PutConsole(c); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Pairing code made for console %q (role %s), valid until %s.", name, role, out.Expires.UTC().Format("15:04 UTC"))
	})
	if err != nil {
		return ConsolePairing{}, err
	}
	return out, nil
}

// ErrPairingCode refuses a pairing code that is wrong, used or expired:
// one answer for all three, so a guesser learns nothing.
var ErrPairingCode = &Error{Code: CodeNotPaired, Message: "The pairing code is wrong, was used already or has expired; make a new one on the server (provisio console pair NAME)."}

// ConsoleCert is a signed client certificate for a console being paired.
type ConsoleCert struct {
	PEM         []byte
	Serial      string
	Fingerprint string
}

// RedeemConsolePairing pairs the console whose pending code is code: sign
// (the caller's console CA) makes its client certificate, and the
// console's record takes the certificate's serial and fingerprint. The
// code is spent in the transaction that records the certificate, after
// checking it is still the pending one, so two requests with one code
// pair at most once. A wrong, used or expired code is ErrPairingCode and
// writes nothing: the caller counts it with Refuse. source is the
// console's address: the pairing's log line names the console pairing
// (RemoteConsoleOperator), as each of its later lines does.
func (s *Service) RedeemConsolePairing(source, code string, sign func(name string) (ConsoleCert, error)) (Console, ConsoleCert, error) {
	want := hashPairingCode(code)
	pending := func(tx Tx) (Console, error) {
		all, err := tx.Consoles()
		if err != nil {
			return Console{}, err
		}
		found := -1
		// Every pending hash is compared, in constant time each, so the
		// time taken does not say how far a guess got.
		for i, c := range all {
			if c.CodeHash != "" && s.codeMatches(c.CodeHash, want) && found < 0 {
				found = i
			}
		}
		if found < 0 || !s.clock.Now().Before(all[found].CodeExpires) || all[found].Revoked {
			return Console{}, ErrPairingCode
		}
		return all[found], nil
	}
	var c Console
	if err := s.store.View(func(tx Tx) (err error) { c, err = pending(tx); return err }); err != nil {
		return Console{}, ConsoleCert{}, err
	}
	// Signed outside the transaction: the CA reads its files, and its
	// failure is not the store's.
	cert, err := sign(c.Name)
	if err != nil {
		return Console{}, ConsoleCert{}, fmt.Errorf("sign the certificate of console %q: %w", c.Name, err)
	}
	// Who pairs is known once the code says which console it is; the
	// pending record's name and role are checked again below.
	s = s.As(OperatorActor(RemoteConsoleOperator(c.Name, c.Role, source)))
	err = s.update(false, func(tx Tx, log *logger) error {
		c, err = pending(tx)
		if err != nil {
			return err
		}
		c.CodeHash, c.CodeExpires = "", time.Time{}
		c.Serial, c.Fingerprint, c.PairedAt = cert.Serial, cert.Fingerprint, s.clock.Now().UTC()
		if err := tx.PutConsole(c); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Console %q paired (role %s, certificate serial %s).", c.Name, c.Role, c.Serial)
	})
	if err != nil {
		return Console{}, ConsoleCert{}, err
	}
	return c, cert, nil
}

// Consoles lists the paired, pending and revoked consoles by name.
func (s *Service) Consoles() ([]Console, error) {
	var out []Console
	err := s.store.View(func(tx Tx) error {
		var err error
		out, err = tx.Consoles()
		return err
	})
	for i := range out {
		out[i].CodeHash = "" // no use outside core
	}
	return out, err
}

// RevokeConsole revokes a console: its certificate is refused from the
// next request on, and a pending code stops working.
func (s *Service) RevokeConsole(name string) error {
	return s.update(false, func(tx Tx, log *logger) error {
		c, err := tx.Console(name)
		if err != nil {
			if ErrorCode(err) == CodeNotFound {
				return Errorf(CodeNotFound, "There is no console %q.", name)
			}
			return err
		}
		if c.Revoked {
			return Errorf(CodeConflict, "Console %q is already revoked.", c.Name)
		}
		c.Revoked, c.RevokedAt, c.CodeHash, c.CodeExpires = true, s.clock.Now().UTC(), "", time.Time{}
		if err := tx.PutConsole(c); err != nil {
			return err
		}
		return log.add(LevelInfo, "", "Console %q (role %s) revoked; its certificate is refused from now on.", c.Name, c.Role)
	})
}

// PairedConsole returns the paired, not revoked console whose client
// certificate has serial and fingerprint; anything else is CodeNotPaired
// (the sentence says whether it was revoked: the caller holds a
// certificate this server signed, so that is no secret).
func (s *Service) PairedConsole(serial, fingerprint string) (Console, error) {
	var out Console
	err := s.store.View(func(tx Tx) error {
		all, err := tx.Consoles()
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.Serial != "" && c.Serial == serial && equalConstantTime(c.Fingerprint, fingerprint) {
				if c.Revoked {
					return Errorf(CodeNotPaired, "This console (%q) was revoked on the server; ask an administrator to pair it again.", c.Name)
				}
				out = c
				return nil
			}
		}
		return Errorf(CodeNotPaired, "This console's certificate is not one of a paired console; pair it again (provisio console pair NAME on the server).")
	})
	return out, err
}

// consoleEndpoint is where remote consoles reach this process and the
// certificate they pin, set by whoever opened the listener.
type consoleEndpoint struct {
	mu   sync.Mutex
	addr string
	fp   func() string
}

// SetConsoleEndpoint records the remote admin listener's address and how
// to read the SHA-256 fingerprint of the certificate it presents now, so
// a pairing code is shown with them (addr "" while it is closed).
func (s *Service) SetConsoleEndpoint(addr string, fingerprint func() string) {
	s.consoles.mu.Lock()
	s.consoles.addr, s.consoles.fp = addr, fingerprint
	s.consoles.mu.Unlock()
}

// ConsoleEndpoint returns the remote admin listener's address and its
// certificate's fingerprint; both "" while it is closed.
func (s *Service) ConsoleEndpoint() (addr, fingerprint string) {
	s.consoles.mu.Lock()
	addr, fp := s.consoles.addr, s.consoles.fp
	s.consoles.mu.Unlock()
	if addr == "" || fp == nil {
		return "", ""
	}
	return addr, fp()
}
