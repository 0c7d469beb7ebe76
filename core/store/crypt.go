package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"provisio/core"
)

// Secrets at rest (issue #13). With Options.Key set, the store seals every
// secret field with AES-256-GCM under a key derived from the data key, the
// record's bucket, key and field name as associated data, so a sealed value
// copied onto another user's record does not open. Agent secrets and device
// Ids are stored as keyed hashes (HMAC-SHA-256) and cannot be recovered.
// core never sees a sealed value: records are sealed in Put* and opened in
// the getters.

// KeySize is the length of the data key.
const KeySize = 32

// sealOverhead is what sealing adds to a value: GCM's nonce and tag.
const sealOverhead = 12 + 16

const (
	sealedPrefix = "e1:" // a sealed string field: e1:base64(nonce‖ciphertext)
	// HashedPrefix starts a keyed hash stored in place of a secret that is
	// only ever compared (core.IsHashedSecret).
	HashedPrefix = "h1:"
)

// ErrWrongKey is returned when a sealed value does not open.
var ErrWrongKey = errors.New("a secret in the data file does not decrypt with this data key (wrong provisio.key, or the record was altered)")

// sealer holds the keys derived from the data key.
type sealer struct {
	aead  cipher.AEAD
	idKey *macKey // keyed hashes of device Ids and agent secrets
	log   *macKey // the audit log's MAC chain
	check []byte  // the key check value kept in the config bucket
}

// derive returns HMAC-SHA-256(key, label): one independent key per use.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("provisio/" + label))
	return m.Sum(nil)
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the data key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(derive(key, "seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, idKey: newMACKey(derive(key, "id")), log: newMACKey(derive(key, "log")), check: derive(key, "check")}, nil
}

func ad(bucket []byte, key []byte, field string) []byte {
	b := make([]byte, 0, len(bucket)+len(key)+len(field)+2)
	b = append(b, bucket...)
	b = append(b, 0)
	b = append(b, key...)
	b = append(b, 0)
	return append(b, field...)
}

// sealBytes returns nonce‖ciphertext.
func (s *sealer) sealBytes(plain, ad []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return s.aead.Seal(out, out[:ns], plain, ad)
}

func (s *sealer) openBytes(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, ErrWrongKey
	}
	p, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return p, nil
}

// sealString seals a string field; "" stays "" (no secret set).
func (s *sealer) sealString(v string, ad []byte) string {
	if v == "" {
		return ""
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.sealBytes([]byte(v), ad))
}

func (s *sealer) openString(v string, ad []byte) (string, error) {
	if v == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(v, sealedPrefix)
	if !ok {
		return "", ErrWrongKey
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", ErrWrongKey
	}
	p, err := s.openBytes(b, ad)
	return string(p), err
}

// hash returns the keyed hash of v for purpose, in its stored form; a value
// already in that form is returned as is, so a record read and saved again
// keeps its hash. It is for values from records only: what a caller
// presents goes through hashPresented.
func (s *sealer) hash(purpose, v string) string {
	if v == "" || strings.HasPrefix(v, HashedPrefix) {
		return v
	}
	return s.hashPresented(purpose, v)
}

// hashPresented returns the keyed hash of a value presented from outside
// (a device Id in a request, an agent's secret), always hashing it: a
// value that already looks like a stored hash is hashed too, since
// passing it through would let a hash read from a copy of the data stand
// in for the secret (a stored device hash would download strings).
func (s *sealer) hashPresented(purpose, v string) string {
	if v == "" {
		return ""
	}
	m := s.idKey.get()
	io.WriteString(m, purpose)
	m.Write([]byte{0})
	io.WriteString(m, v)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	s.idKey.put(m)
	out := make([]byte, len(HashedPrefix)+hex.EncodedLen(len(sum)))
	hex.Encode(out[copy(out, HashedPrefix):], sum[:])
	return string(out)
}

// checkValue is stored in the config bucket: it says which key sealed the
// data without revealing it.
func (s *sealer) checkValue() []byte {
	m := hmac.New(sha256.New, s.check)
	m.Write([]byte("provisio data key check v1"))
	return m.Sum(nil)
}

// Purposes of keyed hashes.
const (
	hashDevice = core.SecretDevice
	hashAgent  = core.SecretAgent
)
