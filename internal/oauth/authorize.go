package oauth

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
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/randid"
	"github.com/numgate/numgate/internal/store"
)

// dialectCAMARA names the attempts this server starts.
const dialectCAMARA = "camara"

// maxNonceLength bounds the nonce stored with a code and echoed in the ID token.
const maxNonceLength = 1024

// codeData is the stored JSON of an authorization code; the grant itself
// carries the client and the attempt.
type codeData struct {
	RedirectURI   string    `json:"redirect_uri"`
	Scopes        []string  `json:"scopes"`
	Purpose       string    `json:"purpose,omitempty"`
	Nonce         string    `json:"nonce,omitempty"`
	CodeChallenge string    `json:"code_challenge,omitempty"`
	AuthTime      time.Time `json:"auth_time"`
}

// attemptData is the dialect data stored with the attempt, for audit.
type attemptData struct {
	Scope   string `json:"scope"`
	Purpose string `json:"purpose,omitempty"`
}

// authTarget is an authorization request whose client and redirect URI are
// trusted: from here on, errors go back to the client by redirect.
type authTarget struct {
	client      store.Client
	redirectURI string
	state       string
}

// serveAuthorize is the authorization endpoint. The device itself opens it
// (prompt=none is implied): numgate identifies the device through the mobile
// network inside this one request and redirects back with a code or an
// error, never showing a page of its own.
//
// Errors about the client or its redirect URI are rendered here as a 400
// JSON body, never redirected (RFC 6749 section 4.1.2.1); every later error
// is a redirect to the client with error, error_description, state and iss.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	start := s.now()
	attrs := []slog.Attr{slog.String("endpoint", "authorize"), slog.String("method", r.Method)}

	p, perr := readAuthorizeParams(w, r)
	var t authTarget
	var err error
	if perr != nil {
		err = perr
	} else {
		t, err = s.authTarget(ctx, p)
	}
	if err != nil {
		e := s.asOAuthError(r, err, attrs)
		writeError(w, e)
		s.logResult(ctx, attrs, start, e)
		return
	}
	attrs = append(attrs, slog.String("client", t.client.ID))

	code, attemptID, err := s.authorize(ctx, r, p, t)
	if attemptID != "" {
		attrs = append(attrs, slog.String("attempt", attemptID))
	}
	if err != nil {
		e := s.asOAuthError(r, err, attrs)
		s.redirect(w, t, url.Values{"error": {e.Code}, "error_description": {e.Description}})
		s.logResult(ctx, attrs, start, e)
		return
	}
	s.redirect(w, t, url.Values{"code": {code}})
	s.logResult(ctx, attrs, start, nil)
}

// readAuthorizeParams reads the query of a GET or the form of a POST.
func readAuthorizeParams(w http.ResponseWriter, r *http.Request) (params, *Error) {
	if r.Method == http.MethodPost {
		return readForm(w, r)
	}
	return readQuery(r)
}

// authTarget checks client_id and redirect_uri: the client must exist and
// the redirect URI must be one it registered, character for character.
func (s *Server) authTarget(ctx context.Context, p params) (authTarget, error) {
	if d := p.duplicate("client_id", "redirect_uri"); d != "" {
		return authTarget{}, duplicateError(d)
	}
	id := p.get("client_id")
	if id == "" {
		return authTarget{}, errorf(ErrCodeInvalidRequest, "client_id is required")
	}
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return authTarget{}, errorf(ErrCodeInvalidClient, "unknown client_id")
	}
	if err != nil {
		return authTarget{}, fmt.Errorf("get client: %w", err)
	}
	ru := p.get("redirect_uri")
	if ru == "" {
		return authTarget{}, errorf(ErrCodeInvalidRequest, "redirect_uri is required")
	}
	if !slices.Contains(c.RedirectURIs, ru) {
		return authTarget{}, errorf(ErrCodeInvalidRequest, "redirect_uri is not registered for this client")
	}
	return authTarget{client: c, redirectURI: ru, state: p.get("state")}, nil
}

// authorize checks the rest of the request, then runs the network login
// and issues a code. Every check comes before the attempt is started, so a
// bad request creates nothing. It returns the attempt's id once there is one.
func (s *Server) authorize(ctx context.Context, r *http.Request, p params, t authTarget) (code, attemptID string, err error) {
	req, oe := s.checkAuthorizeRequest(p, t.client)
	if oe != nil {
		return "", "", oe
	}
	data, err := json.Marshal(attemptData{Scope: req.scopes.String(), Purpose: req.scopes.purpose})
	if err != nil {
		return "", "", err
	}
	conn := s.conn(r)
	if req.hint.addr.IsValid() {
		// Only a trusted party asking on its own account may say where the
		// device is; a device's own request, relayed by a trusted proxy,
		// could otherwise name another subscriber's address and be
		// identified as that subscriber.
		if conn.TrustedRequester {
			conn.Addr, conn.Port = req.hint.addr, req.hint.port
		} else {
			s.log.LogAttrs(ctx, slog.LevelWarn, "ipport login_hint ignored: not asked by a trusted proxy on its own account",
				slog.String("client", t.client.ID))
		}
	}
	// The device itself is making this request: the network is asked and
	// the attempt stored once, already decided, together with the code when
	// the device was identified (one store transaction).
	a, err := s.core.IdentifyWithGrant(ctx, core.StartRequest{
		ClientID: t.client.ID, Dialect: dialectCAMARA, ClaimedNumber: req.hint.number, Data: data,
	}, conn, r.UserAgent(), func(a store.Attempt) (*store.Grant, error) {
		if outcomeError(core.Outcome(a.Outcome)) != nil {
			return nil, nil // no code: the redirect carries the error
		}
		cd, err := json.Marshal(codeData{
			RedirectURI: t.redirectURI, Scopes: req.scopes.values, Purpose: req.scopes.purpose,
			Nonce: req.nonce, CodeChallenge: req.challenge, AuthTime: a.UpdatedAt,
		})
		if err != nil {
			return nil, err
		}
		code = randid.Secret()
		now := s.now().UTC()
		return &store.Grant{
			Kind: store.GrantCode, Key: randid.Key(code), ClientID: t.client.ID, AttemptID: a.ID,
			Data: cd, CreatedAt: now, ExpiresAt: now.Add(s.codeLife),
		}, nil
	})
	if errors.Is(err, core.ErrInvalidClaim) {
		return "", "", errorf(ErrCodeInvalidRequest, "login_hint does not name a valid number")
	}
	if errors.Is(err, core.ErrRateLimited) {
		return "", "", errorf(ErrCodeTemporarilyUnavailable, "too many verification attempts for this client or number; retry later")
	}
	if err != nil {
		return "", "", fmt.Errorf("identify device: %w", err)
	}
	if oe := outcomeError(core.Outcome(a.Outcome)); oe != nil {
		return "", a.ID, oe
	}
	return code, a.ID, nil
}

// authRequest is a checked authorization request.
type authRequest struct {
	scopes    scopes
	challenge string
	nonce     string
	hint      loginHint
}

// checkAuthorizeRequest checks everything but client and redirect URI.
// Ignored on purpose: acr_values (CAMARA ICM: MUST ignore), max_age,
// claims, display, ui_locales, id_token_hint, and unrecognised login_hint
// forms.
func (s *Server) checkAuthorizeRequest(p params, c store.Client) (authRequest, *Error) {
	var req authRequest
	if d := p.duplicate(); d != "" {
		return req, duplicateError(d)
	}
	switch {
	case p.has("request"):
		return req, errorf(ErrCodeRequestNotSupported, "request objects are not supported")
	case p.has("request_uri"):
		return req, errorf(ErrCodeRequestURINotSupported, "request_uri is not supported")
	case !p.has("response_type"):
		return req, errorf(ErrCodeInvalidRequest, "response_type is required")
	case p.get("response_type") != "code":
		return req, errorf(ErrCodeUnsupportedResponseType, "only response_type=code is supported")
	case p.has("response_mode") && p.get("response_mode") != "query":
		return req, errorf(ErrCodeInvalidRequest, "only response_mode=query is supported")
	}

	sc, oe := s.parseScope(p.get("scope"))
	if oe != nil {
		return req, oe
	}
	if oe := allowedFor(c, sc); oe != nil {
		return req, oe
	}
	req.scopes = sc

	method, challenge := p.get("code_challenge_method"), p.get("code_challenge")
	switch {
	case challenge == "" && method != "":
		return req, errorf(ErrCodeInvalidRequest, "code_challenge is required with code_challenge_method")
	case challenge != "" && method != pkceS256:
		return req, errorf(ErrCodeInvalidRequest, "code_challenge_method must be S256")
	case challenge != "" && !validChallenge(challenge):
		return req, errorf(ErrCodeInvalidRequest, "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)")
	case challenge == "" && isPublic(c):
		return req, errorf(ErrCodeInvalidRequest, "PKCE (code_challenge with S256) is required for this client")
	}
	req.challenge = challenge

	if oe := checkPrompt(p.get("prompt")); oe != nil {
		return req, oe
	}
	if req.hint, oe = parseLoginHint(p.get("login_hint")); oe != nil {
		return req, oe
	}
	req.nonce = p.get("nonce")
	if len(req.nonce) > maxNonceLength {
		return req, errorf(ErrCodeInvalidRequest, "nonce is too long")
	}
	return req, nil
}

// checkPrompt accepts no prompt or prompt=none (the network login never
// shows a page). A request for interaction gets the OIDC Core section
// 3.1.2.6 error for the interaction it asks for; unknown values are ignored.
func checkPrompt(raw string) *Error {
	vals := strings.Fields(raw)
	if slices.Contains(vals, "none") && len(vals) > 1 {
		return errorf(ErrCodeInvalidRequest, "prompt=none cannot be combined with other prompt values")
	}
	switch {
	case slices.Contains(vals, "login"):
		return errorf(ErrCodeLoginRequired, "interactive login is not available: the device is authenticated by the mobile network")
	case slices.Contains(vals, "consent"):
		return errorf(ErrCodeConsentRequired, "interactive consent is not available")
	case slices.Contains(vals, "select_account"):
		return errorf(ErrCodeAccountSelectionRequired, "account selection is not available: the device's own subscription is used")
	}
	return nil
}

// outcomeError maps a decided attempt's outcome onto the authorization
// error the client receives, or nil when the device was identified.
func outcomeError(o core.Outcome) *Error {
	switch o {
	case core.OutcomeIdentified, core.OutcomeMatch, core.OutcomeNoMatch:
		return nil
	case core.OutcomeNotIdentifiable:
		return errorf(ErrCodeLoginRequired, "the device could not be identified by the mobile network; connect over mobile data, not Wi-Fi")
	case core.OutcomeOperatorUnavailable:
		return errorf(ErrCodeTemporarilyUnavailable, "the mobile network could not identify the device in time; try again later")
	case core.OutcomeNotEligible:
		return errorf(ErrCodeAccessDenied, "the device's subscription is not served by this operator")
	case core.OutcomeConsentDeclined:
		return errorf(ErrCodeAccessDenied, "the subscriber has opted out of number verification")
	case core.OutcomeInvalidNumber:
		return errorf(ErrCodeInvalidRequest, "login_hint does not name a valid number")
	case core.OutcomeExpired:
		return errorf(ErrCodeTemporarilyUnavailable, "the verification attempt expired; start again")
	}
	return errorf(ErrCodeServerError, "the verification attempt ended without a result")
}

// redirect sends the device back to the client with vals plus state and
// iss (RFC 9207), keeping any query the registered redirect URI has.
func (s *Server) redirect(w http.ResponseWriter, t authTarget, vals url.Values) {
	u, err := url.Parse(t.redirectURI)
	if err != nil { // registered URIs are absolute URLs; see ValidateClient
		writeError(w, &Error{Code: ErrCodeServerError, Description: "the registered redirect_uri is malformed", Status: http.StatusInternalServerError})
		return
	}
	q := u.Query()
	for k, v := range vals {
		q[k] = v
	}
	if t.state != "" {
		q.Set("state", t.state)
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// logResult writes the one log line of a request: never a number, secret,
// code or token, and the error's cause (for operators) when there is one.
func (s *Server) logResult(ctx context.Context, attrs []slog.Attr, start time.Time, e *Error) {
	attrs = append(attrs, slog.Duration("duration", s.now().Sub(start)))
	if e == nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "oauth request", append(attrs, slog.String("result", "ok"))...)
		return
	}
	attrs = append(attrs, slog.String("result", e.Code), slog.String("description", e.Description))
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "oauth request", attrs...)
}
