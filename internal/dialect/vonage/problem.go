package vonage

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/numgate/numgate/internal/ratelimit"
)

// problemTypeBase is where Vonage documents its error types; numgate uses
// the same type URIs so that clients that branch on them work unchanged.
const problemTypeBase = "https://developer.vonage.com/api-errors#"

// Problem is an RFC 7807 problem details object, the body of every error
// response of this dialect (except the device's redirect, which carries
// error and error_description as the OAuth callback does).
//
// Detail is shown to the client and never carries a phone number, a
// secret, a code or a token; the reason for operators goes to the log only.
type Problem struct {
	// Type is a URI naming the kind of problem.
	Type string `json:"type"`
	// Title is the short, fixed summary of the type.
	Title string `json:"title"`
	// Detail explains this occurrence.
	Detail string `json:"detail"`
	// Instance identifies this occurrence; the log line carries it too.
	Instance string `json:"instance,omitempty"`
	// Status is the HTTP status of the response (not rendered: it is the
	// response's own status).
	Status int `json:"-"`

	reason string
	// retryAfter, when positive, is sent as Retry-After (429).
	retryAfter time.Duration
}

// Error implements error.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// The kinds of problem served, by their type fragment.
type problemKind struct {
	slug   string
	title  string
	status int
}

var (
	kindBadRequest       = problemKind{"bad-request", "Bad Request", http.StatusBadRequest}
	kindInvalidGrant     = problemKind{"invalid-grant", "Invalid Grant", http.StatusBadRequest}
	kindUnsupportedGrant = problemKind{"unsupported-grant-type", "Unsupported Grant Type", http.StatusBadRequest}
	kindUnauthorized     = problemKind{"unauthorized", "Unauthorized", http.StatusUnauthorized}
	kindForbidden        = problemKind{"forbidden", "Forbidden", http.StatusForbidden}
	kindNotFound         = problemKind{"not-found", "Not Found", http.StatusNotFound}
	kindMethodNotAllowed = problemKind{"method-not-allowed", "Method Not Allowed", http.StatusMethodNotAllowed}
	kindUnsupportedMedia = problemKind{"unsupported-media-type", "Unsupported Media Type", http.StatusUnsupportedMediaType}
	kindInternal         = problemKind{"internal-error", "Internal Server Error", http.StatusInternalServerError}
	kindThrottled        = problemKind{"throttled", "Rate Limit Hit", http.StatusTooManyRequests}
)

// problem returns a problem of kind k; reason, for the log, defaults to detail.
func problem(k problemKind, detail string) *Problem {
	return &Problem{Type: problemTypeBase + k.slug, Title: k.title, Detail: detail, Status: k.status, reason: detail}
}

// throttled is the problem for a start refused by the rate limits (err
// from the core), with its Retry-After.
func throttled(err error) *Problem {
	p := problem(kindThrottled, "Please wait, then retry your request").because(err.Error())
	p.retryAfter = ratelimit.RetryAfter(err)
	return p
}

// because adds a reason for the log line that the client does not see.
func (p *Problem) because(reason string) *Problem {
	c := *p
	c.reason = reason
	return &c
}

// writeProblem renders p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="numgate"`)
	}
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(p.retryAfter.Seconds())))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

// writeJSON writes a success body.
func writeJSON(w http.ResponseWriter, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
