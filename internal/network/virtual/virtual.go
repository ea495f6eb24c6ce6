package virtual

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
)

// Source is the Identity.Source of the virtual operator's answers.
const Source = "virtual"

// DefaultSlowDelay is how long a "slow" number takes when Options.SlowDelay
// is not set: longer than any sane identification timeout.
const DefaultSlowDelay = 30 * time.Second

// Conventions named in Entry.Convention.
const (
	ConventionVonage     = "Vonage Virtual Operator, tru.ID sandbox"
	ConventionTelefonica = "Telefónica mock mode"
	ConventionNumgate    = "numgate"
)

// Entry is one rule of the virtual operator, as data.
type Entry struct {
	// Example is a claimed number the rule applies to (empty for the
	// no-number rule). Identify with it as the hint gives Outcome.
	Example string
	// Rule says which claimed numbers the entry covers, e.g. "+999…4".
	Rule string
	// Outcome is the attempt outcome in numgate's taxonomy (match, no_match,
	// not_identifiable, not_eligible, operator_unavailable,
	// consent_declined, invalid_number) when the number is the claimed one
	// and the identification timeout is shorter than the slow delay.
	Outcome string
	// Err is the sentinel the identifier's error wraps, or nil when the
	// device is identified.
	Err error
	// Convention names whose test numbers the rule reproduces.
	Convention string
	// Description says what happens, in one sentence.
	Description string
}

// Catalogue returns the virtual operator's rules in the order they are
// tried; the first that matches a claimed number decides. The slice is a
// copy: callers may change it.
func Catalogue() []Entry {
	out := make([]Entry, len(rules))
	for i, r := range rules {
		out[i] = r.Entry
	}
	return out
}

// Options configures an Operator.
type Options struct {
	// SlowDelay is how long a slow number (+999…5) takes before it answers;
	// zero or negative means DefaultSlowDelay. Tests set it short.
	SlowDelay time.Duration
}

// Operator is the virtual operator. It is safe for concurrent use.
type Operator struct {
	slow time.Duration
}

var _ network.Identifier = (*Operator)(nil)

// New returns a virtual operator.
func New(opts Options) *Operator {
	o := &Operator{slow: opts.SlowDelay}
	if o.slow <= 0 {
		o.slow = DefaultSlowDelay
	}
	return o
}

// Identify answers according to the first catalogue rule matching c.Hint.
// Errors wrap one of network's sentinel errors and never contain the number.
// A slow number waits for the configured delay and then answers as verified;
// when ctx ends first it returns an error wrapping both
// network.ErrUnavailable and ctx.Err().
func (o *Operator) Identify(ctx context.Context, c network.Connection) (network.Identity, error) {
	n := c.Hint
	for _, r := range rules {
		if !r.match(n) {
			continue
		}
		switch r.kind {
		case answerSame:
			return network.Identity{Number: n, Source: Source}, nil
		case answerOther:
			return network.Identity{Number: otherNumber(n), Source: Source}, nil
		case answerSlow:
			t := time.NewTimer(o.slow)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return network.Identity{}, fmt.Errorf("virtual operator: rule %s: gave up waiting: %w: %w",
					r.Rule, network.ErrUnavailable, ctx.Err())
			case <-t.C:
				return network.Identity{Number: n, Source: Source}, nil
			}
		default:
			return network.Identity{}, fmt.Errorf("virtual operator: rule %s: %w", r.Rule, r.Err)
		}
	}
	// Unreachable: the last rule matches everything.
	return network.Identity{}, fmt.Errorf("virtual operator: %w", network.ErrNotEligible)
}

// otherNumber derives the device's number for a "not verified" rule: the
// claimed number with the lowest bit of its last digit flipped. Only the
// last digit changes, so the result is E.164 as well, and it always differs.
func otherNumber(n string) string {
	b := []byte(n)
	b[len(b)-1] ^= 1 // '0'..'9' are 0x30..0x39: flips within the digits
	return string(b)
}

// answer is how a rule answers.
type answer int

const (
	answerErr   answer = iota // return Entry.Err
	answerSame                // the device's number is the claimed number
	answerOther               // the device has another number
	answerSlow                // wait, then answerSame
)

type rule struct {
	Entry
	kind  answer
	match func(n string) bool
}

// rules is the catalogue, in order of precedence. Every rule after the
// second sees a valid E.164 number.
var rules = []rule{
	{
		Entry: Entry{Example: "", Rule: "no claimed number", Outcome: "not_identifiable", Err: network.ErrNotIdentifiable,
			Convention:  ConventionNumgate,
			Description: "Without a claimed number there is nothing to decide by: the device is treated as not on mobile data."},
		match: func(n string) bool { return n == "" },
	},
	{
		Entry: Entry{Example: "0612345678", Rule: "not E.164", Outcome: "invalid_number", Err: network.ErrInvalidNumber,
			Convention:  ConventionNumgate,
			Description: "A claimed number that is not E.164 (a '+' then 5 to 15 digits) cannot exist."},
		match: func(n string) bool { return !msisdn.Valid(n) },
	},
	{
		Entry: Entry{Example: "+99011111199", Rule: "+990…99", Outcome: "operator_unavailable", Err: network.ErrUnavailable,
			Convention:  ConventionVonage,
			Description: "The operator returns an error."},
		match: func(n string) bool { return strings.HasPrefix(n, "+990") && strings.HasSuffix(n, "99") },
	},
	{
		Entry: Entry{Example: "+99012345678", Rule: "+990…0/2/4/6/8", Outcome: "match",
			Convention:  ConventionVonage,
			Description: "Verified: the device's number is the claimed number."},
		kind:  answerSame,
		match: func(n string) bool { return strings.HasPrefix(n, "+990") && lastDigit(n)%2 == 0 },
	},
	{
		Entry: Entry{Example: "+99012345677", Rule: "+990…1/3/5/7/9", Outcome: "no_match",
			Convention:  ConventionVonage,
			Description: "Not verified: the device's number is the claimed number with the last digit minus one."},
		kind:  answerOther,
		match: func(n string) bool { return strings.HasPrefix(n, "+990") },
	},
	{
		Entry: Entry{Example: "+99900000001", Rule: "+999…1", Outcome: "match",
			Convention:  ConventionNumgate,
			Description: "Verified: the device's number is the claimed number."},
		kind:  answerSame,
		match: ext('1'),
	},
	{
		Entry: Entry{Example: "+99900000002", Rule: "+999…2", Outcome: "no_match",
			Convention:  ConventionNumgate,
			Description: "Not verified: the device's number is the claimed number with the last digit 3."},
		kind:  answerOther,
		match: ext('2'),
	},
	{
		Entry: Entry{Example: "+99900000003", Rule: "+999…3", Outcome: "not_identifiable", Err: network.ErrNotIdentifiable,
			Convention:  ConventionNumgate,
			Description: "Not identifiable: the device is on Wi-Fi or its address is unknown to the network."},
		match: ext('3'),
	},
	{
		Entry: Entry{Example: "+99900000004", Rule: "+999…4", Outcome: "operator_unavailable", Err: network.ErrUnavailable,
			Convention:  ConventionNumgate,
			Description: "Operator unavailable: the operator's systems fail at once."},
		match: ext('4'),
	},
	{
		Entry: Entry{Example: "+99900000005", Rule: "+999…5", Outcome: "operator_unavailable", Err: network.ErrUnavailable,
			Convention: ConventionNumgate,
			Description: "Slow operator: no answer within the identification timeout " +
				"(the virtual operator answers verified only after the slow delay, 30 s by default)."},
		kind:  answerSlow,
		match: ext('5'),
	},
	{
		Entry: Entry{Example: "+99900000006", Rule: "+999…6", Outcome: "not_eligible", Err: network.ErrNotEligible,
			Convention:  ConventionNumgate,
			Description: "Not eligible: the number is not served by this operator for verification."},
		match: ext('6'),
	},
	{
		Entry: Entry{Example: "+99900000007", Rule: "+999…7", Outcome: "consent_declined", Err: network.ErrConsentDeclined,
			Convention:  ConventionNumgate,
			Description: "Consent declined: the subscriber has opted out of number verification."},
		match: ext('7'),
	},
	{
		Entry: Entry{Example: "+99900000008", Rule: "+999…8", Outcome: "invalid_number", Err: network.ErrInvalidNumber,
			Convention:  ConventionNumgate,
			Description: "Invalid number: the claimed number cannot exist."},
		match: ext('8'),
	},
	{
		Entry: Entry{Example: "+99900000000", Rule: "+999…0, +999…9", Outcome: "not_eligible", Err: network.ErrNotEligible,
			Convention:  ConventionNumgate,
			Description: "Reserved for future outcomes; not eligible today."},
		match: func(n string) bool { return strings.HasPrefix(n, "+999") },
	},
	{
		Entry: Entry{Example: "+447700900001", Rule: "any other number ending in 1", Outcome: "match",
			Convention:  ConventionTelefonica,
			Description: "Verified: the device's number is the claimed number."},
		kind:  answerSame,
		match: func(n string) bool { return lastDigit(n) == 1 },
	},
	{
		Entry: Entry{Example: "+447700900002", Rule: "any other number ending in 2", Outcome: "no_match",
			Convention:  ConventionTelefonica,
			Description: "Not verified: the device's number is the claimed number with the last digit 3."},
		kind:  answerOther,
		match: func(n string) bool { return lastDigit(n) == 2 },
	},
	{
		Entry: Entry{Example: "+447700900123", Rule: "any other number", Outcome: "not_eligible", Err: network.ErrNotEligible,
			Convention:  ConventionNumgate,
			Description: "Not eligible: the number is not served by the virtual operator."},
		match: func(string) bool { return true },
	},
}

// ext matches the +999 numbers ending in digit d.
func ext(d byte) func(string) bool {
	return func(n string) bool { return strings.HasPrefix(n, "+999") && n[len(n)-1] == d }
}

// lastDigit returns the value of n's last digit; n is valid E.164.
func lastDigit(n string) int { return int(n[len(n)-1] - '0') }
