package dqe

import (
	"strings"
	"testing"

	"github.com/numgate/numgate/internal/msisdn"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
		err      ErrorID
	}{
		{"+33612345678", "+33612345678", ""},
		{"0033612345678", "+33612345678", ""},
		{"33612345678", "+33612345678", ""},
		{"0612345678", "+33612345678", ""},
		{"06 12 34 56 78", "+33612345678", ""},
		{"06.12.34.56.78", "+33612345678", ""},
		{"(06) 12-34-56-78", "+33612345678", ""},
		{"+99012345678", "+99012345678", ""}, // virtual operator: no plan data, syntax only
		{"+99900000001", "+99900000001", ""},
		{"+31612345678", "+31612345678", ""},
		{"", "", ErrEmptyNumber},
		{" \t ", "", ErrEmptyNumber},
		{"+33142685300", "", ErrIneligibleNumber}, // Paris landline
		{"+33800123456", "", ErrIneligibleNumber}, // toll-free
		{"+3361234", "", ErrInvalidNumber},
		{"+0612345678", "", ErrInvalidNumber},
		{"+336123456789012345", "", ErrInvalidNumber},
		{"06123", "", ErrInvalidNumber},
		{"tel:+33612345678", "+33612345678", ""}, // RFC 3966, as libphonenumber reads it
		// A "+" sent unencoded in the query or form arrives as a space.
		{" 31612345678", "+31612345678", ""},
		{" 99012345678", "+99012345678", ""},
		{" 447911123456", "+447911123456", ""},
		{" 33612345678", "+33612345678", ""},
		{" 0612345678", "+33612345678", ""}, // not international: national, as before
		{" 612345678", "+33612345678", ""},  // +61 2345678 is no number: national
		{" 31201234567", "", ErrIneligibleNumber},
		// The trunk zero written after the country code, as French
		// numbers often are: the network names the subscriber without
		// it, so keeping it gave no_match for the right device, and a
		// second per-number rate-limit key for the same number.
		{"+33 (0)6 12 34 56 78", "+33612345678", ""},
		{"0033 06 12 34 56 78", "+33612345678", ""},
		{"+310612345678", "+31612345678", ""},
	}
	for _, c := range cases {
		got, e := normalize(c.in, "FR")
		var id ErrorID
		if e != nil {
			id = e.ID
		}
		if got != c.want && c.err == "" || id != c.err {
			t.Errorf("normalize(%q) = %q, %v; want %q, %q", c.in, got, e, c.want, c.err)
		}
	}
}

// FuzzNormalize: normalize never panics, returns E.164 or a DQE error,
// and never puts its input into an error.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+33612345678", "0612345678", "0033 6", "+99011111199", "", "(((", "+٣٣٦١٢٣٤٥٦٧٨"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, e := normalize(in, "FR")
		if e == nil {
			if !msisdn.Valid(got) {
				t.Fatalf("normalize(%q) = %q: not E.164", in, got)
			}
			return
		}
		if _, ok := errorTypes[e.ID]; !ok {
			t.Fatalf("unknown error id %q", e.ID)
		}
		if len(in) >= 5 && (strings.Contains(e.Error(), in)) {
			t.Fatalf("the error carries the input: %v", e)
		}
	})
}
