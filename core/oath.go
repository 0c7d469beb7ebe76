package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync/atomic"
	"time"
)

// OATH tokens (issue #11): a second kind of token beside security strings,
// for the authenticator apps people already have (RFC 6238 TOTP, RFC 4226
// HOTP). The RFC arithmetic is here, on the standard library, so the one
// path that decides a login is the one the RFC test vectors run through;
// the otpauth:// Key URI is built by an injected OATHKeys (core/oathkey,
// on github.com/pquerna/otp). docs/decisions.md, "OATH tokens (#11)".

// OATH token kinds.
const (
	OATHTOTP = "totp" // time-based, RFC 6238
	OATHHOTP = "hotp" // counter-based, RFC 4226
)

// OATH HMAC algorithms, spelled as in the Key URI.
const (
	OATHSHA1   = "SHA1"
	OATHSHA256 = "SHA256"
	OATHSHA512 = "SHA512"
)

// OATH defaults: what every authenticator app understands.
const (
	DefaultOATHDigits    = 6
	DefaultOATHPeriod    = 30 // seconds per TOTP step
	DefaultOATHWindow    = 1  // TOTP steps accepted either side of now
	DefaultOATHLookAhead = 10 // HOTP counters accepted ahead of the expected one

	// oathSyncSteps bounds how far a resynchronisation searches: ±60
	// TOTP steps (30 minutes of clock drift at 30 s) or 100 HOTP
	// counters. Two consecutive codes are needed, so the wider search
	// does not make guessing easier in any useful way.
	oathSyncSteps   = 60
	oathSyncCounter = 100
)

// OATHPolicy is the OATH part of the settings (keys oath.*).
type OATHPolicy struct {
	// Enabled turns OATH on: tokens can be issued, codes are accepted and
	// getServerDetails says <oath>YES</oath>.
	Enabled bool `json:"enabled"`
	// Issuer names the service in the authenticator app; "" is the Site ID.
	Issuer string `json:"issuer"`
	// Window is how many TOTP steps either side of now are accepted.
	Window int `json:"window"`
	// LookAhead is how many HOTP counters ahead of the expected one are
	// accepted.
	LookAhead int `json:"hotp_lookahead"`
}

// DefaultOATHPolicy is OATH off with the RFC-recommended windows.
func DefaultOATHPolicy() OATHPolicy {
	return OATHPolicy{Window: DefaultOATHWindow, LookAhead: DefaultOATHLookAhead}
}

// OATHIssuer is the issuer shown in authenticator apps.
func (s Settings) OATHIssuer() string {
	if s.OATH.Issuer != "" {
		return s.OATH.Issuer
	}
	if s.SiteID != "" {
		return s.SiteID
	}
	return "Provisio"
}

func validateOATHIssuer(v string) error {
	if strings.ContainsAny(v, ":/?#&%") || len(v) > 64 {
		return &Error{Code: CodeInvalid, Message: "An OATH issuer has at most 64 characters and no : / ? # & %."}
	}
	return nil
}

// OATHOptions are the per-token choices an administrator makes.
type OATHOptions struct {
	Kind      string `json:"kind"`              // OATHTOTP or OATHHOTP
	Algorithm string `json:"algorithm"`         // OATHSHA1, OATHSHA256, OATHSHA512
	Digits    int    `json:"digits"`            // 6 or 8
	Period    int    `json:"period,omitempty"`  // TOTP seconds
	Counter   uint64 `json:"counter,omitempty"` // HOTP start counter
}

// Normalize fills defaults and checks the options, in place.
func (o *OATHOptions) Normalize() error {
	o.Kind = strings.ToLower(strings.TrimSpace(o.Kind))
	o.Algorithm = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(o.Algorithm), "-", ""))
	if o.Kind == "" {
		o.Kind = OATHTOTP
	}
	if o.Algorithm == "" {
		o.Algorithm = OATHSHA1
	}
	if o.Digits == 0 {
		o.Digits = DefaultOATHDigits
	}
	switch {
	case o.Kind != OATHTOTP && o.Kind != OATHHOTP:
		return FieldError("kind", "An OATH token is totp or hotp, not %q.", o.Kind)
	case o.Algorithm != OATHSHA1 && o.Algorithm != OATHSHA256 && o.Algorithm != OATHSHA512:
		return FieldError("algorithm", "The OATH algorithm is SHA1, SHA256 or SHA512, not %q.", o.Algorithm)
	case o.Digits != 6 && o.Digits != 8:
		return FieldError("digits", "An OATH code has 6 or 8 digits.")
	}
	if o.Kind == OATHTOTP {
		o.Counter = 0
		if o.Period == 0 {
			o.Period = DefaultOATHPeriod
		}
		if o.Period < 15 || o.Period > 300 {
			return FieldError("period", "A TOTP period is 15 to 300 seconds.")
		}
	} else {
		o.Period = 0
	}
	return nil
}

// OATHToken is one issued token. Secret is the shared key: it is never
// logged, mailed or put in a URL, and it is wiped from the data file when
// the token goes (Store implementations that can, see Scrubber).
type OATHToken struct {
	OATHOptions
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
	// Expires is when a pending token is wiped unless confirmed.
	Expires     time.Time `json:"expires,omitzero"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// LastStep is the last TOTP time step accepted; a code of that step
	// or an earlier one is a replay. Used marks LastStep as set.
	LastStep int64 `json:"last_step,omitempty"`
	Used     bool  `json:"used,omitempty"`
	// Drift is the TOTP clock offset of the user's device, in steps,
	// learnt from accepted codes and resynchronisation.
	Drift int64 `json:"drift,omitempty"`
}

// OATHRecord is a user's OATH state: the token in use and one issued but
// not yet confirmed. Either may be nil.
type OATHRecord struct {
	Active  *OATHToken `json:"active,omitempty"`
	Pending *OATHToken `json:"pending,omitempty"`
}

// OATHKeys builds otpauth:// Key URIs. core/oathkey implements it with
// github.com/pquerna/otp; core stays on the standard library.
type OATHKeys interface {
	KeyURI(issuer, account string, o OATHOptions, secret []byte) (string, error)
}

// WithOATHKeys sets the Key URI builder. Without one, tokens cannot be
// issued (verification needs none).
func WithOATHKeys(k OATHKeys) Option { return func(s *Service) { s.oathKeys = k } }

// Scrubber is a Store that can overwrite its free space, so that a wiped
// secret is gone from the file and not merely unreferenced (core/store).
type Scrubber interface{ ScrubFree(force bool) error }

// oathState is the Service's OATH bookkeeping beyond the store.
type oathState struct {
	// dirty is set inside transactions that drop a secret; the expiry
	// runner scrubs the store's free space when it sees it.
	dirty atomic.Bool
}

// --- the RFC arithmetic -----------------------------------------------

func oathHash(alg string) func() hash.Hash {
	switch alg {
	case OATHSHA256:
		return sha256.New
	case OATHSHA512:
		return sha512.New
	}
	return sha1.New
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// HOTPCode computes the RFC 4226 value for counter: HMAC over the 8-byte
// big-endian counter, dynamic truncation, modulo 10^digits, zero-padded.
func HOTPCode(secret []byte, counter uint64, alg string, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(oathHash(alg), secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	v %= pow10[digits]
	s := fmt.Sprintf("%0*d", digits, v)
	return s
}

// TOTPStep is the RFC 6238 time step of t: floor(unix / period).
func TOTPStep(t time.Time, period int) int64 {
	u := t.Unix()
	if u < 0 {
		return -1
	}
	return u / int64(period)
}

// TOTPCode computes the RFC 6238 code at time t.
func TOTPCode(secret []byte, t time.Time, alg string, digits, period int) string {
	return HOTPCode(secret, uint64(TOTPStep(t, period)), alg, digits)
}

// oathMatch is the outcome of checking a code against a token.
type oathMatch int

const (
	oathNoMatch oathMatch = iota
	oathAccepted
	oathReplay // right, but for a step or counter already used
)

// checkCode compares code with every value in the token's window in
// constant time per candidate (and always the whole window, so timing
// says nothing of where a match was). On acceptance it advances the
// token's state in place; the caller stores it.
func (t *OATHToken) checkCode(code string, now time.Time, p OATHPolicy) oathMatch {
	if len(code) != t.Digits || !isDigits(code) {
		return oathNoMatch
	}
	if t.Kind == OATHHOTP {
		ahead := max(p.LookAhead, 1)
		found, at := false, uint64(0)
		for i := 0; i < ahead; i++ {
			c := t.Counter + uint64(i)
			if equalConstantTime(HOTPCode(t.Secret, c, t.Algorithm, t.Digits), code) && !found {
				found, at = true, c
			}
		}
		if found {
			t.Counter = at + 1
			return oathAccepted
		}
		if t.Counter > 0 && equalConstantTime(HOTPCode(t.Secret, t.Counter-1, t.Algorithm, t.Digits), code) {
			return oathReplay
		}
		return oathNoMatch
	}
	now0 := TOTPStep(now, t.Period)
	center := now0 + t.Drift
	w := int64(max(p.Window, 0))
	matched, at := false, int64(0)
	for s := center - w; s <= center+w; s++ {
		if s < 0 {
			continue
		}
		if equalConstantTime(HOTPCode(t.Secret, uint64(s), t.Algorithm, t.Digits), code) && !matched {
			matched, at = true, s
		}
	}
	if !matched {
		return oathNoMatch
	}
	if t.Used && at <= t.LastStep {
		return oathReplay
	}
	t.LastStep, t.Used, t.Drift = at, true, at-now0
	return oathAccepted
}

// resync finds two consecutive codes in a wide window and, when found,
// moves the token to just after them.
func (t *OATHToken) resync(code1, code2 string, now time.Time) bool {
	if len(code1) != t.Digits || len(code2) != t.Digits || !isDigits(code1) || !isDigits(code2) {
		return false
	}
	if t.Kind == OATHHOTP {
		for i := uint64(0); i < oathSyncCounter; i++ {
			c := t.Counter + i
			if equalConstantTime(HOTPCode(t.Secret, c, t.Algorithm, t.Digits), code1) &&
				equalConstantTime(HOTPCode(t.Secret, c+1, t.Algorithm, t.Digits), code2) {
				t.Counter = c + 2
				return true
			}
		}
		return false
	}
	now0 := TOTPStep(now, t.Period)
	for d := int64(-oathSyncSteps); d <= oathSyncSteps; d++ {
		s := now0 + d
		if s < 0 || t.Used && s+1 <= t.LastStep {
			continue
		}
		if equalConstantTime(HOTPCode(t.Secret, uint64(s), t.Algorithm, t.Digits), code1) &&
			equalConstantTime(HOTPCode(t.Secret, uint64(s+1), t.Algorithm, t.Digits), code2) {
			t.LastStep, t.Used, t.Drift = s+1, true, s+1-now0
			return true
		}
	}
	return false
}

// newOATHSecret returns a random key as long as the hash's output, the
// size RFC 4226 §4 (R6) and RFC 6238 §5.1 recommend.
func newOATHSecret(alg string) []byte {
	n := 20
	switch alg {
	case OATHSHA256:
		n = 32
	case OATHSHA512:
		n = 64
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return b
}

// OATHSecretText is a secret as people type it: base32 without padding,
// in groups of four.
func OATHSecretText(secret []byte) string {
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// --- use cases -------------------------------------------------------

// OATHIssued is a token just issued, shown once: URI and SecretText carry
// the secret and are never logged or stored elsewhere.
type OATHIssued struct {
	User       string
	Options    OATHOptions
	URI        string // otpauth:// Key URI for the QR code
	SecretText string // base32 in groups of four, for typing
	Expires    time.Time
}

// OATHStatus is what the console and the admin API show of a user's token.
type OATHStatus struct {
	Kind      string    // "strings", OATHTOTP or OATHHOTP: what the user logs in with
	State     string    // "none", "pending" or "confirmed"
	Expires   time.Time // of the pending token, when State is pending
	Pending   string    // kind of a pending token beside a confirmed one, else ""
	Confirmed time.Time
}

// Token states.
const (
	OATHStateNone      = "none"
	OATHStatePending   = "pending"
	OATHStateConfirmed = "confirmed"
)

func oathStatus(u User, rec OATHRecord, now time.Time) OATHStatus {
	st := OATHStatus{Kind: "strings", State: OATHStateNone}
	if u.Provisioned() {
		st.State = OATHStateConfirmed
	}
	if rec.Active != nil {
		st.Kind, st.State, st.Confirmed = rec.Active.Kind, OATHStateConfirmed, rec.Active.ConfirmedAt
	}
	if p := rec.Pending; p != nil && now.Before(p.Expires) {
		if rec.Active == nil && !u.Provisioned() {
			st.Kind, st.State = p.Kind, OATHStatePending
		}
		st.Pending, st.Expires = p.Kind, p.Expires
	}
	return st
}

// OATHStatus returns the token kind and state of a user.
func (s *Service) OATHStatus(name string) (OATHStatus, error) {
	var st OATHStatus
	err := s.store.View(func(tx Tx) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		rec, err := readOATH(tx, u.Name)
		st = oathStatus(u, rec, s.clock.Now())
		return err
	})
	return st, err
}

// OATHStatuses returns the OATH status of every user that has a record,
// by lower-case name (one transaction for the users list).
func (s *Service) OATHStatuses() (map[string]OATHStatus, error) {
	now := s.clock.Now()
	out := map[string]OATHStatus{}
	err := s.store.View(func(tx Tx) error {
		var recs []struct {
			name string
			rec  OATHRecord
		}
		if err := tx.OATHRecords(func(name string, r OATHRecord) bool {
			recs = append(recs, struct {
				name string
				rec  OATHRecord
			}{name, r})
			return true
		}); err != nil {
			return err
		}
		for _, r := range recs {
			u, err := tx.User(r.name)
			if err != nil {
				continue
			}
			out[Key(u.Name)] = oathStatus(u, r.rec, now)
		}
		return nil
	})
	return out, err
}

func readOATH(tx Tx, name string) (OATHRecord, error) {
	rec, err := tx.OATH(name)
	if errors.Is(err, ErrNotFound) {
		return OATHRecord{}, nil
	}
	return rec, err
}

func kindName(o OATHOptions) string {
	return fmt.Sprintf("%s, %s, %d digits", strings.ToUpper(o.Kind), o.Algorithm, o.Digits)
}

// IssueOATH issues a pending OATH token to a user, replacing a pending
// one. The current device or token keeps working until the new one is
// confirmed; an unconfirmed token is wiped after the Self-Reset policy's
// code validity.
func (s *Service) IssueOATH(name string, opt OATHOptions) (OATHIssued, error) {
	var out OATHIssued
	err := s.update(false, func(tx Tx, log *logger) error {
		var err error
		out, err = s.issueOATH(tx, log, name, opt)
		return err
	}, s.usersChanged(name))
	return out, err
}

func (s *Service) issueOATH(tx Tx, log *logger, name string, opt OATHOptions) (OATHIssued, error) {
	set := s.Settings()
	if !set.OATH.Enabled {
		return OATHIssued{}, Errorf(CodeInvalid, "OATH tokens are turned off; turn on oath.enabled (Server settings) first.")
	}
	if s.oathKeys == nil {
		return OATHIssued{}, Errorf(CodeInternal, "This build cannot make OATH keys.")
	}
	if err := opt.Normalize(); err != nil {
		return OATHIssued{}, err
	}
	u, err := tx.User(name)
	if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
		return OATHIssued{}, Errorf(CodeNotFound, "There is no user %q.", name)
	} else if err != nil {
		return OATHIssued{}, err
	}
	if u.Disabled {
		return OATHIssued{}, Errorf(CodeDisabled, "User %q is disabled; enable them before issuing a token.", u.Name)
	}
	rec, err := readOATH(tx, u.Name)
	if err != nil {
		return OATHIssued{}, err
	}
	if rec.Pending != nil {
		s.oath.dirty.Store(true)
	}
	tok := &OATHToken{OATHOptions: opt, Secret: newOATHSecret(opt.Algorithm), Created: log.now,
		Expires: log.now.Add(time.Duration(set.SelfReset.CodeValidity) * time.Second)}
	if opt.Kind == OATHHOTP {
		tok.Counter = opt.Counter
	}
	uri, err := s.oathKeys.KeyURI(set.OATHIssuer(), u.Name, opt, tok.Secret)
	if err != nil {
		return OATHIssued{}, fmt.Errorf("build the OATH key URI: %w", err)
	}
	rec.Pending = tok
	if err := tx.PutOATH(u.Name, rec); err != nil {
		return OATHIssued{}, err
	}
	if err := log.add(LevelInfo, u.Name, "OATH token (%s) issued for user %q; it expires unless confirmed by %s.",
		kindName(opt), u.Name, tok.Expires.Local().Format("15:04")); err != nil {
		return OATHIssued{}, err
	}
	return OATHIssued{User: u.Name, Options: opt, URI: uri, SecretText: OATHSecretText(tok.Secret), Expires: tok.Expires}, nil
}

// ConfirmOATH confirms a user's pending token with a code from the app
// (the console's "Code from the app"). A wrong code is an error with a
// sentence and changes nothing: it is the administrator typing, not a
// login. On success the previous device or token is revoked in the same
// transaction.
func (s *Service) ConfirmOATH(name, code string) error {
	set := s.Settings()
	return s.update(false, func(tx Tx, log *logger) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return err
		}
		p := rec.Pending
		if p == nil || !log.now.Before(p.Expires) {
			return Errorf(CodeSession, "User %q has no OATH token waiting for confirmation; issue a new one.", u.Name)
		}
		code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
		if len(code) != p.Digits || !isDigits(code) {
			return FieldError("code", "Enter the %d-digit code the app shows.", p.Digits)
		}
		if p.checkCode(code, log.now, set.OATH) != oathAccepted {
			return FieldError("code", "That code is not right. Check the phone's clock and type the code the app shows now.")
		}
		return s.confirmOATH(tx, log, &u, &rec, "in the console")
	}, s.usersChanged(name))
}

// confirmOATH makes the pending token the user's token, revoking the
// previous device and its strings or the previous token.
func (s *Service) confirmOATH(tx Tx, log *logger, u *User, rec *OATHRecord, how string) error {
	had := ""
	switch {
	case rec.Active != nil:
		had = "the previous OATH token"
	case u.Provisioned():
		had = "the previous device"
	}
	if err := revokeDevice(tx, *u); err != nil {
		return err
	}
	u.DeviceID, u.DeviceOS, u.ProvisionedAt = "", "", time.Time{}
	u.DeviceCert = nil
	tok := rec.Pending
	tok.Expires, tok.ConfirmedAt = time.Time{}, log.now
	if rec.Active != nil {
		s.oath.dirty.Store(true)
	}
	*rec = OATHRecord{Active: tok}
	if err := tx.PutOATH(u.Name, *rec); err != nil {
		return err
	}
	if err := tx.PutUser(*u); err != nil {
		return err
	}
	msg := fmt.Sprintf("OATH token for user %q confirmed %s.", u.Name, how)
	if had != "" {
		msg = fmt.Sprintf("OATH token for user %q confirmed %s; %s was revoked.", u.Name, how, had)
	}
	return log.add(LevelInfo, u.Name, "%s", msg)
}

// RevokeOATH removes a user's OATH tokens, confirmed and pending.
func (s *Service) RevokeOATH(name string) error {
	err := s.update(false, func(tx Tx, log *logger) error {
		u, err := tx.User(name)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "There is no user %q.", name)
		} else if err != nil {
			return err
		}
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return err
		}
		if rec.Active == nil && rec.Pending == nil {
			return Errorf(CodeConflict, "User %q has no OATH token.", u.Name)
		}
		if err := tx.DeleteOATH(u.Name); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "OATH token of user %q revoked; the user must reprovision.", u.Name)
	}, s.usersChanged(name))
	if err == nil {
		s.scrub(true)
	}
	return err
}

// ExpireOATH wipes pending tokens past their deadline, logging each, and
// then scrubs the store's free space so the secrets are gone from the
// file. It returns how many expired.
func (s *Service) ExpireOATH() (int, error) {
	var names []string
	err := s.update(false, func(tx Tx, log *logger) error {
		names = names[:0]
		type exp struct {
			name string
			rec  OATHRecord
		}
		var due []exp
		if err := tx.OATHRecords(func(name string, r OATHRecord) bool {
			if r.Pending != nil && !log.now.Before(r.Pending.Expires) {
				due = append(due, exp{name, r})
			}
			return true
		}); err != nil {
			return err
		}
		for _, d := range due {
			u, err := tx.User(d.name)
			display := d.name
			if err == nil {
				display = u.Name
			}
			d.rec.Pending = nil
			if d.rec.Active == nil {
				err = tx.DeleteOATH(d.name)
			} else {
				err = tx.PutOATH(d.name, d.rec)
			}
			if err != nil {
				return err
			}
			names = append(names, display)
			if err := log.add(LevelWarn, display, "OATH token for user %q expired unconfirmed", display); err != nil {
				return err
			}
		}
		return nil
	}, func() []Event {
		ev := make([]Event, 0, len(names))
		for _, n := range names {
			ev = append(ev, Event{Kind: EventUsersChanged, User: n, At: s.clock.Now()})
		}
		return ev
	})
	if err != nil {
		return 0, err
	}
	s.scrub(len(names) > 0)
	return len(names), nil
}

// scrub overwrites the store's free pages when it can: always when a
// secret went in a transaction of this Service (dirty) or now (force),
// else when the store itself saw an OATH record deleted.
func (s *Service) scrub(force bool) {
	force = s.oath.dirty.Swap(false) || force
	if sc, ok := s.store.(Scrubber); ok {
		if err := sc.ScrubFree(force); err != nil {
			s.oath.dirty.Store(true)
			_ = s.Log(LevelError, "", "Wiping free space in the data file failed: %v", err)
		}
	}
}

// OATHExpiryInterval is how often RunOATHExpiry looks for expired tokens.
const OATHExpiryInterval = 15 * time.Second

// RunOATHExpiry calls ExpireOATH every OATHExpiryInterval until done is
// closed, passing errors to report.
func (s *Service) RunOATHExpiry(done <-chan struct{}, report func(error)) {
	t := time.NewTicker(OATHExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if _, err := s.ExpireOATH(); err != nil && report != nil {
				report(err)
			}
		}
	}
}

// --- login ------------------------------------------------------------

// oathOutcome is checkOATHLogin's answer to Login.
type oathOutcome struct {
	handled bool  // the code was an OATH code; Login does nothing more
	fail    error // the login's failure, as the strings path reports it
	locked  bool  // this failure locked the user
	err     error // a store error
}

// checkOATHLogin is the one call Login makes before the strings path. A
// user with a confirmed OATH token logs in with its codes only. A user
// with only a pending token may confirm it with a login; a code that does
// not fit the pending token goes on to the strings path, so the old
// device works until confirmation (and a wrong code counts once, there).
// Failures count toward the same lockout as strings (LoginState.fail).
func checkOATHLogin(s *Service, tx Tx, log *logger, agent Agent, set Settings, username, otc string) oathOutcome {
	u, err := tx.User(username)
	if err != nil || u.Deleted {
		return oathOutcome{} // the strings path answers unknown users
	}
	rec, err := readOATH(tx, u.Name)
	if err != nil {
		return oathOutcome{handled: true, err: err}
	}
	pending := rec.Pending
	if pending != nil && !log.now.Before(pending.Expires) {
		pending = nil // ExpireOATH wipes it
	}
	if rec.Active == nil && pending == nil {
		return oathOutcome{}
	}
	code := strings.TrimSpace(otc)
	logFail := func(o oathOutcome, why string) oathOutcome {
		if err := log.add(LevelWarn, u.Name, "Login failed for user: %s, error: %s", u.Name, why); err != nil {
			return oathOutcome{handled: true, err: err}
		}
		return o
	}
	wrong := oathOutcome{handled: true, fail: Errorf(CodeWrongOTC, "Login failed.")}
	if rec.Active == nil {
		// Only a pending token: a code that is not its code belongs to
		// the strings path.
		if !set.OATH.Enabled || len(code) != pending.Digits || !isDigits(code) {
			return oathOutcome{}
		}
		probe := *pending
		if probe.checkCode(code, log.now, set.OATH) != oathAccepted {
			return oathOutcome{}
		}
	}
	switch {
	case !agent.Admits(u):
		return logFail(wrong, "not in the agent's group "+agent.Group)
	case !agent.AllowsMode(AgentModeMobile):
		return logFail(oathOutcome{handled: true, fail: Errorf(CodeAgentAccess, "Agent %q is not set up for mobile client authentication.", agent.Name)},
			fmt.Sprintf("agent %q does not allow mobile client authentication", agent.Name))
	case !set.OATH.Enabled:
		return logFail(wrong, "OATH tokens are turned off (oath.enabled)")
	case code == "":
		return logFail(oathOutcome{handled: true, fail: Errorf(CodeNoOTC, "No one-time code was given.")}, "no one-time code")
	}
	// A pending token is tried first: the user may have moved to a new
	// app while the old token still works.
	var tok *OATHToken
	match := oathNoMatch
	if pending != nil {
		probe := *pending
		if probe.checkCode(code, log.now, set.OATH) == oathAccepted {
			tok, match = &probe, oathAccepted
		}
	}
	confirming := tok != nil
	if !confirming {
		tok = rec.Active
		if len(code) != tok.Digits || !isDigits(code) {
			return logFail(oathOutcome{handled: true, fail: Errorf(CodeBadOTC, "The one-time code is not of the expected form.")}, "malformed one-time code")
		}
		match = tok.checkCode(code, log.now, set.OATH)
	}
	ls, err := loginState(tx, u.Name)
	if err != nil {
		return oathOutcome{handled: true, err: err}
	}
	locked := ls.LockedAt(log.now)
	if match == oathAccepted && !confirming && !locked && !u.Disabled {
		// The step or counter is spent; a right code while locked is
		// neither counted nor spent, as with strings.
		if err := tx.PutOATH(u.Name, rec); err != nil {
			return oathOutcome{handled: true, err: err}
		}
	}
	switch {
	case u.Disabled:
		return logFail(wrong, "the user is disabled")
	case locked && match == oathAccepted:
		return logFail(wrong, "the user is "+ls.lockDescription()+"; the code was right but is not accepted while locked")
	case match == oathReplay:
		// Someone replayed a code seen on the wire, or the user pressed
		// Enter twice: refused, but not a failure towards the lock.
		return logFail(wrong, "OATH code already used (replay; not counted as a failure)")
	case match == oathNoMatch:
		why := "wrong OATH code"
		if locked {
			why += " while " + ls.lockDescription()
		}
		if ls.fail(set, log.now) {
			wrong.locked = true
			why += fmt.Sprintf("; %d failures in a row, lock %d: %s", ls.Failures, ls.Locks, ls.lockDescription())
		}
		if err := tx.PutLoginState(u.Name, ls); err != nil {
			return oathOutcome{handled: true, err: err}
		}
		return logFail(wrong, why)
	}
	if confirming {
		rec.Pending = tok
		if err := s.confirmOATH(tx, log, &u, &rec, "by the user's first login"); err != nil {
			return oathOutcome{handled: true, err: err}
		}
	}
	ls.loggedIn(log.now)
	if err := tx.PutLoginState(u.Name, ls); err != nil {
		return oathOutcome{handled: true, err: err}
	}
	if err := log.add(LevelInfo, u.Name, "Login successful for user: %s.", u.Name); err != nil {
		return oathOutcome{handled: true, err: err}
	}
	return oathOutcome{handled: true}
}

// --- resynchronisation -----------------------------------------------

// OATHSync resynchronises a user's token with two consecutive codes (the
// oathsync action). A failure counts toward the lockout like a wrong
// login; the answer does not say whether the user or a token exists.
func (s *Service) OATHSync(agent Agent, username, code1, code2 string) error {
	return s.oathSync(&agent, HelpdeskScope(agent, ""), username, code1, code2)
}

// OATHSyncUsers resynchronises tokens for the helpdesk API (OathSync);
// codes[i] holds the two codes of names[i]. Failures are per user and do
// not count toward the lockout: the helpdesk is already trusted.
func (s *Service) OATHSyncUsers(scope Scope, names []string, codes [][2]string) []error {
	out := make([]error, len(names))
	for i, n := range names {
		out[i] = s.oathSync(nil, scope, n, codes[i][0], codes[i][1])
	}
	return out
}

func (s *Service) oathSync(agent *Agent, scope Scope, username, code1, code2 string) error {
	set := s.Settings()
	var fail error
	var locked bool
	by := "the helpdesk API"
	if agent != nil {
		by = "agent " + quote(agent.Name)
	}
	err := s.update(false, func(tx Tx, log *logger) error {
		fail, locked = nil, false
		code1, code2 := strings.TrimSpace(code1), strings.TrimSpace(code2)
		neutral := Errorf(CodeWrongOTC, "The token could not be synchronised.")
		var u User
		var err error
		if agent == nil {
			// The helpdesk is told plainly, as for its other operations.
			if u, err = scopedUser(tx, scope, username, false); err != nil {
				var e *Error
				if errors.As(err, &e) {
					fail = err
					return nil
				}
				return err
			}
		} else {
			u, err = tx.User(username)
			if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
				fail = neutral
				return log.add(LevelWarn, "", "OATH sync failed for user: %s, error: no such user", clean(username))
			} else if err != nil {
				return err
			}
			if !agent.Admits(u) {
				fail = Errorf(CodeNotInGroup, "User %q is not in the agent's group.", u.Name)
				return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: not in the agent's group", u.Name)
			}
		}
		if !set.OATH.Enabled {
			fail = neutral
			if agent == nil {
				fail = Errorf(CodeInvalid, "OATH tokens are turned off (oath.enabled).")
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: OATH tokens are turned off", u.Name)
		}
		rec, err := readOATH(tx, u.Name)
		if err != nil {
			return err
		}
		tok := rec.Active
		if tok == nil {
			fail = Errorf(CodeNoStrings, "User %q has no OATH token.", u.Name)
			if agent != nil {
				fail = neutral
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: the user has no confirmed OATH token", u.Name)
		}
		if code1 == "" || code2 == "" {
			fail = Errorf(CodeNoOTC, "Give two consecutive codes from the token.")
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: two codes are needed", u.Name)
		}
		if !tok.resync(code1, code2, log.now) {
			fail = neutral
			if agent == nil {
				fail = Errorf(CodeWrongOTC, "The codes do not match user %q's token; give two consecutive codes from it.", u.Name)
			}
			why := "the codes do not match the token"
			if agent != nil && !u.Disabled {
				ls, err := loginState(tx, u.Name)
				if err != nil {
					return err
				}
				if locked = ls.fail(set, log.now); locked {
					why += fmt.Sprintf("; %d failures in a row, lock %d: %s", ls.Failures, ls.Locks, ls.lockDescription())
				}
				if err := tx.PutLoginState(u.Name, ls); err != nil {
					return err
				}
			}
			return log.add(LevelWarn, u.Name, "OATH sync failed for user: %s, error: %s", u.Name, why)
		}
		if err := tx.PutOATH(u.Name, rec); err != nil {
			return err
		}
		return log.add(LevelInfo, u.Name, "OATH token of user %q resynchronised by %s.", u.Name, by)
	}, func() []Event {
		if locked {
			return s.usersChanged(username)()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fail
}

// --- provisioning by mail or web ---------------------------------------

// OATHURLParam marks the Provision URL of a code that sets up an OATH
// token, so the page it opens offers the authenticator set-up instead of
// the mobile client's settings. It says nothing secret.
const OATHURLParam = "kind=oath"

// MailOATHProvisionCode mails the user the usual single-use Provision URL,
// for a code that sets up an OATH token: redeeming it (the web client's
// Set up page, RedeemOATHProvision) reveals the otpauth:// QR once. The
// secret itself never goes into a message.
func (s *Service) MailOATHProvisionCode(name string, opt OATHOptions) (IssuedCode, error) {
	if !s.Settings().OATH.Enabled {
		return IssuedCode{}, Errorf(CodeInvalid, "OATH tokens are turned off; turn on oath.enabled (Server settings) first.")
	}
	if err := opt.Normalize(); err != nil {
		return IssuedCode{}, err
	}
	return s.createProvisionCode(name, true, &opt)
}

// RedeemOATHProvision redeems a provision code made for an OATH token
// (the web page behind the Provision URL): a pending token is issued
// whose otpauth:// URI is returned this once, and the code is spent. A
// wrong or late code is spent too, as in Provision, so a code can be
// guessed once; a right code meant for the mobile client is left for it.
// A request for an unknown user or one without a pending code changes
// nothing and writes nothing: it is counted with Refuse (source is the
// caller's address), since anyone can send it.
func (s *Service) RedeemOATHProvision(source, username, code string) (OATHIssued, error) {
	var out OATHIssued
	var fail error
	refused := false
	failed := Errorf(CodeProvision, "This set-up link has been used or has expired.")
	err := s.update(false, func(tx Tx, log *logger) error {
		out, fail, refused = OATHIssued{}, nil, false
		u, err := tx.User(username)
		if errors.Is(err, ErrNotFound) || err == nil && u.Deleted {
			fail, refused = failed, true
			return nil
		} else if err != nil {
			return err
		}
		pc, err := tx.ProvisionCode(u.Name)
		if errors.Is(err, ErrNotFound) {
			fail, refused = failed, true
			return nil
		} else if err != nil {
			return err
		}
		why, right := "", pc.Matches(u.Name, code)
		switch {
		case !log.now.Before(pc.Expires):
			why = "the provision code has expired"
		case !right:
			why = "the provision code is wrong"
		case pc.OATH == nil:
			fail = Errorf(CodeProvision, "This link sets up the mobile client, not an authenticator app.")
			return log.add(LevelWarn, u.Name, "User %q opened a mobile-client provision code as an authenticator set-up; the code still works in the mobile client.", u.Name)
		case u.Disabled:
			why = "the user is disabled"
		}
		if err := tx.DeleteProvisionCode(u.Name); err != nil {
			return err
		}
		if why != "" {
			fail = failed
			return log.add(LevelWarn, u.Name, provisionFailedLog, u.Name)
		}
		out, err = s.issueOATH(tx, log, u.Name, *pc.OATH)
		return err
	}, s.usersChanged(username))
	if err != nil {
		return OATHIssued{}, err
	}
	if refused {
		s.Refuse(source, "authenticator set-up for an unknown user or without a pending code")
	}
	return out, fail
}
