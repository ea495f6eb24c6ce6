package kpn

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Error is a KPN error: what the client sees — the HTTP status, repeated as
// the number error_code, and a message — and, for the log only, why.
//
// The message starts with the status's reason phrase, the value KPN's
// published schema gives message ("Bad Request", "Unauthorized", …), and
// adds what was wrong: "Bad Request: msisdn is not an E.164 number". It
// never carries a phone number, a secret, a token or an id.
type Error struct {
	// Code is the HTTP status and the rendered error_code: 400, 401, 403,
	// 404, 405, 429 (rate limits), 500 or 503 (KPN also lists 412 and 502,
	// which this dialect does not produce).
	Code int
	// Message is the rendered message.
	Message string
	// reason is logged, never rendered.
	reason string
	// retryAfter, when positive, is sent as Retry-After (429).
	retryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string { return "kpn " + e.Message }

// fail returns an error with status code and a detail for both the message
// and the log.
func fail(code int, detail string) *Error {
	return &Error{Code: code, Message: http.StatusText(code) + ": " + detail, reason: detail}
}

// because sets the log's reason, which the client does not see.
func (e *Error) because(reason string) *Error {
	c := *e
	c.reason = reason
	return &c
}

// errorBody is KPN's error shape.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// writeError renders e.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="numgate"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter.Seconds())))
	}
	writeJSON(w, e.Code, errorBody{ErrorCode: e.Code, Message: e.Message})
}

// writeJSON writes body as the response.
func writeJSON(w http.ResponseWriter, code int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
