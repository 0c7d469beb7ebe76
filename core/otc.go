package core

import (
	"crypto/rand"
	"crypto/subtle"
	"strings"
)

// StringsPerDownload is how many security strings a mobile download carries.
const StringsPerDownload = 100

// StringSet is a user's current security strings: S[i] is the string for
// index i, a permutation of the digits 0-9. Indexes below Next are spent.
type StringSet struct {
	Next int
	S    [StringsPerDownload][10]byte
}

// NewStringSet returns 100 fresh random permutations of 0-9.
func NewStringSet() StringSet {
	var ss StringSet
	r := randBytes{}
	for i := range ss.S {
		ss.S[i] = r.permutation()
	}
	return ss
}

// Joined returns the strings separated by ';' as sent to a mobile client.
func (ss *StringSet) Joined() string {
	var b strings.Builder
	b.Grow(StringsPerDownload * 11)
	for i := range ss.S {
		if i > 0 {
			b.WriteByte(';')
		}
		b.Write(ss.S[i][:])
	}
	return b.String()
}

// randBytes hands out crypto/rand bytes from a buffer, so a download of
// 100 strings costs one or two reads of the random source, not a thousand.
type randBytes struct {
	buf [1024]byte
	n   int // bytes left at the end of buf
}

func (r *randBytes) next() byte {
	if r.n == 0 {
		if _, err := rand.Read(r.buf[:]); err != nil {
			panic("crypto/rand: " + err.Error()) // never fails on supported platforms
		}
		r.n = len(r.buf)
	}
	r.n--
	return r.buf[r.n]
}

// below returns a uniform number in [0, n) for n <= 256.
func (r *randBytes) below(n int) int {
	limit := 256 - 256%n // reject the tail so every value is equally likely
	for {
		if b := int(r.next()); b < limit {
			return b % n
		}
	}
}

// permutation is a Fisher-Yates shuffle of the digits 0-9.
func (r *randBytes) permutation() [10]byte {
	p := [10]byte{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}
	for i := 9; i > 0; i-- {
		j := r.below(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// ExtractOTC applies pin to a security string: each PIN digit d picks
// character d (1-based) of the string, with 0 meaning position 10.
func ExtractOTC(s [10]byte, pin string) string {
	out := make([]byte, len(pin))
	for i := 0; i < len(pin); i++ {
		d := int(pin[i] - '0')
		if d == 0 {
			d = 10
		}
		out[i] = s[d-1]
	}
	return string(out)
}

// MobileCode returns what a user types at login: the OTC followed by the
// two-digit string index.
func MobileCode(otc string, index int) string {
	return otc + string([]byte{byte('0' + index/10), byte('0' + index%10)})
}

// ParseMobileOTC splits a mobile login code into its OTC digits and string
// index. It accepts "4376,12" and "437612". ok is false when the code is not
// of that shape (wrong characters, or too short to hold an index).
func ParseMobileOTC(code string, pinMin, pinMax int) (otc string, index int, ok bool) {
	code = strings.TrimSpace(code)
	if i := strings.IndexByte(code, ','); i >= 0 {
		otc, idx := code[:i], code[i+1:]
		if len(idx) != 2 || !isDigits(idx) || !isDigits(otc) {
			return "", 0, false
		}
		code = otc + idx
	}
	if !isDigits(code) || len(code) < pinMin+2 || len(code) > pinMax+2 {
		return "", 0, false
	}
	n := len(code)
	return code[:n-2], int(code[n-2]-'0')*10 + int(code[n-1]-'0'), true
}

// PINFromOTC reads a PIN back from an OTC extracted from string s. It works
// because s is a permutation of 0-9: each OTC digit names one position.
func PINFromOTC(s [10]byte, otc string) (string, bool) {
	pin := make([]byte, len(otc))
	for i := 0; i < len(otc); i++ {
		pos := -1
		for j := 0; j < 10; j++ {
			if s[j] == otc[i] {
				pos = j
				break
			}
		}
		if pos < 0 {
			return "", false
		}
		pin[i] = byte('0' + (pos+1)%10)
	}
	return string(pin), true
}

// equalConstantTime compares two secrets without leaking where they differ.
func equalConstantTime(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
