package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// AccessToken is what the resource server (the CAMARA API) learns of an
// access token.
type AccessToken struct {
	// ClientID is the client the token was issued to.
	ClientID string
	// AttemptID is the verification attempt behind a network-authenticated
	// token; empty for a client credentials token.
	AttemptID string
	// Scopes are the granted scope values, the purpose among them.
	Scopes []string
	// Purpose is the granted dpv: purpose, or "".
	Purpose string
	// NetworkAuthenticated is true for a 3-legged token issued after the
	// mobile network identified the device; false for client credentials.
	NetworkAuthenticated bool
	// IssuedAt and ExpiresAt bound the token's validity.
	IssuedAt, ExpiresAt time.Time
}

// Errors of LookupAccessToken and ConsumeAccessToken.
var (
	// ErrInvalidToken: the token is unknown, malformed or already used.
	ErrInvalidToken = errors.New("oauth: access token unknown, malformed or used")
	// ErrTokenExpired: the token was issued but its lifetime is over.
	ErrTokenExpired = errors.New("oauth: access token expired")
)

// expiredGrace is how long an expired access token is still recognised as
// expired (rather than unknown) before the store may forget it.
const expiredGrace = 10 * time.Minute

// accessTokenData is the stored JSON of an access token grant.
type accessTokenData struct {
	Scopes               []string  `json:"scopes"`
	Purpose              string    `json:"purpose,omitempty"`
	NetworkAuthenticated bool      `json:"network_authenticated"`
	ExpiresAt            time.Time `json:"expires_at"`
}

// issueAccessToken creates and stores a new access token. The store keeps
// only the token's hash.
func (s *Server) issueAccessToken(ctx context.Context, clientID, attemptID string, sc scopes, networkAuth bool) (string, AccessToken, error) {
	token := randid.Secret()
	g, at, err := s.accessTokenGrant(token, clientID, attemptID, sc, networkAuth)
	if err != nil {
		return "", AccessToken{}, err
	}
	if err := s.store.PutGrant(ctx, g); err != nil {
		return "", AccessToken{}, fmt.Errorf("store access token: %w", err)
	}
	return token, at, nil
}

// accessTokenGrant returns the grant that stores token (by its hash), and
// what the token grants.
func (s *Server) accessTokenGrant(token, clientID, attemptID string, sc scopes, networkAuth bool) (store.Grant, AccessToken, error) {
	now := s.now().UTC()
	at := AccessToken{
		ClientID: clientID, AttemptID: attemptID, Scopes: sc.values, Purpose: sc.purpose,
		NetworkAuthenticated: networkAuth, IssuedAt: now, ExpiresAt: now.Add(s.atLife),
	}
	data, err := json.Marshal(accessTokenData{
		Scopes: at.Scopes, Purpose: at.Purpose, NetworkAuthenticated: networkAuth, ExpiresAt: at.ExpiresAt,
	})
	if err != nil {
		return store.Grant{}, AccessToken{}, err
	}
	return store.Grant{
		Kind: store.GrantAccessToken, Key: randid.Key(token), ClientID: clientID, AttemptID: attemptID,
		Data: data, CreatedAt: now, ExpiresAt: at.ExpiresAt.Add(expiredGrace),
	}, at, nil
}

// LookupAccessToken returns what an access token grants without using it
// up. It returns ErrInvalidToken for an unknown, malformed or used token
// and ErrTokenExpired for one whose lifetime is over.
func (s *Server) LookupAccessToken(ctx context.Context, token string) (AccessToken, error) {
	if !wellFormedSecret(token) {
		return AccessToken{}, ErrInvalidToken
	}
	g, err := s.store.GetGrant(ctx, store.GrantAccessToken, randid.Key(token), s.now())
	return s.accessToken(g, err)
}

// ConsumeAccessToken uses an access token up and returns what it granted:
// of two concurrent calls with the same token exactly one succeeds, the
// other gets ErrInvalidToken, as does every later call. An expired token is
// reported as ErrTokenExpired and not consumed.
func (s *Server) ConsumeAccessToken(ctx context.Context, token string) (AccessToken, error) {
	if _, err := s.LookupAccessToken(ctx, token); err != nil {
		return AccessToken{}, err
	}
	g, err := s.store.ConsumeGrant(ctx, store.GrantAccessToken, randid.Key(token), s.now())
	return s.accessToken(g, err)
}

// ConsumeAccessTokenAndCompare checks an access token, uses it up and, in
// the same store transaction, compares claim with the number the network
// identified for the token's attempt and consumes the attempt
// (core.Service.Compare). An unknown, used or expired token gives the
// errors of ConsumeAccessToken, before anything else. Then check is called
// with what the token grants (the resource server's own checks); its error
// is returned as is and nothing is used up, as for a malformed claim
// (core.ErrInvalidClaim). Then the token is used up; the attempt's errors
// are core's (ErrNotFound, ErrWrongState). It returns what the token
// granted and whether the numbers match.
func (s *Server) ConsumeAccessTokenAndCompare(ctx context.Context, token string, check func(AccessToken) error, claim core.Claim) (AccessToken, bool, error) {
	if !wellFormedSecret(token) {
		return AccessToken{}, false, ErrInvalidToken
	}
	var at AccessToken
	_, matched, err := s.core.CompareGrant(ctx, store.GrantAccessToken, randid.Key(token), func(g store.Grant) error {
		var err error
		if at, err = s.accessToken(g, nil); err != nil {
			return err
		}
		return check(at)
	}, claim)
	if errors.Is(err, store.ErrNotFound) {
		return AccessToken{}, false, ErrInvalidToken
	}
	return at, matched, err
}

// accessToken decodes a stored access token grant and checks its expiry.
func (s *Server) accessToken(g store.Grant, err error) (AccessToken, error) {
	if errors.Is(err, store.ErrNotFound) {
		return AccessToken{}, ErrInvalidToken
	}
	if err != nil {
		return AccessToken{}, fmt.Errorf("oauth: access token: %w", err)
	}
	var d accessTokenData
	if err := json.Unmarshal(g.Data, &d); err != nil {
		return AccessToken{}, fmt.Errorf("oauth: access token data: %w", err)
	}
	if !s.now().Before(d.ExpiresAt) {
		return AccessToken{}, ErrTokenExpired
	}
	return AccessToken{
		ClientID: g.ClientID, AttemptID: g.AttemptID, Scopes: d.Scopes, Purpose: d.Purpose,
		NetworkAuthenticated: d.NetworkAuthenticated, IssuedAt: g.CreatedAt, ExpiresAt: d.ExpiresAt,
	}, nil
}

// wellFormedSecret reports whether s has the form of randid.Secret (43
// base64url characters), so that garbage never reaches the store.
func wellFormedSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
