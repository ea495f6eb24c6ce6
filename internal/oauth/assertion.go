package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"unicode"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/store"
)

// clientAssertionType is the one client_assertion_type (RFC 7523 section 2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionAlgs are the JWS algorithms accepted for client assertions
// (asymmetric only: client_secret_jwt is not supported).
var assertionAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// maxJTILength bounds a client assertion's jti.
const maxJTILength = 256

// verifyAssertion authenticates a client by its private_key_jwt assertion
// (OIDC Core section 9, RFC 7523 section 3, CAMARA ICM Client
// Authentication) and returns the client. Every check that changes nothing
// comes first: signature with the client's registered keys, iss = sub =
// client_id, aud, exp within 300 s (+ClockLeeway) of now and not past
// (+ClockLeeway), exp - iat at most 300 s, nbf. Only then is the jti recorded, until exp
// plus the leeway, so that a replay within the assertion's whole acceptance
// window is refused.
func (s *Server) verifyAssertion(ctx context.Context, r *http.Request, assertion, formClientID string) (store.Client, error) {
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return store.Client{}, invalidClient("client_assertion must be a signed JWT (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA)").WithCause(err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return store.Client{}, invalidClient("client_assertion claims are malformed").WithCause(err)
	}
	if unverified.Issuer == "" || unverified.Subject != unverified.Issuer {
		return store.Client{}, invalidClient("client_assertion iss and sub must both be the client_id")
	}
	if formClientID != "" && formClientID != unverified.Issuer {
		return store.Client{}, invalidClient("client_id does not match the client_assertion issuer")
	}
	c, err := s.store.GetClient(ctx, unverified.Issuer)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, invalidClient("unknown client")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", err)
	}
	if len(c.JWKS) == 0 {
		return store.Client{}, invalidClient("the client has no registered keys for private_key_jwt")
	}
	keys, err := clientKeys(c)
	if err != nil {
		return store.Client{}, invalidClient("the client's registered keys are unusable").WithCause(err)
	}

	var claims jwt.Claims
	if !verifyWithAny(tok, keys, &claims) {
		return store.Client{}, invalidClient("client_assertion signature does not verify with the client's registered keys")
	}
	if err := s.checkAssertionClaims(r, claims); err != nil {
		return store.Client{}, err
	}

	now := s.now()
	err = s.store.PutGrant(ctx, store.Grant{
		Kind:      store.GrantAssertion,
		Key:       c.ID + ":" + claims.ID,
		ClientID:  c.ID,
		CreatedAt: now,
		ExpiresAt: claims.Expiry.Time().Add(ClockLeeway),
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.Client{}, invalidClient("client_assertion jti was already used")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("record assertion jti: %w", err)
	}
	return c, nil
}

// verifyWithAny verifies tok with the keys of set that may have signed it
// (matching kid when the header names one, and alg when the key names one),
// and fills claims from the first that does.
func verifyWithAny(tok *jwt.JSONWebToken, set jose.JSONWebKeySet, claims *jwt.Claims) bool {
	h := tok.Headers[0]
	for _, k := range set.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		if err := tok.Claims(k.Key, claims); err == nil {
			return true
		}
	}
	return false
}

// checkAssertionClaims checks a verified assertion's aud, times and jti.
func (s *Server) checkAssertionClaims(r *http.Request, c jwt.Claims) *Error {
	if !slicesContainsAny(c.Audience, s.assertionAudiences(r)) {
		return invalidClient("client_assertion aud must be the token endpoint URL or the issuer")
	}
	now := s.now()
	if c.Expiry == nil {
		return invalidClient("client_assertion exp is required")
	}
	exp := c.Expiry.Time()
	// Refused from exp plus the leeway on, the instant the jti's record
	// (verifyAssertion) expires in the store: accepted then, a replay
	// would find it expired and be taken for a first use.
	if !now.Before(exp.Add(ClockLeeway)) {
		return invalidClient("client_assertion has expired")
	}
	if exp.Sub(now) > MaxAssertionLifetime+ClockLeeway {
		return invalidClient("client_assertion exp must be at most 300 seconds after the time of receipt")
	}
	if c.IssuedAt != nil {
		iat := c.IssuedAt.Time()
		if iat.After(now.Add(ClockLeeway)) {
			return invalidClient("client_assertion iat is in the future")
		}
		if exp.Sub(iat) > MaxAssertionLifetime {
			return invalidClient("client_assertion lifetime (exp - iat) must be at most 300 seconds")
		}
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(ClockLeeway)) {
		return invalidClient("client_assertion is not yet valid (nbf)")
	}
	if c.ID == "" || len(c.ID) > maxJTILength {
		return invalidClient("client_assertion jti is required (at most 256 characters)")
	}
	if !printableText(c.ID) {
		// A NUL or invalid UTF-8 (both valid in JSON strings) cannot be
		// recorded as a key by every store: refused here as bad input,
		// not a server error.
		return invalidClient("client_assertion jti must be printable UTF-8 text")
	}
	return nil
}

// assertionAudiences are the aud values that name this server: the issuer,
// the token endpoint URL, and the URL the request was actually sent to under
// the issuer's origin (an alias mount such as Vonage's /oauth2/token).
func (s *Server) assertionAudiences(r *http.Request) []string {
	auds := []string{s.issuer, s.tokenURL}
	if r.URL.Path != "" {
		auds = append(auds, s.origin+r.URL.Path)
	}
	return auds
}

func slicesContainsAny(have jwt.Audience, want []string) bool {
	for _, w := range want {
		if have.Contains(w) {
			return true
		}
	}
	return false
}

// printableText reports whether s is valid UTF-8 without control characters.
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
