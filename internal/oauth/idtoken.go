package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/store"
)

// amrNetwork is the amr value of network-based authentication: the mobile
// network named the subscriber behind the device's connection. It is not an
// RFC 8176 registered value (none fits); its meaning is documented in
// docs/design/2026-11-23-oauth-core.md.
const amrNetwork = "nbt"

// idTokenClaims are the claims of an ID token (OIDC Core section 2), in a
// fixed order.
type idTokenClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	AMR      []string `json:"amr"`
	AtHash   string   `json:"at_hash"`
}

// idTokenAlg is the client's ID token algorithm: ES256 when registered so,
// RS256 otherwise.
func idTokenAlg(c store.Client) jose.SignatureAlgorithm {
	if c.IDTokenAlg == string(jose.ES256) {
		return jose.ES256
	}
	return jose.RS256
}

// mintIDToken signs an ID token for a client. sub is already pairwise.
func (s *Server) mintIDToken(c store.Client, sub, nonce, accessToken string, authTime, now time.Time) (string, error) {
	alg := idTokenAlg(c)
	signer, err := s.keys.Load().signer(alg)
	if err != nil {
		return "", err
	}
	claims := idTokenClaims{
		Issuer:   s.issuer,
		Subject:  sub,
		Audience: c.ID,
		Expiry:   now.Add(s.atLife).Unix(),
		IssuedAt: now.Unix(),
		AuthTime: authTime.Unix(),
		Nonce:    nonce,
		AMR:      []string{amrNetwork},
		AtHash:   atHash(accessToken),
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	return tok, nil
}

// atHash is the at_hash of an access token for RS256 and ES256 (OIDC Core
// section 3.1.3.6): the base64url left half of its SHA-256.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
