package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// This file lets a dialect with its own authorization front end (Vonage:
// the Network Enablement call, /oauth2/auth, and application JWTs instead of
// RFC 6749 client authentication) use this server's authorization codes and
// access tokens rather than parallel ones: the dialect decides the attempt
// and authenticates the client its own way; codes, their bindings, their
// single use and replay revocation, and the access tokens stay here.

// ExternalCode is an authorization code request for an attempt that a
// dialect started and decided itself.
type ExternalCode struct {
	// ClientID is the client the code is for; it must be the attempt's client.
	ClientID string
	// AttemptID is the decided attempt behind the code.
	AttemptID string
	// RedirectURI is the redirect URI the code is bound to: the token
	// request must repeat it.
	RedirectURI string
	// Scopes are the scope values granted (the dialect's own, checked by
	// the dialect). With openid among them, redemption adds an ID token.
	Scopes []string
	// CodeChallenge is an optional PKCE S256 challenge.
	CodeChallenge string
}

// IssuedToken is an access token issued by RedeemCode.
type IssuedToken struct {
	// AccessToken is the token itself (stored only as its hash).
	AccessToken string
	// TokenType is always "Bearer".
	TokenType string
	// ExpiresIn is the token's lifetime.
	ExpiresIn time.Duration
	// Scopes are the granted scope values.
	Scopes []string
	// IDToken is set when openid was granted.
	IDToken string
}

// IssueCode issues an authorization code for an attempt that the calling
// dialect decided, on behalf of a client it checked. The attempt must be
// the client's and decided with an identified device (match, no_match or
// identified); otherwise nothing is stored and the error is an *Error.
func (s *Server) IssueCode(ctx context.Context, c ExternalCode) (string, error) {
	if c.ClientID == "" || c.AttemptID == "" || c.RedirectURI == "" || len(c.Scopes) == 0 {
		return "", errors.New("oauth: IssueCode needs a client, an attempt, a redirect URI and scopes")
	}
	for _, v := range c.Scopes {
		if !validScopeToken(v) {
			return "", errorf(ErrCodeInvalidScope, "the scope parameter is malformed")
		}
	}
	if c.CodeChallenge != "" && !validChallenge(c.CodeChallenge) {
		return "", errorf(ErrCodeInvalidRequest, "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)")
	}
	a, err := s.core.Get(ctx, c.AttemptID)
	if err != nil {
		return "", fmt.Errorf("oauth: get attempt: %w", err)
	}
	if a.ClientID != c.ClientID {
		return "", errors.New("oauth: the attempt belongs to another client")
	}
	if oe := OutcomeError(core.Outcome(a.Outcome)); core.State(a.State) != core.StateDecided || oe != nil {
		if oe == nil {
			oe = errorf(ErrCodeServerError, "the verification attempt is not decided")
		}
		return "", oe
	}
	cd, err := json.Marshal(codeData{
		RedirectURI: c.RedirectURI, Scopes: c.Scopes, CodeChallenge: c.CodeChallenge, AuthTime: a.UpdatedAt,
	})
	if err != nil {
		return "", err
	}
	code := randid.Secret()
	now := s.now().UTC()
	err = s.store.PutGrant(ctx, store.Grant{
		Kind: store.GrantCode, Key: randid.Key(code), ClientID: c.ClientID, AttemptID: a.ID,
		Data: cd, CreatedAt: now, ExpiresAt: now.Add(s.codeLife),
	})
	if err != nil {
		return "", fmt.Errorf("oauth: store code: %w", err)
	}
	return code, nil
}

// RedeemCode exchanges an authorization code for an access token on behalf
// of a client that the calling dialect already authenticated (for example
// by a Vonage application JWT). It applies the token endpoint's rules for
// codes, in the same store transaction as /token: bound to the client, the
// redirect URI and the PKCE challenge, all checked before the code is used
// up; single use, and a replayed code revokes the token it produced.
// Refusals are *Error values with RFC 6749 codes (invalid_request,
// invalid_grant).
func (s *Server) RedeemCode(ctx context.Context, c store.Client, code, redirectURI, codeVerifier string) (IssuedToken, error) {
	attrs := []slog.Attr{slog.String("endpoint", "external-token"), slog.String("client", c.ID)}
	switch {
	case code == "":
		return IssuedToken{}, errorf(ErrCodeInvalidRequest, "code is required")
	case redirectURI == "":
		return IssuedToken{}, errorf(ErrCodeInvalidRequest, "redirect_uri is required")
	case codeVerifier != "" && !validVerifier(codeVerifier):
		return IssuedToken{}, errorf(ErrCodeInvalidRequest, "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	case !wellFormedSecret(code):
		return IssuedToken{}, badCode
	}
	rc, _, err := s.redeemCode(ctx, c, code, redirectURI, codeVerifier, attrs)
	if err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{AccessToken: rc.token, TokenType: "Bearer", ExpiresIn: s.atLife, Scopes: rc.scopes.values, IDToken: rc.idToken}, nil
}

// OutcomeError maps a decided attempt's outcome onto the authorization
// error a client receives (error and error_description of the redirect), or
// nil when the device was identified (match, no_match, identified). It is
// the mapping /authorize uses, for dialects that redirect the device
// themselves.
func OutcomeError(o core.Outcome) *Error { return outcomeError(o) }
