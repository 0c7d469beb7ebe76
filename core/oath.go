package core

import (
	"strings"
	"sync/atomic"
	"time"
)

// OATH tokens (issue #11): a second kind of token beside security strings,
// for the authenticator apps people already have (RFC 6238 TOTP, RFC 4226
// HOTP). The RFC arithmetic is in core too (oath_otp.go), on the standard
// library, so the one path that decides a login is the one the RFC test
// vectors run through;
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
	// ID names the token, not secret: a console tells the token it shows
	// from one issued elsewhere since (OATHStatus). Tokens stored before
	// it have none.
	ID      string    `json:"id,omitempty"`
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
