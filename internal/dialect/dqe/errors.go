package dqe

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorID is one of the error identifiers of DQE's two error tables
// (initiate and retrieve), as the API documents them: two digits, in a string.
type ErrorID string

// The error identifiers served, with the condition that produces each one in
// numgate. Step 1 is /IDMOBILE/ (and the device URL), step 2 is /GET/.
const (
	// ErrInvalidRequest (steps 1, 2): a request numgate cannot read: a
	// method other than GET or POST, a POST body that is not
	// x-www-form-urlencoded, a parameter given twice (or with two
	// spellings that disagree) or too long, a missing token or name, a
	// redirect_uri that is not an absolute http(s) URL registered for the
	// licence; or (step 1, HTTP 429 with Retry-After) an attempt the
	// core's rate limits refused.
	ErrInvalidRequest ErrorID = "01"
	// ErrInvalidLicence (steps 1, 2): the licence is missing, names no
	// registered client, or (step 1) names a client without a secret.
	ErrInvalidLicence ErrorID = "02"
	// ErrInvalidScope (steps 1, 2): scope is missing or not numVerify, or the
	// licence's registration does not allow numVerify.
	ErrInvalidScope ErrorID = "04"
	// ErrUserInfosEmpty (step 1): user_infos was sent empty.
	ErrUserInfosEmpty ErrorID = "05"
	// ErrUserInfosNotJSON (step 1): user_infos is not a JSON object.
	ErrUserInfosNotJSON ErrorID = "06"
	// ErrUserInfosNoPhone (step 1): user_infos has no "phone" key.
	ErrUserInfosNoPhone ErrorID = "07"
	// ErrIneligibleNumber (step 1): the number exists but cannot be on a
	// mobile network (a landline, toll-free, premium-rate, shared-cost,
	// VoIP, pager or voicemail number, by offline number-range data).
	ErrIneligibleNumber ErrorID = "09"
	// ErrInvalidNumber (step 1): the number is not a possible phone number.
	ErrInvalidNumber ErrorID = "10"
	// ErrEmptyNumber (step 1): number is missing or empty.
	ErrEmptyNumber ErrorID = "11"
	// ErrPhoneCheckFailed (step 1): user_infos.phone is not a valid number
	// or is not the same number as number.
	ErrPhoneCheckFailed ErrorID = "12"
	// ErrOperatorNotFound (step 1): the operator directory names no
	// operator for the number.
	ErrOperatorNotFound ErrorID = "13"
	// ErrOperatorNotAuthorized (step 1): the operator's configuration lists
	// the licences it serves, and this licence is not among them.
	ErrOperatorNotAuthorized ErrorID = "14"
	// ErrOperatorNotSupported (step 1): the operator is known to the
	// directory but not served by this gateway (not in Config.Operators).
	ErrOperatorNotSupported ErrorID = "15"
	// ErrOperatorUnreachable (step 1): the operator is configured as
	// unreachable (maintenance switch).
	ErrOperatorUnreachable ErrorID = "16"
	// ErrScopeNotSupported (step 1): the operator's configuration does not
	// serve numVerify.
	ErrScopeNotSupported ErrorID = "17"
	// ErrOperatorNoData (step 2): the network could not answer in time
	// (outcome operator_unavailable).
	ErrOperatorNoData ErrorID = "18"
	// ErrNotCompleted (step 2): the network could not vouch for the device
	// (outcomes not_identifiable, not_eligible, invalid_number): the
	// silent check did not complete and an OTP fallback makes sense.
	ErrNotCompleted ErrorID = "20"
	// ErrAccessDenied (step 2): the subscriber opted out (outcome
	// consent_declined).
	ErrAccessDenied ErrorID = "21"
	// ErrInvalidToken (steps 1, 2, device URL): step 1: the token is not the
	// licence's secret; step 2 and the device URL: the session token is
	// unknown, belongs to another licence, expired before the device came,
	// or its result was already retrieved.
	ErrInvalidToken ErrorID = "30"
	// ErrInternal (steps 1, 2, device URL): numgate failed (for example its
	// store); the cause is logged with a reference, never rendered.
	ErrInternal ErrorID = "99"
)

// errorTypes are the "Error type" column of DQE's tables, rendered in
// error_type. "[Operator Name]" is replaced by the operator's name.
//
// 20 is the one exception: the table's wording ("Not the same phone number
// between the phone in the request") describes a mismatch, which numgate
// reports as success with numVerify false; 20 reports a check that did not
// complete, in the words of the seed's own example body ("OTP process
// failed").
var errorTypes = map[ErrorID]string{
	ErrInvalidRequest:        "invalid request",
	ErrInvalidLicence:        "invalid licence key",
	ErrInvalidScope:          "invalid scope",
	ErrUserInfosEmpty:        "missing or empty parameter (user_infos) for this scope",
	ErrUserInfosNotJSON:      "bad parameter format (user_infos) is not a valid JSON",
	ErrUserInfosNoPhone:      "missing mandatory key in user informations (phone)",
	ErrIneligibleNumber:      "ineligible phone number",
	ErrInvalidNumber:         "invalid phone number",
	ErrEmptyNumber:           "phone number is empty",
	ErrPhoneCheckFailed:      "phone check failed",
	ErrOperatorNotFound:      "operator [Operator Name] not found",
	ErrOperatorNotAuthorized: "operator [Operator Name] not authorized for this licence",
	ErrOperatorNotSupported:  "operator [Operator Name] not supported yet",
	ErrOperatorUnreachable:   "operator [Operator Name] unreachable",
	ErrScopeNotSupported:     "scope not supported by this operator [Operator Name] yet",
	ErrOperatorNoData:        "failed to retrieve data from operator",
	ErrNotCompleted:          "OTP process failed",
	ErrAccessDenied:          "access denied",
	ErrInvalidToken:          "invalid or expired token",
	ErrInternal:              "internal server error",
}

// Error is a DQE error: what the client sees (error_id, error_type) and,
// for the log only, why.
type Error struct {
	// ID is the rendered error_id.
	ID ErrorID
	// Type is the rendered error_type.
	Type string
	// reason is logged, never rendered: it never holds a phone number.
	reason string
	// retryAfter, when positive, marks a refusal by the rate limits: the
	// answer is HTTP 429 with Retry-After (DQE's tables have no id for it).
	retryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string { return "dqe " + string(e.ID) + ": " + e.Type + ": " + e.reason }

// fail returns the error id's error, with a reason for the log line.
func fail(id ErrorID, reason string) *Error {
	return &Error{ID: id, Type: errorTypes[id], reason: reason}
}

// failOperator returns an operator error with the operator's name in its
// type; an unknown name leaves "operator not found".
func failOperator(id ErrorID, operator, reason string) *Error {
	t := strings.Replace(errorTypes[id], "[Operator Name]", operator, 1)
	return &Error{ID: id, Type: strings.Join(strings.Fields(t), " "), reason: reason}
}

// Bodies, with their keys in the order the seed prints them.
type (
	initiateBody struct {
		Status   string `json:"status"`
		Operator string `json:"operator"`
		URL      string `json:"url"`
	}
	resultBody struct {
		Status    string `json:"status"`
		Scope     string `json:"scope"`
		NumVerify *bool  `json:"numVerify,omitempty"`
	}
	errorBody struct {
		Status    string  `json:"status"`
		ErrorID   ErrorID `json:"error_id"`
		ErrorType string  `json:"error_type"`
	}
)

// The status values.
const (
	statusSuccess = "success"
	statusPending = "pending"
	statusError   = "error"
)

// writeError renders e. DQE's clients branch on the body's status, so every
// documented error is a 200, except 99, which is a 500 so that monitoring
// sees server failures, and a rate-limit refusal (01 with retryAfter),
// which is a 429 with Retry-After so that clients and proxies back off;
// the body is the same shape.
func writeError(w http.ResponseWriter, e *Error) {
	code := http.StatusOK
	switch {
	case e.ID == ErrInternal:
		code = http.StatusInternalServerError
	case e.retryAfter > 0:
		code = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter.Seconds())))
	}
	writeJSON(w, code, errorBody{Status: statusError, ErrorID: e.ID, ErrorType: e.Type})
}

// writeJSON writes body as the response.
func writeJSON(w http.ResponseWriter, code int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}
