package dqe

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/numgate/numgate/internal/msisdn"
)

// normalize turns a number as DQE's clients send it into E.164: "+33612345678",
// "0033612345678", or national "06 12 34 56 78" in the default region.
// Spaces, dots, hyphens and parentheses are ignored. It returns 11 for an
// empty number, 10 for one that cannot exist, and 09 for one that exists
// but cannot be on a mobile network. Errors never carry the number.
//
// A "+" that the client did not percent-encode arrives as a space (the seed's
// GET template is number={NUM}; in a query or form, "+" means space): a
// value that starts with a space is first read as "+" and the digits, and
// only when that is no number at all as a national one.
func normalize(raw, region string) (string, *Error) {
	if strings.HasPrefix(raw, " ") {
		if rest := strings.TrimLeft(raw, " "); rest != "" && rest[0] != '+' {
			if n, e := normalize("+"+rest, region); e == nil || e.ID == ErrIneligibleNumber {
				return n, e // a number, mobile or not
			}
		}
	}
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '(', ')', '\t':
			return -1
		}
		return r
	}, raw)
	switch {
	case n == "":
		return "", fail(ErrEmptyNumber, "number is empty")
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case !strings.HasPrefix(n, "+"):
		p, err := phonenumbers.Parse(n, region)
		if err != nil || !phonenumbers.IsValidNumber(p) {
			return "", fail(ErrInvalidNumber, "national number is not valid in region "+region)
		}
		n = phonenumbers.Format(p, phonenumbers.E164)
	}
	if !msisdn.Valid(n) {
		return "", fail(ErrInvalidNumber, "number is not E.164")
	}
	return eligible(n)
}

// eligible checks an E.164 number against offline number-range data and
// returns it in its canonical E.164 form. libphonenumber reads a national
// trunk prefix written after the country code ("+33 (0)6 12 34 56 78",
// "0033 06…") as the number without it; the number is returned as it read
// it, since the network names the subscriber without the trunk zero and
// the per-number rate limit must count one number once. A number whose
// country code has no numbering plan data (the +990 and +999 ranges of the
// virtual operator among them) passes as it is: there is nothing to check
// it against.
func eligible(e164 string) (string, *Error) {
	p, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164, nil // unassigned or unknown country code
	}
	if !phonenumbers.IsValidNumber(p) {
		return "", fail(ErrInvalidNumber, "number is outside every range of its numbering plan")
	}
	switch phonenumbers.GetNumberType(p) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.UNKNOWN:
		return phonenumbers.Format(p, phonenumbers.E164), nil
	}
	return "", fail(ErrIneligibleNumber, "number is in a range that is not mobile")
}
