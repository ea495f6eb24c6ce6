// Package msisdn validates and hashes phone numbers (MSISDNs) in E.164 form.
//
// It is the one place that knows what a well-formed number looks like, how
// CAMARA hashes one (SHA-256 of the E.164 string with its '+', in hex), and
// how numgate pseudonymises one for storage and logs (a keyed HMAC), so that
// no other package handles the clear number more than it must.
package msisdn

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"regexp"
	"strings"
	"sync"
)

// ErrInvalid reports a string that is not an E.164 number with its leading '+'.
var ErrInvalid = errors.New("not an E.164 phone number (expected '+' then 5 to 15 digits)")

// e164 is the pattern of CAMARA's PhoneNumber schema.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{4,14}$`)

// sha256Hex is the pattern of CAMARA's hashedPhoneNumber schema.
var sha256Hex = regexp.MustCompile(`^[a-fA-F0-9]{64}$`)

// Valid reports whether s is an E.164 number as CAMARA's schema defines it.
func Valid(s string) bool { return e164.MatchString(s) }

// Parse returns s if it is an E.164 number, or ErrInvalid. It never echoes
// the input in its error, so the error is safe to log.
func Parse(s string) (string, error) {
	if !Valid(s) {
		return "", ErrInvalid
	}
	return s, nil
}

// ValidHash reports whether s is a SHA-256 digest in hexadecimal.
func ValidHash(s string) bool { return sha256Hex.MatchString(s) }

// Hash returns CAMARA's hashed form of an E.164 number: the lowercase hex
// SHA-256 of the number including its leading '+'.
func Hash(number string) string {
	sum := sha256.Sum256([]byte(number))
	return hex.EncodeToString(sum[:])
}

// Equal compares two E.164 numbers in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// MatchesHash reports whether hexHash (any case) is the CAMARA hash of number,
// in constant time.
func MatchesHash(number, hexHash string) bool {
	return subtle.ConstantTimeCompare([]byte(Hash(number)), []byte(strings.ToLower(hexHash))) == 1
}

// Pseudonymizer turns numbers into keyed, irreversible identifiers: the form in
// which numbers are stored once the clear number is no longer needed, and the
// only form that may reach a log line.
type Pseudonymizer struct {
	key []byte
	// macs holds keyed HMACs for reuse: Reset returns one to its keyed
	// state, which spares each Pseudonym the key schedule (two SHA-256
	// blocks) and the allocations of hmac.New.
	macs sync.Pool
}

// NewPseudonymizer returns a Pseudonymizer keyed with key (at least 32 bytes).
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < 32 {
		return nil, errors.New("msisdn: pseudonymisation key must be at least 32 bytes")
	}
	p := &Pseudonymizer{key: append([]byte(nil), key...)}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p, nil
}

// Pseudonym returns the hex HMAC-SHA-256 of number under the key, optionally
// scoped by context strings (a client id makes it pairwise).
func (p *Pseudonymizer) Pseudonym(number string, scope ...string) string {
	m := p.macs.Get().(hash.Hash)
	defer p.macs.Put(m)
	m.Reset()
	for _, s := range scope {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	m.Write([]byte(number))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}
