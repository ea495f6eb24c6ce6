package kpn

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// The polling result echoes the claimed number (msisdn) for as long as the
// result is kept, but the core keeps only the number's pseudonym once the
// attempt is decided. So the polling grant keeps the number sealed
// (AES-256-GCM) under a key derived from the polling id, which only the
// client holds: the store alone — a backup, a leaked database — cannot
// open it, as its grant key is a different one-way hash of the id.

// sealLabel separates the sealing key from every other use of the id.
const sealLabel = "numgate kpn polling msisdn v1"

// sealKey derives the sealing key of a polling id.
func sealKey(id string) []byte {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte(sealLabel))
	return m.Sum(nil)
}

// seal encrypts number under id, bound to the attempt (additional data).
func seal(id, attemptID, number string) (string, error) {
	aead, err := newAEAD(id)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(number), []byte(attemptID))), nil
}

// open decrypts what seal made with the same id and attempt.
func open(id, attemptID, sealed string) (string, error) {
	aead, err := newAEAD(id)
	if err != nil {
		return "", err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return "", errors.New("sealed number is malformed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, b[:n], b[n:], []byte(attemptID))
	if err != nil {
		return "", errors.New("sealed number does not open with this id")
	}
	return string(plain), nil
}

func newAEAD(id string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(sealKey(id))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
