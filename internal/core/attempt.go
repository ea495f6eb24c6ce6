package core

import (
	"errors"

	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/ratelimit"
)

// State is where an attempt is in its life cycle.
type State string

// The states of an attempt.
const (
	StateCreated    State = "created"
	StateDeviceSeen State = "device_seen"
	StateDecided    State = "decided"
	StateConsumed   State = "consumed"
	StateExpired    State = "expired"
)

// Open reports whether an attempt in state s can still be decided.
func (s State) Open() bool { return s == StateCreated || s == StateDeviceSeen }

// Outcome is the normalized result of an attempt, mapped by each dialect into
// its own codes.
type Outcome string

// The outcomes of an attempt.
const (
	// OutcomeNone: not decided yet.
	OutcomeNone Outcome = ""
	// OutcomeMatch: the device's number is the claimed number.
	OutcomeMatch Outcome = "match"
	// OutcomeNoMatch: the device's number is another number.
	OutcomeNoMatch Outcome = "no_match"
	// OutcomeIdentified: the device's number is known and no number was
	// claimed yet (CAMARA: the comparison happens at /verify).
	OutcomeIdentified Outcome = "identified"
	// OutcomeNotIdentifiable: Wi-Fi, unknown or stale address.
	OutcomeNotIdentifiable Outcome = "not_identifiable"
	// OutcomeNotEligible: the number is not served by this operator.
	OutcomeNotEligible Outcome = "not_eligible"
	// OutcomeOperatorUnavailable: the network could not answer in time.
	OutcomeOperatorUnavailable Outcome = "operator_unavailable"
	// OutcomeConsentDeclined: the subscriber opted out.
	OutcomeConsentDeclined Outcome = "consent_declined"
	// OutcomeInvalidNumber: the claimed number cannot exist.
	OutcomeInvalidNumber Outcome = "invalid_number"
	// OutcomeExpired: the device never came, or the result was never taken.
	OutcomeExpired Outcome = "expired"
)

// FallbackAdvised reports whether a client should fall back to another
// method (such as an SMS code) after this outcome: true where the network
// could not vouch either way, false where it gave an answer.
func (o Outcome) FallbackAdvised() bool {
	switch o {
	case OutcomeMatch, OutcomeNoMatch, OutcomeIdentified, OutcomeInvalidNumber, OutcomeConsentDeclined:
		return false
	}
	return true
}

// Identified reports whether the network named the device's subscriber.
func (o Outcome) Identified() bool {
	return o == OutcomeMatch || o == OutcomeNoMatch || o == OutcomeIdentified
}

// outcomeOf maps an identifier's error onto an outcome.
func outcomeOf(err error) Outcome {
	switch {
	case errors.Is(err, network.ErrNotEligible):
		return OutcomeNotEligible
	case errors.Is(err, network.ErrInvalidNumber):
		return OutcomeInvalidNumber
	case errors.Is(err, network.ErrConsentDeclined):
		return OutcomeConsentDeclined
	case errors.Is(err, network.ErrNotIdentifiable):
		return OutcomeNotIdentifiable
	default: // ErrUnavailable, timeouts, anything unexpected
		return OutcomeOperatorUnavailable
	}
}

// Errors returned by Service.
var (
	// ErrNotFound: no such attempt.
	ErrNotFound = errors.New("core: attempt not found")
	// ErrExpired: the attempt passed its deadline.
	ErrExpired = errors.New("core: attempt expired")
	// ErrWrongState: the step does not apply to the attempt's state (for
	// example a result taken twice).
	ErrWrongState = errors.New("core: attempt is not in a state for this step")
	// ErrInvalidClaim: the claimed number or hash is malformed.
	ErrInvalidClaim = errors.New("core: invalid claimed number")
	// ErrRateLimited: the client, or the claimed number, started too many
	// attempts lately (Config.Limiter); ratelimit.RetryAfter(err) says when
	// to try again. Nothing was stored.
	ErrRateLimited = ratelimit.ErrLimited
)
