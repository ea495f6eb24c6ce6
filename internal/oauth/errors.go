package oauth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/numgate/numgate/internal/randid"
)

// OAuth 2.0 and OpenID Connect error codes used by this server (RFC 6749
// sections 4.1.2.1 and 5.2, OIDC Core section 3.1.2.6).
const (
	ErrCodeInvalidRequest           = "invalid_request"
	ErrCodeInvalidClient            = "invalid_client"
	ErrCodeInvalidGrant             = "invalid_grant"
	ErrCodeUnauthorizedClient       = "unauthorized_client"
	ErrCodeUnsupportedGrantType     = "unsupported_grant_type"
	ErrCodeUnsupportedResponseType  = "unsupported_response_type"
	ErrCodeInvalidScope             = "invalid_scope"
	ErrCodeAccessDenied             = "access_denied"
	ErrCodeServerError              = "server_error"
	ErrCodeTemporarilyUnavailable   = "temporarily_unavailable"
	ErrCodeLoginRequired            = "login_required"
	ErrCodeConsentRequired          = "consent_required"
	ErrCodeAccountSelectionRequired = "account_selection_required"
	ErrCodeRequestNotSupported      = "request_not_supported"
	ErrCodeRequestURINotSupported   = "request_uri_not_supported"
)

// Error is an OAuth error as the client sees it: an RFC 6749 error code, a
// human-readable description, and the HTTP status of a direct response.
// Handlers return it; one renderer writes it (as JSON, or as a redirect back
// to the client once its redirect URI is trusted).
//
// Description is shown to the client and must never carry a phone number, a
// secret, a code or a token; diagnostic detail for operators goes into the
// log only (see WithCause).
type Error struct {
	// Code is the RFC 6749 error code, for example "invalid_grant".
	Code string
	// Description is the error_description sent to the client.
	Description string
	// Status is the HTTP status of a direct (non-redirect) response;
	// 0 means 400.
	Status int

	// cause is logged, never rendered.
	cause error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Description == "" {
		return "oauth: " + e.Code
	}
	return "oauth: " + e.Code + ": " + e.Description
}

// Unwrap returns the logged cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that carries cause for the log. The cause is
// never rendered to the client.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// status returns the HTTP status of a direct response.
func (e *Error) status() int {
	if e.Status != 0 {
		return e.Status
	}
	return http.StatusBadRequest
}

func errorf(code, description string) *Error {
	return &Error{Code: code, Description: description}
}

// invalidClient is an invalid_client error at the token endpoint: 401, as
// CAMARA's normative error table says for every invalid_client (RFC 6749
// section 5.2 requires it when the client tried HTTP Basic and allows it
// otherwise).
func invalidClient(description string) *Error {
	return &Error{Code: ErrCodeInvalidClient, Description: description, Status: http.StatusUnauthorized}
}

// errorBody is the RFC 6749 section 5.2 JSON error body.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// asOAuthError turns any error into the *Error to render. An error that is
// not an *Error is internal: it is logged with a fresh id and rendered as a
// server_error that names only that id.
func (s *Server) asOAuthError(r *http.Request, err error, attrs []slog.Attr) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	id := randid.ID()
	s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
		append(attrs, slog.String("error_id", id), slog.Any("error", err))...)
	return &Error{Code: ErrCodeServerError, Description: "internal error, reference " + id, Status: http.StatusInternalServerError}
}

// writeError renders e as a direct JSON response (token endpoint, and the
// authorization endpoint before the redirect URI is trusted).
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	if e.status() == http.StatusUnauthorized {
		// RFC 9110 section 15.5.2: a 401 carries a challenge; Basic is the
		// one HTTP scheme the token endpoint accepts.
		h.Set("WWW-Authenticate", `Basic realm="numgate"`)
	}
	writeJSON(w, e.status(), errorBody{Error: e.Code, ErrorDescription: e.Description})
}

// writeJSON writes v with the headers RFC 6749 section 5.1 requires of every
// token endpoint response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
