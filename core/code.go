package core

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProvisionCode is a pending provision code as stored: only its hash.
type ProvisionCode struct {
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// OATH, when set, makes the code set up an OATH token with these
	// options (RedeemOATHProvision) instead of a mobile client.
	OATH *OATHOptions `json:"oath,omitempty"`
}

// Lengths of provision codes. Alphanumeric codes use 31 symbols that cannot
// be confused with each other (no 0/O, 1/I/L).
const (
	numericCodeLen = 10
	alnumCodeLen   = 8
	alnumAlphabet  = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
)

// NewCode returns a random provision code, all digits when numeric.
func NewCode(numeric bool) string {
	alphabet, n := alnumAlphabet, alnumCodeLen
	if numeric {
		alphabet, n = "0123456789", numericCodeLen
	}
	return randomString(alphabet, n)
}

// randomString returns n symbols of alphabet drawn uniformly from the
// system's random source: every code and secret a person types is made
// by it.
func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	r := randBytes{}
	for i := range out {
		out[i] = alphabet[r.below(len(alphabet))]
	}
	return string(out)
}

// normalizeCode makes typing forgiving: case, spaces and dashes are ignored.
func normalizeCode(code string) string {
	code = strings.ToUpper(code)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
}

// HashCode binds a code to its user, so a code hash copied onto another
// user's record is useless.
func HashCode(username, code string) string {
	sum := sha256.Sum256([]byte(Key(username) + "\x00" + normalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// Matches reports in constant time whether code is this provision code,
// for a Hash that is HashCode's as it is. A store with a data key keeps
// it keyed once more (SecretCode), which the Service compares with
// provisionCodeMatches.
func (p ProvisionCode) Matches(username, code string) bool {
	return subtle.ConstantTimeCompare([]byte(p.Hash), []byte(HashCode(username, code))) == 1
}

// NewDeviceID returns 32 hex characters from crypto/rand.
func NewDeviceID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ProvisionURL is the link in the QR code and in mail:
//
//	https://HOST:PORT/userportal/provision?siteid=SITE&username=USER&code=CODE
//
// A phone camera opens it in the browser, which shows the settings and the
// code (a GET never spends the code); a mobile client parses the query.
func ProvisionURL(host, port, siteID, username, code string) string {
	q := url.Values{}
	q.Set("siteid", siteID)
	q.Set("username", username)
	q.Set("code", code)
	u := url.URL{Scheme: "https", Host: joinHostPort(host, port), Path: "/userportal/provision", RawQuery: q.Encode()}
	return u.String()
}

// ProvisionURLWithBase is ProvisionURL on another base, the Self-Reset
// policy's "URL complete", for a server that phones reach under another
// name (a reverse proxy, a public address). The query is the same.
func ProvisionURLWithBase(base, siteID, username, code string) string {
	q := url.Values{}
	q.Set("siteid", siteID)
	q.Set("username", username)
	q.Set("code", code)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

// ParseProvisionURL reads the parts back out of a Provision URL: any
// http(s) link whose query names a username and a code, so links built on
// a "URL complete" base parse too.
func ParseProvisionURL(s string) (host, port, siteID, username, code string, err error) {
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return "", "", "", "", "", FieldError("url", "%q is not a Provision URL.", s)
	}
	q := u.Query()
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	// url.Parse takes any digits as a port; a phone cannot connect to 0
	// or 99999, so such a link is no Provision URL either.
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", "", "", "", "", FieldError("url", "%q is not a Provision URL.", s)
	}
	siteID, username, code = q.Get("siteid"), q.Get("username"), q.Get("code")
	if username == "" || code == "" {
		return "", "", "", "", "", FieldError("url", "The Provision URL lacks a username or code.")
	}
	return host, port, siteID, username, code, nil
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
