package tutorial

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Scope is the Number Verification scope the backend asks for.
const Scope = "dpv:FraudPreventionAndDetection#number-verification-verify-read"

// The Vonage API paths the backend calls.
const (
	PathNetworkEnablement = "/v0.1/network-enablement"
	PathToken             = "/oauth2/token"
	PathVerify            = "/camara/number-verification/v031/verify"
)

// Defaults of BackendConfig.
const (
	DefaultAttemptTTL  = 5 * time.Minute
	DefaultMaxAttempts = 10000
)

// e164 is a phone number with its international prefix.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{4,14}$`)

// BackendConfig configures a Backend.
type BackendConfig struct {
	// APIURL is the Vonage API's base URL (https://api-eu.vonage.com) or
	// numgate's, without a trailing slash.
	APIURL string
	// ApplicationID is the Vonage application's ID.
	ApplicationID string
	// PrivateKey is the application's private key, which signs its JWTs.
	PrivateKey *rsa.PrivateKey
	// RedirectURI is this backend's /callback URL exactly as registered as
	// the application's Number Verification redirect.
	RedirectURI string
	// HTTP calls the API; it must verify TLS (see NewHTTPClient).
	HTTP *http.Client
	// AttemptTTL is how long a login waits for its callback (default 5 min).
	AttemptTTL time.Duration
	// MaxAttempts bounds the logins waiting at once (default 10000).
	MaxAttempts int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets one line per request and never a phone number (default:
	// discard).
	Logger *slog.Logger
}

// Backend is the tutorial's backend: POST /login starts a verification,
// GET /callback finishes it. It is safe for concurrent use.
type Backend struct {
	cfg BackendConfig
	mux *http.ServeMux

	mu      sync.Mutex
	pending map[string]attempt // by state
}

// attempt is one login waiting for its callback.
type attempt struct {
	phone   string
	expires time.Time
}

// NewBackend returns a Backend.
func NewBackend(cfg BackendConfig) (*Backend, error) {
	switch {
	case cfg.APIURL == "" || strings.HasSuffix(cfg.APIURL, "/"):
		return nil, errors.New("tutorial: APIURL is required, without a trailing slash")
	case cfg.ApplicationID == "" || cfg.PrivateKey == nil:
		return nil, errors.New("tutorial: ApplicationID and PrivateKey are required")
	case cfg.RedirectURI == "":
		return nil, errors.New("tutorial: RedirectURI is required")
	case cfg.HTTP == nil:
		return nil, errors.New("tutorial: HTTP is required")
	}
	if cfg.AttemptTTL <= 0 {
		cfg.AttemptTTL = DefaultAttemptTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Backend{cfg: cfg, mux: http.NewServeMux(), pending: map[string]attempt{}}
	b.mux.HandleFunc("POST /login", b.login)
	b.mux.HandleFunc("GET /callback", b.callback)
	return b, nil
}

// ServeHTTP implements http.Handler.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.mux.ServeHTTP(w, r) }

// LoginRequest is the body of POST /login.
type LoginRequest struct {
	// Phone is the number to verify, in E.164 with its leading '+'.
	Phone string `json:"phone"`
}

// LoginResponse is its answer: the URL the device opens next.
type LoginResponse struct {
	// AuthURL is the Network Enablement call's auth_url.
	AuthURL string `json:"auth_url"`
}

// Result is the answer of GET /callback: the verification's result, or
// why there is none.
type Result struct {
	// DevicePhoneNumberVerified is /verify's answer, nil when there is none.
	DevicePhoneNumberVerified *bool `json:"devicePhoneNumberVerified,omitempty"`
	// Error is why there is no answer: the operator's OAuth error code
	// (login_required, access_denied, …) or the backend's own
	// (invalid_state, invalid_request, upstream_error, busy).
	Error string `json:"error,omitempty"`
	// ErrorDescription explains Error.
	ErrorDescription string `json:"error_description,omitempty"`
}

// login starts a verification: a fresh state for this attempt alone, then
// the Network Enablement call; it answers the auth_url.
func (b *Backend) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || !e164.MatchString(req.Phone) {
		b.fail(w, http.StatusBadRequest, "invalid_request", `the body must be {"phone": "+<country code><number>"}`)
		return
	}
	state := randomString(16)
	if !b.remember(state, req.Phone) {
		b.fail(w, http.StatusServiceUnavailable, "busy", "too many verifications in progress")
		return
	}
	authURL, err := b.enable(r.Context(), req.Phone, state)
	if err != nil {
		b.forget(state)
		b.cfg.Logger.Warn("network enablement failed", "error", err)
		b.fail(w, http.StatusBadGateway, "upstream_error", err.Error())
		return
	}
	b.cfg.Logger.Info("login started")
	writeJSON(w, http.StatusOK, LoginResponse{AuthURL: authURL})
}

// callback finishes a verification: the state names the attempt (and is
// used up), the code is exchanged for an access token, and /verify
// compares the attempt's phone number with the device's.
func (b *Backend) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	at, ok := b.take(q.Get("state"))
	if !ok {
		b.fail(w, http.StatusBadRequest, "invalid_state", "unknown, expired or already used state")
		return
	}
	if e := q.Get("error"); e != "" {
		b.cfg.Logger.Info("verification refused by the operator", "error", e)
		writeJSON(w, http.StatusForbidden, Result{Error: e, ErrorDescription: q.Get("error_description")})
		return
	}
	code := q.Get("code")
	if code == "" {
		b.fail(w, http.StatusBadRequest, "invalid_request", "the callback has neither code nor error")
		return
	}
	verified, err := b.verify(r.Context(), code, at.phone)
	if err != nil {
		b.cfg.Logger.Warn("verification failed", "error", err)
		b.fail(w, http.StatusBadGateway, "upstream_error", err.Error())
		return
	}
	b.cfg.Logger.Info("verification finished", "verified", verified)
	writeJSON(w, http.StatusOK, Result{DevicePhoneNumberVerified: &verified})
}

// remember keeps a login's phone number under its state, dropping expired
// logins first; it refuses when too many are waiting.
func (b *Backend) remember(state, phone string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Now()
	for s, at := range b.pending {
		if now.After(at.expires) {
			delete(b.pending, s)
		}
	}
	if len(b.pending) >= b.cfg.MaxAttempts {
		return false
	}
	b.pending[state] = attempt{phone: phone, expires: now.Add(b.cfg.AttemptTTL)}
	return true
}

// take returns and forgets the login of a state, if it has not expired.
func (b *Backend) take(state string) (attempt, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.pending[state]
	delete(b.pending, state)
	return at, ok && !b.cfg.Now().After(at.expires)
}

func (b *Backend) forget(state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, state)
}

// enable makes the Network Enablement call.
func (b *Backend) enable(ctx context.Context, phone, state string) (string, error) {
	body, _ := json.Marshal(map[string]any{"phone_number": phone, "scopes": []string{Scope}, "state": state})
	var resp struct {
		Scopes map[string]struct {
			AuthURL string `json:"auth_url"`
		} `json:"scopes"`
	}
	if err := b.call(ctx, PathNetworkEnablement, "application/json", body, "", &resp); err != nil {
		return "", err
	}
	u := resp.Scopes[Scope].AuthURL
	if u == "" {
		return "", errors.New("network enablement: no auth_url for the scope")
	}
	return u, nil
}

// verify exchanges the code for an access token and calls /verify.
func (b *Backend) verify(ctx context.Context, code, phone string) (bool, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {b.cfg.RedirectURI}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := b.call(ctx, PathToken, "application/x-www-form-urlencoded", []byte(form.Encode()), "", &tok); err != nil {
		return false, err
	}
	body, _ := json.Marshal(map[string]string{"phoneNumber": phone})
	var res struct {
		Verified *bool `json:"devicePhoneNumberVerified"`
	}
	if err := b.call(ctx, PathVerify, "application/json", body, tok.AccessToken, &res); err != nil {
		return false, err
	}
	if res.Verified == nil {
		return false, errors.New("verify: no devicePhoneNumberVerified in the answer")
	}
	return *res.Verified, nil
}

// call POSTs to the API, authenticated by bearer or, when empty, by a
// fresh application JWT, and decodes a 200 answer into out. An error
// answer's RFC 7807 title and detail become the error.
func (b *Backend) call(ctx context.Context, path, contentType string, body []byte, bearer string, out any) error {
	if bearer == "" {
		var err error
		if bearer, err = ApplicationJWT(b.cfg.ApplicationID, b.cfg.PrivateKey, b.cfg.Now()); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.APIURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := b.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var p struct{ Title, Detail string }
		_ = json.Unmarshal(data, &p)
		return fmt.Errorf("%s: HTTP %d: %s: %s", path, resp.StatusCode, p.Title, p.Detail)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (b *Backend) fail(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, Result{Error: code, ErrorDescription: description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
