package kpn

import (
	"strings"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/store"
)

// resultBody is the polling result, and the body of a notification, keys
// in the seed's order.
type resultBody struct {
	// MSISDN is the number the insights request asked about, in KPN's form
	// (digits, no "+"); never the device's own number.
	MSISDN string `json:"msisdn"`
	// DeviceMatch is null until the network answered, then whether the
	// device's number is MSISDN.
	DeviceMatch *bool `json:"device_match"`
	// RemoteAddr and UserAgent describe the device's request to the
	// session URI; "" until the device came.
	RemoteAddr string `json:"remote_addr"`
	UserAgent  string `json:"user_agent"`
	// Errors says why DeviceMatch is null; empty when it is not.
	Errors []resultError `json:"errors"`
}

// resultError is one entry of errors.
type resultError struct {
	// DeviceMatch is Available (no result yet, one can still come) or
	// Unavailable (no result will come).
	DeviceMatch string `json:"device_match"`
	// Reason, with Unavailable, names why: one of the Reason constants.
	Reason string `json:"reason,omitempty"`
}

// The values of an errors entry's device_match, as KPN's example names them.
const (
	// Available: the device has not yet opened the session URI (before
	// the deadline) or is being identified: poll again.
	Available = "AVAILABLE"
	// Unavailable: no match result will come; the entry's reason says why.
	Unavailable = "UNAVAILABLE"
)

// The reasons of an Unavailable entry: the core's outcome, upper case.
const (
	// ReasonExpired: the device did not open the session URI before the deadline.
	ReasonExpired = "EXPIRED"
	// ReasonNotIdentifiable: the device was not on this operator's mobile
	// data (Wi-Fi, unknown or stale address).
	ReasonNotIdentifiable = "NOT_IDENTIFIABLE"
	// ReasonNotEligible: the number is not served by this operator.
	ReasonNotEligible = "NOT_ELIGIBLE"
	// ReasonOperatorUnavailable: the network could not answer in time.
	ReasonOperatorUnavailable = "OPERATOR_UNAVAILABLE"
	// ReasonConsentDeclined: the subscriber opted out of number verification.
	ReasonConsentDeclined = "CONSENT_DECLINED"
	// ReasonInvalidNumber: the number cannot exist.
	ReasonInvalidNumber = "INVALID_NUMBER"
)

// resultOf renders an attempt's state for the number (KPN's form).
//
//	attempt                                   device_match  errors
//	created, device_seen                      null          [{"device_match":"AVAILABLE"}]
//	decided or consumed, match                true          []
//	decided or consumed, no_match             false         []
//	decided or consumed, any other outcome    null          [{"device_match":"UNAVAILABLE","reason":"<OUTCOME>"}]
//	expired                                   null          [{"device_match":"UNAVAILABLE","reason":"EXPIRED"}]
func resultOf(a store.Attempt, number string) resultBody {
	b := resultBody{MSISDN: number, RemoteAddr: a.DeviceAddr, UserAgent: a.UserAgent, Errors: []resultError{}}
	switch core.State(a.State) {
	case core.StateCreated, core.StateDeviceSeen:
		b.Errors = append(b.Errors, resultError{DeviceMatch: Available})
		return b
	case core.StateExpired:
		b.Errors = append(b.Errors, resultError{DeviceMatch: Unavailable, Reason: ReasonExpired})
		return b
	}
	switch o := core.Outcome(a.Outcome); o {
	case core.OutcomeMatch, core.OutcomeNoMatch:
		m := o == core.OutcomeMatch
		b.DeviceMatch = &m
	default:
		b.Errors = append(b.Errors, resultError{DeviceMatch: Unavailable, Reason: strings.ToUpper(string(o))})
	}
	return b
}
