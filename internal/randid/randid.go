// Package randid makes unguessable identifiers and secrets from crypto/rand.
package randid

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// ID returns a new random identifier: 128 bits, base64url without padding
// (22 characters).
func ID() string { return encode(16) }

// Secret returns a new random secret: 256 bits, base64url without padding
// (43 characters). Use it for codes, tokens and client secrets.
func Secret() string { return encode(32) }

// Key returns the storage key of a secret: its hex SHA-256, so that a leaked
// database does not leak usable codes or tokens.
func Key(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func encode(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
