package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Grant types served at the token endpoint.
const (
	grantAuthorizationCode = "authorization_code"
	grantClientCredentials = "client_credentials"
)

// grantCodeUsed remembers, for a while after a code was redeemed, which
// access token it produced, so that a replayed code revokes that token (RFC
// 6749 section 4.1.2).
const grantCodeUsed store.GrantKind = "code_used"

// FlowGrantKinds returns the kinds of grant the server keeps for the
// length of a flow: authorization codes, access tokens and code-used
// records. A store may keep them (and their attempts) in memory; see
// package ephemeral.
func FlowGrantKinds() []store.GrantKind {
	return []store.GrantKind{store.GrantCode, store.GrantAccessToken, grantCodeUsed}
}

// tokenResponse is the RFC 6749 section 5.1 success body (plus id_token).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	IDToken     string `json:"id_token,omitempty"`
}

// serveToken is the token endpoint.
//
// Order of checks, so that a bad request changes nothing: (1) the form, its
// content type and duplicates; (2) grant_type and the grant's own
// parameters, by syntax alone; (3) client authentication, whose only write
// is the assertion's jti, and that only after the assertion is verified;
// (4) for a code, every binding (client, redirect_uri, PKCE) is checked on
// the code without consuming it; (5) only then is the code consumed,
// atomically, and the token issued. A request rejected before (5) leaves the
// code usable by its rightful client.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	start := s.now()
	attrs := []slog.Attr{slog.String("endpoint", "token")}
	resp, attrs, err := s.token(ctx, w, r, attrs)
	if err != nil {
		e := s.asOAuthError(r, err, attrs)
		writeError(w, e)
		s.logResult(ctx, attrs, start, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
	s.logResult(ctx, attrs, start, nil)
}

// token handles one token request and returns the response or the error
// to render, and the log attributes gathered on the way.
func (s *Server) token(ctx context.Context, w http.ResponseWriter, r *http.Request, attrs []slog.Attr) (tokenResponse, []slog.Attr, error) {
	p, oe := readForm(w, r)
	if oe != nil {
		return tokenResponse{}, attrs, oe
	}
	if d := p.duplicate(); d != "" {
		return tokenResponse{}, attrs, duplicateError(d)
	}
	gt := p.get("grant_type")
	attrs = append(attrs, slog.String("grant_type", gt))
	switch gt {
	case "":
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidRequest, "grant_type is required")
	case grantAuthorizationCode:
		return s.codeGrant(ctx, r, p, attrs)
	case grantClientCredentials:
		return s.clientCredentialsGrant(ctx, r, p, attrs)
	}
	return tokenResponse{}, attrs, errorf(ErrCodeUnsupportedGrantType, "grant_type must be authorization_code or client_credentials")
}

// codeGrant redeems an authorization code (RFC 6749 section 4.1.3, OIDC
// Core section 3.1.3).
func (s *Server) codeGrant(ctx context.Context, r *http.Request, p params, attrs []slog.Attr) (tokenResponse, []slog.Attr, error) {
	code, redirectURI, verifier := p.get("code"), p.get("redirect_uri"), p.get("code_verifier")
	switch {
	case code == "":
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidRequest, "code is required")
	case redirectURI == "":
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidRequest, "redirect_uri is required")
	case verifier != "" && !validVerifier(verifier):
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidRequest, "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
	}
	c, method, err := s.authenticateClient(ctx, r, p)
	if err != nil {
		return tokenResponse{}, attrs, err
	}
	attrs = append(attrs, slog.String("client", c.ID), slog.String("auth_method", method))

	if !wellFormedSecret(code) {
		return tokenResponse{}, attrs, badCode
	}
	rc, attemptID, err := s.redeemCode(ctx, c, code, redirectURI, verifier, attrs)
	if attemptID != "" {
		attrs = append(attrs, slog.String("attempt", attemptID))
	}
	if err != nil {
		return tokenResponse{}, attrs, err
	}
	resp := tokenResponse{
		AccessToken: rc.token, TokenType: "Bearer", ExpiresIn: int64(s.atLife.Seconds()),
		Scope: rc.scopes.String(), IDToken: rc.idToken,
	}
	return resp, attrs, nil
}

// redeemedCode is what an authorization code was exchanged for.
type redeemedCode struct {
	token   string
	scopes  scopes
	idToken string // with scope openid, else empty
}

// redeemCode exchanges a well-formed code for an access token, and an ID
// token when openid was granted: the rules of /token for codes, shared by
// the token endpoint and RedeemCode. Every check on the code — its
// client, redirect URI and PKCE — comes before it is used up, so a refusal
// writes nothing and leaves the code to its rightful client; a replayed
// code revokes the token it produced. attemptID names the code's attempt
// once the code was found (for the log), also when it is refused. attrs
// are the log attributes of a replay.
func (s *Server) redeemCode(ctx context.Context, c store.Client, code, redirectURI, verifier string, attrs []slog.Attr) (rc redeemedCode, attemptID string, err error) {
	key := randid.Key(code)
	token := randid.Secret()
	var (
		cd  codeData
		at  AccessToken
		bad error // the attempt behind the code is no longer valid
	)
	_, a, err := s.store.RedeemGrant(ctx, store.GrantCode, key, s.now(), func(g store.Grant, a store.Attempt) (store.Redemption, error) {
		cd, attemptID = codeData{}, g.AttemptID
		if err := json.Unmarshal(g.Data, &cd); err != nil {
			return store.Redemption{}, fmt.Errorf("code data: %w", err)
		}
		if err := checkCodeBinding(g, cd, c.ID, redirectURI, verifier); err != nil {
			return store.Redemption{}, err
		}
		if core.State(a.State) != core.StateDecided || !core.Outcome(a.Outcome).Identified() || a.ClientID != c.ID {
			bad = errorf(ErrCodeInvalidGrant, "the verification behind the code is no longer valid")
			return store.Redemption{}, nil // the code is used up, nothing issued
		}
		bad = nil
		tg, issued, err := s.accessTokenGrant(token, c.ID, a.ID, scopes{values: cd.Scopes, purpose: cd.Purpose}, true)
		if err != nil {
			return store.Redemption{}, err
		}
		at = issued
		return store.Redemption{Grants: []store.Grant{tg, s.codeUsedGrant(key, g, token)}}, nil
	})
	var oe *Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		return redeemedCode{}, "", s.codeReplayed(ctx, key, attrs)
	case errors.As(err, &oe):
		return redeemedCode{}, attemptID, oe
	case err != nil:
		return redeemedCode{}, attemptID, fmt.Errorf("oauth: redeem code: %w", err)
	case bad != nil:
		return redeemedCode{}, attemptID, bad
	}

	rc = redeemedCode{token: token, scopes: scopes{values: cd.Scopes, purpose: cd.Purpose}}
	if rc.scopes.has(ScopeOpenID) {
		if a.DeviceNumber == "" {
			return redeemedCode{}, attemptID, errors.New("oauth: decided attempt has no device number")
		}
		sub := s.subject(a.DeviceNumber, c.ID)
		if sub == "" {
			return redeemedCode{}, attemptID, errors.New("oauth: config Subject returned an empty subject")
		}
		if rc.idToken, err = s.mintIDToken(c, sub, cd.Nonce, token, cd.AuthTime, at.IssuedAt); err != nil {
			return redeemedCode{}, attemptID, err
		}
	}
	return rc, attemptID, nil
}

// checkCodeBinding checks a code against the token request: the client it
// was issued to, the exact redirect URI and PKCE. Each failure is
// invalid_grant.
func checkCodeBinding(g store.Grant, cd codeData, clientID, redirectURI, verifier string) *Error {
	switch {
	case g.ClientID != clientID:
		return errorf(ErrCodeInvalidGrant, "the code was issued to another client")
	case cd.RedirectURI != redirectURI:
		return errorf(ErrCodeInvalidGrant, "redirect_uri does not match the authorization request")
	case cd.CodeChallenge != "" && verifier == "":
		return errorf(ErrCodeInvalidGrant, "code_verifier is required: the authorization request used PKCE")
	case cd.CodeChallenge == "" && verifier != "":
		// RFC 9700 section 2.1.1: refuse a verifier for a code issued
		// without a challenge (PKCE downgrade).
		return errorf(ErrCodeInvalidGrant, "code_verifier was given but the authorization request had no code_challenge")
	case cd.CodeChallenge != "" && !verifierMatches(verifier, cd.CodeChallenge):
		return errorf(ErrCodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// badCode is the one answer for a code that is unknown, expired or used.
var badCode = errorf(ErrCodeInvalidGrant, "the code is invalid, expired or already used")

// rememberCode records which access token a code produced, for as long as
// the token lives, so that a replay of the code can revoke it.
func (s *Server) rememberCode(ctx context.Context, codeKey string, code store.Grant, token string) {
	if err := s.store.PutGrant(ctx, s.codeUsedGrant(codeKey, code, token)); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "could not record redeemed code", slog.Any("error", err))
	}
}

// codeUsedGrant is the record of a redeemed code: which access token it
// produced, for as long as the token lives.
func (s *Server) codeUsedGrant(codeKey string, code store.Grant, token string) store.Grant {
	now := s.now().UTC()
	return store.Grant{
		Kind: grantCodeUsed, Key: codeKey, ClientID: code.ClientID, AttemptID: code.AttemptID,
		Data: []byte(`"` + randid.Key(token) + `"`), CreatedAt: now, ExpiresAt: now.Add(s.atLife),
	}
}

// codeReplayed handles a code that is not (or no longer) redeemable: if it
// was redeemed recently, the access token it produced is revoked.
func (s *Server) codeReplayed(ctx context.Context, codeKey string, attrs []slog.Attr) error {
	used, err := s.store.ConsumeGrant(ctx, grantCodeUsed, codeKey, s.now())
	if err != nil {
		return badCode
	}
	var tokenKey string
	if json.Unmarshal(used.Data, &tokenKey) == nil {
		_, err = s.store.ConsumeGrant(ctx, store.GrantAccessToken, tokenKey, s.now())
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "authorization code replayed; its access token is revoked",
		append(attrs, slog.String("attempt", used.AttemptID), slog.Bool("token_was_live", err == nil))...)
	return badCode
}

// clientCredentialsGrant issues a 2-legged token (RFC 6749 section 4.4) to
// an authenticated client: no user, no attempt, NetworkAuthenticated false.
// CAMARA requires the scope parameter here.
func (s *Server) clientCredentialsGrant(ctx context.Context, r *http.Request, p params, attrs []slog.Attr) (tokenResponse, []slog.Attr, error) {
	if !p.has("scope") {
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidRequest, "scope is required")
	}
	sc, oe := s.parseScope(p.get("scope"))
	if oe != nil {
		return tokenResponse{}, attrs, oe
	}
	c, method, err := s.authenticateClient(ctx, r, p)
	if err != nil {
		return tokenResponse{}, attrs, err
	}
	attrs = append(attrs, slog.String("client", c.ID), slog.String("auth_method", method))
	if method == AuthNone {
		return tokenResponse{}, attrs, errorf(ErrCodeUnauthorizedClient, "client_credentials is only for clients that authenticate")
	}
	if oe := allowedFor(c, sc); oe != nil {
		return tokenResponse{}, attrs, oe
	}
	// openid means nothing without a user: it is not granted.
	granted := scopes{purpose: sc.purpose}
	for _, v := range sc.values {
		if v != ScopeOpenID {
			granted.values = append(granted.values, v)
		}
	}
	if len(granted.values) == 0 {
		return tokenResponse{}, attrs, errorf(ErrCodeInvalidScope, "client_credentials needs a scope other than openid")
	}
	token, _, err := s.issueAccessToken(ctx, c.ID, "", granted, false)
	if err != nil {
		return tokenResponse{}, attrs, err
	}
	return tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(s.atLife.Seconds()), Scope: strings.Join(granted.values, " ")}, attrs, nil
}
