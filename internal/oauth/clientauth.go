package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/numgate/numgate/internal/store"
)

// Client authentication methods at the token endpoint.
const (
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	// AuthNone is a public client (no secret, no keys) naming itself with
	// client_id; it must have used PKCE.
	AuthNone = "none"
)

// authenticateClient finds the one authentication method a token request
// uses and verifies it. More than one method is an invalid_request; a client
// that has credentials must use them; a public client may only name itself.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, p params) (store.Client, string, error) {
	basicID, basicSecret, basic, err := basicCredentials(r)
	if err != nil {
		return store.Client{}, "", err
	}
	formID := p.get("client_id")
	if basic && basicSecret == "" {
		// A Basic header with an empty secret authenticates nothing; it only
		// names the client, as golang.org/x/oauth2 sends it for clients
		// without a secret (public, or private_key_jwt) when probing.
		basic = false
		if formID != "" && formID != basicID {
			return store.Client{}, "", invalidClient("client_id does not match the Authorization header")
		}
		formID = basicID
	}
	post := p.has("client_secret")
	assertion := p.has("client_assertion") || p.has("client_assertion_type")
	n := 0
	for _, used := range []bool{basic, post, assertion} {
		if used {
			n++
		}
	}
	if n > 1 {
		return store.Client{}, "", errorf(ErrCodeInvalidRequest, "use exactly one client authentication method")
	}

	switch {
	case assertion:
		switch {
		case !p.has("client_assertion"):
			return store.Client{}, "", errorf(ErrCodeInvalidRequest, "client_assertion is required with client_assertion_type")
		case !p.has("client_assertion_type"):
			return store.Client{}, "", errorf(ErrCodeInvalidRequest, "client_assertion_type is required with client_assertion")
		case p.get("client_assertion_type") != clientAssertionType:
			return store.Client{}, "", invalidClient("client_assertion_type must be " + clientAssertionType)
		}
		c, err := s.verifyAssertion(ctx, r, p.get("client_assertion"), formID)
		return c, AuthPrivateKeyJWT, err

	case basic:
		if formID != "" && formID != basicID {
			return store.Client{}, "", invalidClient("client_id does not match the Authorization header")
		}
		c, err := s.checkClientSecret(ctx, basicID, basicSecret)
		return c, AuthClientSecretBasic, err

	case post:
		if formID == "" {
			return store.Client{}, "", invalidClient("client_id is required with client_secret")
		}
		c, err := s.checkClientSecret(ctx, formID, p.get("client_secret"))
		return c, AuthClientSecretPost, err
	}

	if formID == "" {
		return store.Client{}, "", invalidClient("client authentication is required")
	}
	c, err := s.getClient(ctx, formID)
	if err != nil {
		return store.Client{}, "", err
	}
	if !isPublic(c) {
		return store.Client{}, "", invalidClient("client authentication is required (private_key_jwt or client secret)")
	}
	return c, AuthNone, nil
}

// checkClientSecret authenticates a client by its secret.
func (s *Server) checkClientSecret(ctx context.Context, id, secret string) (store.Client, error) {
	c, err := s.getClient(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	if len(c.SecretHash) == 0 {
		return store.Client{}, invalidClient("the client has no secret; use private_key_jwt")
	}
	if !CheckSecret(c, secret) {
		return store.Client{}, invalidClient("the client secret is wrong")
	}
	return c, nil
}

// getClient loads a client; an unknown one is an invalid_client.
func (s *Server) getClient(ctx context.Context, id string) (store.Client, error) {
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, invalidClient("unknown client")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", err)
	}
	return c, nil
}

// basicCredentials reads client_secret_basic credentials: RFC 6749 section
// 2.3.1 form-urlencodes the client ID and secret before they are joined by
// ':' and base64-encoded, so both are decoded here. ok is false when the
// request has no Basic Authorization header.
func basicCredentials(r *http.Request) (id, secret string, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false, nil
	}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", "", true, invalidClient("the Basic Authorization header is malformed")
	}
	if id, err = url.QueryUnescape(rawID); err == nil {
		secret, err = url.QueryUnescape(rawSecret)
	}
	if err != nil || id == "" {
		return "", "", true, invalidClient("the Basic Authorization credentials must be form-urlencoded client_id:client_secret")
	}
	return id, secret, true, nil
}
