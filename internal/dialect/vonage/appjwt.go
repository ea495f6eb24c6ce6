package vonage

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/numgate/numgate/internal/store"
)

// maxJTILength bounds a JWT's jti (Vonage's libraries send a UUID).
const maxJTILength = 256

// appClaims are the claims of a Vonage application JWT. Vonage's libraries
// (Node @vonage/jwt, Python vonage-jwt, the Go, Java, .NET, PHP and Ruby
// SDKs) always send application_id, iat, exp and jti; sub, acl and nbf are
// optional and, but for nbf, ignored: the JWT authenticates the
// application, nothing more. Numeric dates may be fractional (PHP).
type appClaims struct {
	jwt.Claims
	ApplicationID string `json:"application_id"`
}

// appAuth is an application authenticated by its JWT, before its jti is
// recorded.
type appAuth struct {
	client store.Client
	jti    string
	exp    time.Time
}

// unauthorized is a 401 problem; the reason goes to the log only.
func unauthorized(detail string) *Problem { return problem(kindUnauthorized, detail) }

// authenticateApp verifies the application JWT in the Authorization header
// (Bearer, RS256, signed by a key the application registered) and its
// times. It writes nothing: recordJTI makes the JWT single-use once the
// request has been validated, so a refused request leaves the JWT usable.
func (a *API) authenticateApp(ctx context.Context, r *http.Request) (appAuth, error) {
	raw, ok := bearer(r)
	if !ok {
		return appAuth{}, unauthorized("an application JWT is required as Authorization: Bearer")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return appAuth{}, unauthorized("the application JWT must be a JWS signed with RS256").because(err.Error())
	}
	h := tok.Headers[0]
	if typ, ok := h.ExtraHeaders[jose.HeaderType].(string); ok && !strings.EqualFold(typ, "JWT") {
		return appAuth{}, unauthorized("the application JWT's typ header must be JWT")
	}
	var unverified appClaims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return appAuth{}, unauthorized("the application JWT's claims are malformed").because(err.Error())
	}
	if unverified.ApplicationID == "" {
		return appAuth{}, unauthorized("the application JWT has no application_id")
	}
	c, err := a.store.GetClient(ctx, unverified.ApplicationID)
	if errors.Is(err, store.ErrNotFound) {
		return appAuth{}, unauthorized("unknown application")
	}
	if err != nil {
		return appAuth{}, fmt.Errorf("get client: %w", err)
	}
	keys, err := rsaKeys(c)
	if err != nil {
		return appAuth{}, unauthorized("the application has no usable public key registered").because(err.Error())
	}
	var claims appClaims
	if !verifyWithAny(tok, h.KeyID, keys, &claims) {
		return appAuth{}, unauthorized("the application JWT's signature does not verify with the application's public key")
	}
	if err := a.checkTimes(claims); err != nil {
		return appAuth{}, err
	}
	// A spent JWT is refused here, before anything counts it (the rate
	// limits of the Network Enablement call among them): only recordJTI
	// spends, but a replay must not be able to use up anyone's allowance.
	if _, err := a.store.GetGrant(ctx, grantJTI, jtiKey(c.ID, claims.ID), a.now()); err == nil {
		return appAuth{}, errJTIUsed
	} else if !errors.Is(err, store.ErrNotFound) {
		return appAuth{}, fmt.Errorf("look up jti: %w", err)
	}
	return appAuth{client: c, jti: claims.ID, exp: claims.Expiry.Time()}, nil
}

// errJTIUsed refuses an application JWT whose jti was already used.
var errJTIUsed = unauthorized("the application JWT was already used (jti); make a new one per request")

// jtiKey is the store key of an application's seen jti.
func jtiKey(appID, jti string) string { return appID + ":" + jti }

// checkTimes checks a verified JWT's jti, iat, exp and nbf.
func (a *API) checkTimes(c appClaims) *Problem {
	now := a.now()
	switch {
	case c.ID == "" || len(c.ID) > maxJTILength:
		return unauthorized("the application JWT needs a jti (at most 256 characters)")
	case c.IssuedAt == nil:
		return unauthorized("the application JWT needs an iat")
	case c.Expiry == nil:
		return unauthorized("the application JWT needs an exp")
	case c.IssuedAt.Time().After(now.Add(JWTLeeway)):
		return unauthorized("the application JWT's iat is in the future")
	case !now.Before(c.Expiry.Time().Add(JWTLeeway)):
		return unauthorized("the application JWT has expired")
	case c.Expiry.Time().Sub(now) > a.maxJWT+JWTLeeway:
		return unauthorized(fmt.Sprintf("the application JWT's exp is more than %v away", a.maxJWT))
	case !c.Expiry.Time().After(c.IssuedAt.Time()):
		return unauthorized("the application JWT's exp is not after its iat")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(JWTLeeway)):
		return unauthorized("the application JWT is not valid yet (nbf)")
	}
	return nil
}

// recordJTI makes the JWT single-use: its jti is remembered until it
// expires, and a second use is refused.
func (a *API) recordJTI(ctx context.Context, app appAuth) error {
	now := a.now().UTC()
	err := a.store.PutGrant(ctx, store.Grant{
		Kind: grantJTI, Key: jtiKey(app.client.ID, app.jti), ClientID: app.client.ID,
		CreatedAt: now, ExpiresAt: app.exp.Add(JWTLeeway),
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return errJTIUsed
	}
	if err != nil {
		return fmt.Errorf("record jti: %w", err)
	}
	return nil
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", false
	}
	return raw, true
}

// minRSABits is the smallest application key accepted.
const minRSABits = 2048

// rsaKeys returns the RSA public signing keys of an application's
// registered JWKS (of at least minRSABits).
func rsaKeys(c store.Client) ([]jose.JSONWebKey, error) {
	if len(c.JWKS) == 0 {
		return nil, errors.New("no JWKS registered")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		// RS256 needs at least 2048 bits (RFC 7518 section 3.3), as the
		// OAuth server requires of private_key_jwt keys; a shorter key
		// stored before registration refused it authenticates nothing.
		if pk, ok := k.Key.(*rsa.PublicKey); ok && k.Use != "enc" && pk.N.BitLen() >= minRSABits {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA public signing key of at least 2048 bits in the JWKS")
	}
	return keys, nil
}

// verifyWithAny verifies tok with the first key that matches kid (when
// the header names one) and the RS256 algorithm, and fills claims.
func verifyWithAny(tok *jwt.JSONWebToken, kid string, keys []jose.JSONWebKey, claims *appClaims) bool {
	for _, k := range keys {
		if kid != "" && k.KeyID != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != string(jose.RS256) {
			continue
		}
		if err := tok.Claims(k.Key, claims); err == nil {
			return true
		}
	}
	return false
}
