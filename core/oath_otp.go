package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"time"
)

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
