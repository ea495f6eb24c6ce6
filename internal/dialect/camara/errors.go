package camara

import (
	"encoding/json"
	"net/http"
)

// Error is a CAMARA ErrorInfo: the body of every error response.
type Error struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// reason is the specific cause, for the log line only.
	reason string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.reason }

// version holds what differs between the two API versions.
type version struct {
	name   string // "v1" or "v2"
	errors map[string]Error
	// assessedAt adds the aggregator's assessedAt field to /verify (v1).
	assessedAt bool
	// hashPattern enforces the hashedPhoneNumber pattern (v2 only; v1's
	// schema has none, so a malformed hash simply does not match).
	hashPattern bool
	// correlatorPattern enforces the XCorrelator pattern on the correlator
	// headers (v2 only; v1's x-correlator is any string).
	correlatorPattern bool
}

// Error codes used by this API.
const (
	codeInvalidArgument   = "INVALID_ARGUMENT"
	codeUnauthenticated   = "UNAUTHENTICATED"
	codePermissionDenied  = "PERMISSION_DENIED"
	codeNotMobileNetwork  = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
	codeInvalidContext    = "INVALID_TOKEN_CONTEXT"
	codeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	codeInternal          = "INTERNAL"
	codeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	codeNotFound          = "NOT_FOUND"
	codeUnavailable       = "UNAVAILABLE"
	codeTooManyRequests   = "TOO_MANY_REQUESTS"
	codeNotAcceptableBody = "NOT_ACCEPTABLE"
)

// Messages as the API definitions print them. v2 (r3.2) words its 400 and
// 401 differently from v1 (r1.3); the rest come from CAMARA_common.yaml.
var (
	v2Errors = map[string]Error{
		codeInvalidArgument:  {Status: 400, Code: codeInvalidArgument, Message: "Client specified an invalid argument, request body or query param"},
		codeUnauthenticated:  {Status: 401, Code: codeUnauthenticated, Message: "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required."},
		codePermissionDenied: {Status: 403, Code: codePermissionDenied, Message: "Client does not have sufficient permissions to perform this action."},
		codeNotMobileNetwork: {Status: 403, Code: codeNotMobileNetwork, Message: "Client must authenticate via the mobile network to use this service"},
		codeInvalidContext:   {Status: 403, Code: codeInvalidContext, Message: "Phone number cannot be deducted from access token context"},
		codeNotFound:         {Status: 404, Code: codeNotFound, Message: "The specified resource is not found."},
		codeMethodNotAllowed: {Status: 405, Code: codeMethodNotAllowed, Message: "The requested method is not allowed/supported on the target resource."},
		codeNotAcceptableBody: {Status: 406, Code: codeNotAcceptableBody,
			Message: "The server cannot produce a response matching the content requested by the client through `Accept-*` headers."},
		codeUnsupportedMedia: {Status: 415, Code: codeUnsupportedMedia, Message: "The server refuses to accept the request because the payload format is in an unsupported format."},
		codeTooManyRequests:  {Status: 429, Code: codeTooManyRequests, Message: "Rate limit reached."},
		codeInternal:         {Status: 500, Code: codeInternal, Message: "Unknown server error. Typically a server bug."},
		codeUnavailable:      {Status: 503, Code: codeUnavailable, Message: "Service unavailable"},
	}
	v1Errors = withOverrides(v2Errors, map[string]Error{
		codeInvalidArgument: {Status: 400, Code: codeInvalidArgument, Message: "Client specified an invalid argument, request body or query param"},
		codeUnauthenticated: {Status: 401, Code: codeUnauthenticated, Message: "Request not authenticated due to missing, invalid, or expired credentials."},
		codeInternal:        {Status: 500, Code: codeInternal, Message: "Server error"},
	})
)

func withOverrides(base, over map[string]Error) map[string]Error {
	m := make(map[string]Error, len(base))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// fail returns the version's error for code, with a reason for the log.
func (v version) fail(code, reason string) *Error {
	e, ok := v.errors[code]
	if !ok {
		e = v.errors[codeInternal]
	}
	e.reason = reason
	return &e
}

// writeJSON writes a JSON body with CAMARA's content type.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
