// Package oathkey adapts github.com/pquerna/otp to Provisio: it builds and
// parses otpauth:// Key URIs and computes codes as an authenticator app
// does. Verification of logins is not here but in core (oath_otp.go and
// oath_login.go), on the standard library; this package is what the apps
// see.
package oathkey

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"provisio/core"
)

// Keys implements core.OATHKeys.
type Keys struct{}

var _ core.OATHKeys = Keys{}

func algorithm(a string) (otp.Algorithm, error) {
	switch strings.ToUpper(a) {
	case core.OATHSHA1, "":
		return otp.AlgorithmSHA1, nil
	case core.OATHSHA256:
		return otp.AlgorithmSHA256, nil
	case core.OATHSHA512:
		return otp.AlgorithmSHA512, nil
	}
	return 0, fmt.Errorf("oathkey: unknown algorithm %q", a)
}

// KeyURI returns the otpauth:// URI of a token: label "issuer:account",
// the secret in base32 without padding, algorithm, digits, and period
// (TOTP) or counter (HOTP).
func (Keys) KeyURI(issuer, account string, o core.OATHOptions, secret []byte) (string, error) {
	alg, err := algorithm(o.Algorithm)
	if err != nil {
		return "", err
	}
	var key *otp.Key
	if o.Kind == core.OATHHOTP {
		key, err = hotp.Generate(hotp.GenerateOpts{Issuer: issuer, AccountName: account,
			Secret: secret, Digits: otp.Digits(o.Digits), Algorithm: alg})
		if err != nil {
			return "", err
		}
		// pquerna/otp v1.5.0 leaves out "counter", which the Key URI
		// format requires for hotp (docs/decisions.md).
		u, err := url.Parse(key.URL())
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("counter", strconv.FormatUint(o.Counter, 10))
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
		return u.String(), nil
	}
	key, err = totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account,
		Secret: secret, Period: uint(o.Period), Digits: otp.Digits(o.Digits), Algorithm: alg})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// Parsed is what an app reads from a Key URI.
type Parsed struct {
	Kind      string // core.OATHTOTP or core.OATHHOTP
	Issuer    string
	Account   string
	Secret    string // base32, as in the URI
	Algorithm string
	Digits    int
	Period    int
	Counter   uint64
}

// Parse reads an otpauth:// URI as an authenticator app would.
func Parse(uri string) (Parsed, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return Parsed{}, err
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" {
		return Parsed{}, fmt.Errorf("oathkey: not an otpauth URI")
	}
	p := Parsed{Kind: key.Type(), Issuer: key.Issuer(), Account: key.AccountName(), Secret: key.Secret(),
		Algorithm: strings.ToUpper(key.Algorithm().String()), Digits: key.Digits().Length(), Period: int(key.Period())}
	if p.Kind == core.OATHHOTP {
		p.Counter, _ = strconv.ParseUint(u.Query().Get("counter"), 10, 64)
		p.Period = 0
	} else if p.Kind != core.OATHTOTP {
		return Parsed{}, fmt.Errorf("oathkey: unknown token type %q", p.Kind)
	}
	if p.Secret == "" {
		return Parsed{}, fmt.Errorf("oathkey: the URI has no secret")
	}
	return p, nil
}

// TOTP computes the code an app shows at t.
func (p Parsed) TOTP(t time.Time) (string, error) {
	alg, err := algorithm(p.Algorithm)
	if err != nil {
		return "", err
	}
	return totp.GenerateCodeCustom(p.Secret, t, totp.ValidateOpts{Period: uint(p.Period),
		Digits: otp.Digits(p.Digits), Algorithm: alg})
}

// HOTP computes the code an app shows for counter.
func (p Parsed) HOTP(counter uint64) (string, error) {
	alg, err := algorithm(p.Algorithm)
	if err != nil {
		return "", err
	}
	return hotp.GenerateCodeCustom(p.Secret, counter, hotp.ValidateOpts{Digits: otp.Digits(p.Digits), Algorithm: alg})
}
