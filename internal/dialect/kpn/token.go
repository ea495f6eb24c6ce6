package kpn

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// Limits on what a request may carry.
const (
	maxForm       = 16 << 10 // the /token form, the /insights body
	maxParamBytes = 2048     // one form value, a notification URI or token
)

// allScopes are the scopes served, in KPN's order.
var allScopes = []string{ScopeOperatorLookup, ScopeDeviceMatch, ScopeDeviceMatchNotify}

// tokenData is the stored JSON of an access token.
type tokenData struct {
	Scopes []string `json:"scopes"`
	// Client is the fingerprint of the registration the token was issued
	// to (registration): a client removed and registered again under the
	// same ID does not inherit the tokens of the one removed. Empty in
	// tokens issued before it was recorded.
	Client string `json:"client,omitempty"`
}

// registration fingerprints a client's registration: its secret's salt,
// drawn afresh at every registration, and hash. It is no secret (the store
// holds both) and changes whenever the client is registered again.
func registration(c store.Client) string {
	h := sha256.New()
	h.Write(c.SecretSalt)
	h.Write([]byte{0})
	h.Write(c.SecretHash)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// tokenBody is the /token answer, keys in the seed's order.
type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token is POST /token: client credentials in an
// application/x-www-form-urlencoded body (client_id, client_secret; or
// HTTP Basic), and the scopes. Every check comes before the token is
// stored: a refused request stores nothing.
func (a *API) token(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	ctx := r.Context()
	form, e := readForm(w, r)
	if e != nil {
		return e
	}
	c, err := a.authenticateClient(ctx, r, form)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", c.ID))
	scopes, e := requestedScopes(form, c)
	if e != nil {
		return e
	}
	*attrs = append(*attrs, slog.String("scopes", strings.Join(scopes, ",")))

	data, err := json.Marshal(tokenData{Scopes: scopes, Client: registration(c)})
	if err != nil {
		return err
	}
	tok := randid.Secret()
	now := a.now().UTC()
	err = a.store.PutGrant(ctx, store.Grant{
		Kind: grantToken, Key: randid.Key(tok), ClientID: c.ID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(a.tokenLife),
	})
	if err != nil {
		return fmt.Errorf("store access token: %w", err)
	}
	writeJSON(w, http.StatusOK, tokenBody{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(a.tokenLife.Seconds())})
	return nil
}

// readForm reads an application/x-www-form-urlencoded POST body. A query
// string is not read: credentials do not belong in URLs.
func readForm(w http.ResponseWriter, r *http.Request) (formValues, *Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fail(http.StatusBadRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, fail(http.StatusBadRequest, "malformed or oversized form body")
	}
	return formValues(r.PostForm), nil
}

// formValues are a form's parameters.
type formValues map[string][]string

// get returns a parameter, "" when absent; one given twice or too long is
// refused.
func (f formValues) get(name string) (string, *Error) {
	vs := f[name]
	switch {
	case len(vs) > 1:
		return "", fail(http.StatusBadRequest, name+" is given more than once")
	case len(vs) == 0:
		return "", nil
	case len(vs[0]) > maxParamBytes:
		return "", fail(http.StatusBadRequest, name+" is too long")
	}
	return vs[0], nil
}

// authenticateClient checks client_id and client_secret, from the form or
// from HTTP Basic authentication (not both), against the client registry.
// A missing credential is 400; an unknown client, a client without a
// secret and a wrong secret are one and the same 401.
func (a *API) authenticateClient(ctx context.Context, r *http.Request, form formValues) (store.Client, error) {
	id, e := form.get("client_id")
	if e != nil {
		return store.Client{}, e
	}
	secret, e := form.get("client_secret")
	if e != nil {
		return store.Client{}, e
	}
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if id != "" || secret != "" {
			return store.Client{}, fail(http.StatusBadRequest, "give the client credentials in the form or by HTTP Basic, not both")
		}
		id, secret = bid, bsecret
	}
	switch {
	case id == "":
		return store.Client{}, fail(http.StatusBadRequest, "client_id is missing")
	case secret == "":
		return store.Client{}, fail(http.StatusBadRequest, "client_secret is missing")
	}
	bad := fail(http.StatusUnauthorized, "invalid client credentials")
	c, err := a.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, bad.because("no such client")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", err)
	}
	if len(c.SecretHash) == 0 {
		return store.Client{}, bad.because("the client has no secret")
	}
	if !oauth.CheckSecret(c, secret) {
		return store.Client{}, bad.because("wrong client secret")
	}
	return c, nil
}

// requestedScopes reads scopes (or scope, as some of KPN's examples write
// it; not both), comma- or space-separated, and checks them: each must be
// one of the three served, device_match and device_match_notify exclude
// each other, and the client's registration must allow each (403).
//
// Registration: store.Client.Scopes, when empty, allows every scope; a
// non-empty list is an allow-list, as for every dialect, so a client
// registered only for other dialects' scopes gets no KPN scope.
func requestedScopes(form formValues, c store.Client) ([]string, *Error) {
	raw, e := form.get("scopes")
	if e != nil {
		return nil, e
	}
	alt, e := form.get("scope")
	if e != nil {
		return nil, e
	}
	switch {
	case raw != "" && alt != "":
		return nil, fail(http.StatusBadRequest, "give scopes or scope, not both")
	case raw == "":
		raw = alt
	}
	var scopes []string
	for _, s := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if !slices.Contains(allScopes, s) {
			return nil, fail(http.StatusBadRequest, "unknown scope; valid scopes are operator_lookup, device_match and device_match_notify")
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	switch {
	case len(scopes) == 0:
		return nil, fail(http.StatusBadRequest, "scopes is missing")
	case slices.Contains(scopes, ScopeDeviceMatch) && slices.Contains(scopes, ScopeDeviceMatchNotify):
		return nil, fail(http.StatusBadRequest, "choose either device_match or device_match_notify, not both")
	}
	if len(c.Scopes) > 0 {
		for _, s := range scopes {
			if !slices.Contains(c.Scopes, s) {
				return nil, fail(http.StatusForbidden, "the client is not registered for scope "+s)
			}
		}
	}
	// Render in KPN's order, whatever order they came in.
	slices.SortFunc(scopes, func(x, y string) int { return slices.Index(allScopes, x) - slices.Index(allScopes, y) })
	return scopes, nil
}

// bearer is an access token presented with a request.
type bearer struct {
	clientID string
	scopes   []string
}

// has reports whether the token carries scope s.
func (b bearer) has(s string) bool { return slices.Contains(b.scopes, s) }

// authorize checks the request's Bearer token: missing, malformed, unknown
// or expired, or its client since removed (or removed and registered
// again), is 401.
func (a *API) authorize(r *http.Request) (bearer, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return bearer{}, fail(http.StatusUnauthorized, "an Authorization: Bearer access token is required")
	}
	bad := fail(http.StatusUnauthorized, "invalid or expired access token")
	if !wellFormedSecret(tok) {
		return bearer{}, bad.because("malformed access token")
	}
	ctx := r.Context()
	g, err := a.store.GetGrant(ctx, grantToken, randid.Key(tok), a.now())
	if errors.Is(err, store.ErrNotFound) {
		return bearer{}, bad.because("unknown or expired access token")
	}
	if err != nil {
		return bearer{}, fmt.Errorf("get access token: %w", err)
	}
	c, err := a.store.GetClient(ctx, g.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return bearer{}, bad.because("the token's client was removed")
	} else if err != nil {
		return bearer{}, fmt.Errorf("get client: %w", err)
	}
	var d tokenData
	if err := json.Unmarshal(g.Data, &d); err != nil {
		return bearer{}, fmt.Errorf("access token data: %w", err)
	}
	if d.Client != "" && d.Client != registration(c) {
		return bearer{}, bad.because("the token's client was removed and registered again")
	}
	return bearer{clientID: g.ClientID, scopes: d.Scopes}, nil
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
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
