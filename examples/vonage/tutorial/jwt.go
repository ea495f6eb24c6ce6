package tutorial

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtLifetime is the lifetime of the application JWTs made here: short,
// as each is used once.
const jwtLifetime = 5 * time.Minute

// ParsePrivateKey reads the application's private key as Vonage's
// dashboard hands it out (PKCS#8 PEM), or in PKCS#1 PEM.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("the private key is not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key is neither PKCS#8 nor PKCS#1: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key is not an RSA key")
	}
	return rk, nil
}

// ApplicationJWT makes an application JWT as Vonage's libraries do: RS256,
// typ JWT, claims application_id, iat, exp and a fresh random jti.
func ApplicationJWT(applicationID string, key *rsa.PrivateKey, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	claims := struct {
		ApplicationID string           `json:"application_id"`
		IssuedAt      *jwt.NumericDate `json:"iat"`
		Expiry        *jwt.NumericDate `json:"exp"`
		ID            string           `json:"jti"`
	}{applicationID, jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(jwtLifetime)), randomString(16)}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// randomString returns n random bytes, hex-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return fmt.Sprintf("%x", b)
}
