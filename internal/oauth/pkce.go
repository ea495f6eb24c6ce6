package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// pkceS256 is the one code_challenge_method supported (RFC 7636 section
// 4.2; plain offers no protection against a leaked authorization request).
const pkceS256 = "S256"

// validChallenge reports whether s can be an S256 code_challenge: the
// base64url encoding, without padding, of a SHA-256 digest (43 characters).
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// validVerifier reports whether s is a code_verifier of RFC 7636 section
// 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// verifierMatches reports, in constant time, whether verifier is the S256
// pre-image of challenge.
func verifierMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
