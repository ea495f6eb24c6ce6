package vonage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/oauth"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// maxQuery bounds the authorization request's query string.
const maxQuery = 8 << 10

// authError is an error sent back to the application's callback as error
// and error_description (RFC 6749 section 4.1.2.1), once the client and
// its redirect URI are trusted.
type authError struct {
	code, description string
	reason            string // for the log
	internal          bool   // numgate failed: logged as an error
}

func (e *authError) Error() string { return e.code + ": " + e.description }

func redirectErr(code, description string) *authError {
	return &authError{code: code, description: description, reason: description}
}

// authorize is the auth_url the device opens: numgate identifies the
// device through the mobile network inside this one request and redirects
// to the application's callback with code and state, or error,
// error_description and state.
//
// Two forms are served. The auth_url of the Network Enablement call names
// its attempt by login_hint=operatortoken:<reference> and must repeat the
// call's client_id, redirect_uri, scope and state; the reference is used
// up. The direct form that Vonage's SDKs build themselves names the number
// as login_hint=+E164 (or tel:+E164, or nothing) and starts its attempt
// here.
//
// Problems with client_id or redirect_uri are a 400 problem, never a
// redirect (RFC 6749 section 4.1.2.1); later ones are redirects. Every check
// comes before an attempt is touched: a refused request changes nothing.
//
// A HEAD request (a link checker, a prefetching preview) is not the device:
// it is a 405 problem and changes nothing, as the GET pattern would
// otherwise let it use up the auth_url and decide the attempt.
func (a *API) authorize(w http.ResponseWriter, r *http.Request, attrs *[]slog.Attr) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return problem(kindMethodNotAllowed, "the authorization URL is opened by the device with GET")
	}
	ctx := r.Context()
	q, c, redirectURI, err := a.authTarget(ctx, r)
	if err != nil {
		return err
	}
	*attrs = append(*attrs, slog.String("client", c.ID))
	state := q.Get("state")

	attemptID, scope, challenge, err := a.authorizeAttempt(ctx, r, q, c, redirectURI, attrs)
	var code string
	if err == nil {
		code, err = a.tokens.IssueCode(ctx, oauth.ExternalCode{
			ClientID: c.ID, AttemptID: attemptID, RedirectURI: redirectURI, Scopes: []string{scope}, CodeChallenge: challenge,
		})
	}
	vals := url.Values{}
	if err != nil {
		ae := a.asAuthError(err)
		if ae.internal {
			a.log.LogAttrs(ctx, slog.LevelError, "internal error", append(*attrs, slog.String("reason", ae.reason))...)
		}
		*attrs = append(*attrs, slog.String("error", ae.code), slog.String("reason", ae.reason))
		vals.Set("error", ae.code)
		vals.Set("error_description", ae.description)
	} else {
		vals.Set("code", code)
	}
	if state != "" {
		vals.Set("state", state)
	}
	return redirect(w, redirectURI, vals)
}

// asAuthError turns an error into the error sent to the callback: an
// internal one is logged here with a reference and sent as server_error.
func (a *API) asAuthError(err error) *authError {
	var ae *authError
	if errors.As(err, &ae) {
		return ae
	}
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return &authError{code: oe.Code, description: oe.Description, reason: oe.Description}
	}
	ref := randid.ID()
	return &authError{code: oauth.ErrCodeServerError, description: "internal error, reference " + ref, reason: ref + ": " + err.Error(), internal: true}
}

// authTarget reads the query and checks client_id and redirect_uri: the
// application must exist and the redirect URI must be one it registered.
func (a *API) authTarget(ctx context.Context, r *http.Request) (url.Values, store.Client, string, error) {
	if len(r.URL.RawQuery) > maxQuery {
		return nil, store.Client{}, "", problem(kindBadRequest, "the query string is too large")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, store.Client{}, "", problem(kindBadRequest, "the query string is malformed")
	}
	for name, vs := range q {
		if len(vs) > 1 {
			return nil, store.Client{}, "", problem(kindBadRequest, name+" was given more than once")
		}
	}
	id := q.Get("client_id")
	if id == "" {
		return nil, store.Client{}, "", problem(kindBadRequest, "client_id is required")
	}
	c, err := a.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Client{}, "", problem(kindBadRequest, "client_id names no application")
	}
	if err != nil {
		return nil, store.Client{}, "", fmt.Errorf("get client: %w", err)
	}
	ru := q.Get("redirect_uri")
	switch {
	case ru == "":
		return nil, store.Client{}, "", problem(kindBadRequest, "redirect_uri is required")
	case !slices.Contains(c.RedirectURIs, ru):
		return nil, store.Client{}, "", problem(kindBadRequest, "redirect_uri is not registered for this application")
	}
	return q, c, ru, nil
}

// authorizeAttempt checks the rest of the request, identifies the device
// and decides its attempt; it returns the attempt, the granted scope and
// the PKCE challenge, if any.
func (a *API) authorizeAttempt(ctx context.Context, r *http.Request, q url.Values, c store.Client, redirectURI string, attrs *[]slog.Attr) (attemptID, scope, challenge string, err error) {
	switch rt := q.Get("response_type"); {
	case rt == "":
		return "", "", "", redirectErr(oauth.ErrCodeInvalidRequest, "response_type is required")
	case rt != "code":
		return "", "", "", redirectErr(oauth.ErrCodeUnsupportedResponseType, "only response_type=code is supported")
	}
	if scope, err = parseScope(q.Get("scope")); err != nil {
		return "", "", "", err
	}
	if !allowedScope(c, scope) {
		return "", "", "", redirectErr(oauth.ErrCodeInvalidScope, "the application is not allowed the requested scope")
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return "", "", "", redirectErr(oauth.ErrCodeInvalidRequest, "code_challenge is required with code_challenge_method")
	case challenge != "" && method != "S256":
		return "", "", "", redirectErr(oauth.ErrCodeInvalidRequest, "code_challenge_method must be S256")
	case len(q.Get("state")) > maxStateLength:
		return "", "", "", redirectErr(oauth.ErrCodeInvalidRequest, "state is too long")
	}

	var att store.Attempt
	if ref, ok := strings.CutPrefix(q.Get("login_hint"), refPrefix); ok {
		*attrs = append(*attrs, slog.String("form", "network-enablement"))
		if attemptID, err = a.useReference(ctx, ref, c, redirectURI, scope, q.Get("state")); err != nil {
			return "", "", "", err
		}
		*attrs = append(*attrs, slog.String("attempt", attemptID))
		if att, err = a.core.DeviceArrived(ctx, attemptID, a.conn(r), r.UserAgent()); err != nil && !errors.Is(err, core.ErrExpired) {
			err = fmt.Errorf("device arrived: %w", err)
		}
	} else {
		*attrs = append(*attrs, slog.String("form", "direct"))
		if att, err = a.identifyDirect(ctx, r, q.Get("login_hint"), c, scope); err == nil {
			*attrs = append(*attrs, slog.String("attempt", att.ID))
		}
	}
	switch {
	case errors.Is(err, core.ErrExpired):
		*attrs = append(*attrs, slog.String("outcome", string(core.OutcomeExpired)))
		return "", "", "", oauth.OutcomeError(core.OutcomeExpired)
	case err != nil:
		return "", "", "", err
	}
	*attrs = append(*attrs, slog.String("outcome", att.Outcome))
	if oe := oauth.OutcomeError(core.Outcome(att.Outcome)); oe != nil {
		return "", "", "", oe
	}
	return att.ID, scope, challenge, nil
}

// parseScope reads an authorization request's scope: exactly one Number
// Verification scope, optionally with openid.
func parseScope(raw string) (string, error) {
	var scope string
	for _, v := range strings.Fields(raw) {
		switch {
		case v == scopeOpenID:
		case !servedScope(v):
			return "", redirectErr(oauth.ErrCodeInvalidScope, "scope must be dpv:<Purpose>#"+APIScopeVerify+", optionally with openid")
		case scope != "" && scope != v:
			return "", redirectErr(oauth.ErrCodeInvalidScope, "scope may name one Number Verification scope only")
		default:
			scope = v
		}
	}
	if scope == "" {
		return "", redirectErr(oauth.ErrCodeInvalidScope, "scope must name dpv:<Purpose>#"+APIScopeVerify)
	}
	return scope, nil
}

// useReference resolves an auth_url reference: it must exist, belong to the
// client, and the request must repeat the Network Enablement call's
// redirect_uri, scope and state. Only then is it used up, so a tampered
// request leaves it usable and a second use is refused.
func (a *API) useReference(ctx context.Context, ref string, c store.Client, redirectURI, scope, state string) (string, error) {
	unknown := redirectErr(oauth.ErrCodeInvalidRequest, "the authorization URL is unknown, already used or expired; start again")
	if !wellFormedSecret(ref) {
		return "", unknown
	}
	key := randid.Key(ref)
	g, err := a.store.GetGrant(ctx, grantRef, key, a.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", unknown
	}
	if err != nil {
		return "", fmt.Errorf("get auth_url reference: %w", err)
	}
	var rd refData
	if err := json.Unmarshal(g.Data, &rd); err != nil {
		return "", fmt.Errorf("auth_url reference data: %w", err)
	}
	if g.ClientID != c.ID || rd.RedirectURI != redirectURI || rd.Scope != scope || rd.State != state {
		return "", redirectErr(oauth.ErrCodeInvalidRequest, "the authorization request does not repeat its Network Enablement call (client_id, redirect_uri, scope, state)")
	}
	if _, err := a.store.ConsumeGrant(ctx, grantRef, key, a.now()); errors.Is(err, store.ErrNotFound) {
		return "", unknown // a concurrent request used it
	} else if err != nil {
		return "", fmt.Errorf("use auth_url reference: %w", err)
	}
	return g.AttemptID, nil
}

// identifyDirect runs the attempt of an authorization URL built by an
// SDK, whose device is making this very request: login_hint is the claimed
// number (+E164 or tel:+E164), or absent. The network is asked first and
// the attempt stored once, decided.
func (a *API) identifyDirect(ctx context.Context, r *http.Request, hint string, c store.Client, scope string) (store.Attempt, error) {
	number := strings.TrimPrefix(hint, "tel:")
	// A '+' that the URL's builder did not percent-encode (login_hint=+E164
	// pasted into the query, as Vonage's references print it) arrives as a
	// space: in a query, '+' means space.
	if rest, ok := strings.CutPrefix(number, " "); ok && msisdn.Valid("+"+rest) {
		number = "+" + rest
	}
	if number != "" && !msisdn.Valid(number) {
		return store.Attempt{}, redirectErr(oauth.ErrCodeInvalidRequest, "login_hint must be the phone number in E.164, +<digits>")
	}
	data, err := json.Marshal(attemptData{Scope: scope, Entry: "authorize"})
	if err != nil {
		return store.Attempt{}, err
	}
	att, err := a.core.Identify(ctx, core.StartRequest{ClientID: c.ID, Dialect: Dialect, ClaimedNumber: number, Data: data}, a.conn(r), r.UserAgent())
	if errors.Is(err, core.ErrInvalidClaim) {
		return store.Attempt{}, redirectErr(oauth.ErrCodeInvalidRequest, "login_hint must be the phone number in E.164, +<digits>")
	}
	if errors.Is(err, core.ErrRateLimited) {
		return store.Attempt{}, redirectErr(oauth.ErrCodeTemporarilyUnavailable, "too many verification attempts; retry later")
	}
	if err != nil {
		return store.Attempt{}, fmt.Errorf("identify device: %w", err)
	}
	return att, nil
}

// redirect sends the device to the registered redirect URI with vals,
// keeping the URI's own query.
func redirect(w http.ResponseWriter, redirectURI string, vals url.Values) error {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return fmt.Errorf("registered redirect URI: %w", err)
	}
	q := u.Query()
	for k, v := range vals {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
	return nil
}
