package virtual_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/network/virtual"
)

// identifyTimeout is core's default identification timeout.
const identifyTimeout = 5 * time.Second

// outcome maps an identification onto core's outcome for a claimed number,
// as core.Service.DeviceArrived does.
func outcome(claimed string, id network.Identity, err error) core.Outcome {
	switch {
	case err == nil && !msisdn.Valid(id.Number):
		return core.OutcomeOperatorUnavailable
	case err == nil && msisdn.Equal(claimed, id.Number):
		return core.OutcomeMatch
	case err == nil:
		return core.OutcomeNoMatch
	case errors.Is(err, network.ErrNotEligible):
		return core.OutcomeNotEligible
	case errors.Is(err, network.ErrInvalidNumber):
		return core.OutcomeInvalidNumber
	case errors.Is(err, network.ErrConsentDeclined):
		return core.OutcomeConsentDeclined
	case errors.Is(err, network.ErrNotIdentifiable):
		return core.OutcomeNotIdentifiable
	default:
		return core.OutcomeOperatorUnavailable
	}
}

// identify runs one identification the way core does: under a timeout.
func identify(t *testing.T, op *virtual.Operator, hint string) (network.Identity, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), identifyTimeout)
	defer cancel()
	return op.Identify(ctx, network.Connection{Hint: hint})
}

// check asserts the invariants of every answer and returns its outcome.
func check(t *testing.T, hint string, id network.Identity, err error) core.Outcome {
	t.Helper()
	if err != nil {
		if id != (network.Identity{}) {
			t.Errorf("identity %+v returned with error", id)
		}
		if d := strings.TrimPrefix(hint, "+"); len(d) >= 5 && strings.Contains(err.Error(), d) {
			t.Errorf("error %q contains the claimed number", err)
		}
	} else {
		if id.Source != virtual.Source {
			t.Errorf("source = %q, want %q", id.Source, virtual.Source)
		}
		if !msisdn.Valid(id.Number) {
			t.Errorf("device number %q is not E.164", id.Number)
		}
	}
	return outcome(hint, id, err)
}

func TestCatalogueEntries(t *testing.T) {
	for _, e := range virtual.Catalogue() {
		t.Run(e.Rule, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op := virtual.New(virtual.Options{}) // default slow delay: the real one
				start := time.Now()
				id, err := identify(t, op, e.Example)
				got := check(t, e.Example, id, err)
				if string(got) != e.Outcome {
					t.Errorf("outcome = %s (id %+v, err %v), want %s", got, id, err, e.Outcome)
				}
				if e.Err != nil && !errors.Is(err, e.Err) {
					t.Errorf("err = %v, want it to wrap %v", err, e.Err)
				}
				if e.Err == nil && err != nil {
					t.Errorf("err = %v, want an identity", err)
				}
				if took := time.Since(start); took != 0 && took != identifyTimeout {
					t.Errorf("took %v", took)
				}
			})
		})
	}
}

func TestCatalogueWellFormed(t *testing.T) {
	valid := map[string]bool{}
	for _, o := range []core.Outcome{
		core.OutcomeMatch, core.OutcomeNoMatch, core.OutcomeNotIdentifiable, core.OutcomeNotEligible,
		core.OutcomeOperatorUnavailable, core.OutcomeConsentDeclined, core.OutcomeInvalidNumber,
	} {
		valid[string(o)] = true
	}
	extended := map[string]bool{} // outcomes reachable in +999
	examples := map[string]bool{}
	cat := virtual.Catalogue()
	if len(cat) == 0 {
		t.Fatal("empty catalogue")
	}
	for _, e := range cat {
		if !valid[e.Outcome] {
			t.Errorf("%s: outcome %q is not one of core's identification outcomes", e.Rule, e.Outcome)
		}
		if e.Rule == "" || e.Description == "" || e.Convention == "" {
			t.Errorf("%+v: Rule, Description and Convention are required", e)
		}
		if examples[e.Example] {
			t.Errorf("%s: example %q used twice", e.Rule, e.Example)
		}
		examples[e.Example] = true
		if (e.Err == nil) != (e.Outcome == "match" || e.Outcome == "no_match") {
			t.Errorf("%s: Err %v does not fit outcome %s", e.Rule, e.Err, e.Outcome)
		}
		if strings.HasPrefix(e.Example, "+999") {
			extended[e.Outcome] = true
		}
	}
	for o := range valid {
		if !extended[o] {
			t.Errorf("outcome %s has no +999 test number", o)
		}
	}
	// Catalogue hands out a copy.
	cat[0].Outcome = "changed"
	if virtual.Catalogue()[0].Outcome == "changed" {
		t.Error("Catalogue returns shared storage")
	}
}

// TestProviderExamples pins the documented numbers of the conventions the
// virtual operator reproduces, independently of the catalogue's own examples.
func TestProviderExamples(t *testing.T) {
	tests := []struct {
		hint   string
		want   core.Outcome
		device string // for no_match: the derived device number
	}{
		// Vonage Virtual Operator documentation (Number Verification).
		{hint: "+99012345678", want: core.OutcomeMatch},
		{hint: "+99012345677", want: core.OutcomeNoMatch, device: "+99012345676"},
		{hint: "+99011111199", want: core.OutcomeOperatorUnavailable},
		// Vonage's short test numbers.
		{hint: "+990123400", want: core.OutcomeMatch},
		{hint: "+990123411", want: core.OutcomeNoMatch, device: "+990123410"},
		{hint: "+990123499", want: core.OutcomeOperatorUnavailable},
		{hint: "+990123409", want: core.OutcomeNoMatch, device: "+990123408"},
		{hint: "+99000000", want: core.OutcomeMatch},
		// +990 is Vonage's even when the last digit is 1 or 2.
		{hint: "+99055555551", want: core.OutcomeNoMatch, device: "+99055555550"},
		{hint: "+99055555552", want: core.OutcomeMatch},
		// Telefónica mock mode.
		{hint: "+34600000001", want: core.OutcomeMatch},
		{hint: "+34600000002", want: core.OutcomeNoMatch, device: "+34600000003"},
		{hint: "+5511987654321", want: core.OutcomeMatch},
		{hint: "+4915123456782", want: core.OutcomeNoMatch, device: "+4915123456783"},
		// Not served.
		{hint: "+34600000003", want: core.OutcomeNotEligible},
		{hint: "+31612345678", want: core.OutcomeNotEligible},
		{hint: "+99112345670", want: core.OutcomeNotEligible},
		{hint: "+99812345679", want: core.OutcomeNotEligible},
		// numgate's +999 range: only the last digit counts.
		{hint: "+99912345671", want: core.OutcomeMatch},
		{hint: "+999999992", want: core.OutcomeNoMatch, device: "+999999993"},
		{hint: "+9995553", want: core.OutcomeNotIdentifiable},
		{hint: "+99900000014", want: core.OutcomeOperatorUnavailable},
		{hint: "+999000000000015", want: core.OutcomeOperatorUnavailable}, // slow
		{hint: "+99987654326", want: core.OutcomeNotEligible},
		{hint: "+99900000097", want: core.OutcomeConsentDeclined},
		{hint: "+99900000018", want: core.OutcomeInvalidNumber},
		{hint: "+99900000019", want: core.OutcomeNotEligible},
		{hint: "+99900000099", want: core.OutcomeNotEligible},
		// Edges.
		{hint: "", want: core.OutcomeNotIdentifiable},
		{hint: "99012345678", want: core.OutcomeInvalidNumber},
		{hint: "+990", want: core.OutcomeInvalidNumber},
		{hint: "+0990123456", want: core.OutcomeInvalidNumber},
		{hint: "tel:+99012345678", want: core.OutcomeInvalidNumber},
		{hint: "+99012345678 ", want: core.OutcomeInvalidNumber},
	}
	for _, tt := range tests {
		t.Run(tt.hint, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op := virtual.New(virtual.Options{})
				id, err := identify(t, op, tt.hint)
				if got := check(t, tt.hint, id, err); got != tt.want {
					t.Fatalf("outcome = %s (id %+v, err %v), want %s", got, id, err, tt.want)
				}
				if tt.want == core.OutcomeMatch && id.Number != tt.hint {
					t.Errorf("device number = %q, want the claimed number", id.Number)
				}
				if tt.device != "" && id.Number != tt.device {
					t.Errorf("device number = %q, want %q", id.Number, tt.device)
				}
				// Deterministic: the same number gives the same answer.
				id2, err2 := identify(t, op, tt.hint)
				if id2 != id || (err == nil) != (err2 == nil) {
					t.Errorf("second answer differs: %+v, %v", id2, err2)
				}
			})
		})
	}
}

func TestSlow(t *testing.T) {
	const slow = "+99900000005"
	t.Run("timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			ctx, cancel := context.WithTimeout(t.Context(), identifyTimeout)
			defer cancel()
			_, err := virtual.New(virtual.Options{}).Identify(ctx, network.Connection{Hint: slow})
			if !errors.Is(err, network.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrUnavailable and DeadlineExceeded", err)
			}
			if took := time.Since(start); took != identifyTimeout {
				t.Errorf("gave up after %v, want %v", took, identifyTimeout)
			}
		})
	})
	t.Run("cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error)
			go func() {
				_, err := virtual.New(virtual.Options{}).Identify(ctx, network.Connection{Hint: slow})
				errc <- err
			}()
			time.Sleep(time.Second)
			synctest.Wait()
			cancel()
			if err := <-errc; !errors.Is(err, network.ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want ErrUnavailable and Canceled", err)
			}
		})
	})
	for _, tc := range []struct {
		name  string
		delay time.Duration
		want  time.Duration
	}{
		{"default delay", 0, virtual.DefaultSlowDelay},
		{"negative delay", -time.Second, virtual.DefaultSlowDelay},
		{"configured delay", 10 * time.Millisecond, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				id, err := virtual.New(virtual.Options{SlowDelay: tc.delay}).Identify(t.Context(), network.Connection{Hint: slow})
				if err != nil || id.Number != slow {
					t.Fatalf("got %+v, %v; want verified after the delay", id, err)
				}
				if took := time.Since(start); took != tc.want {
					t.Errorf("answered after %v, want %v", took, tc.want)
				}
			})
		})
	}
}

// TestSlowRealClock runs the slow number outside a synctest bubble, with the
// short delay a test configuration would use.
func TestSlowRealClock(t *testing.T) {
	op := virtual.New(virtual.Options{SlowDelay: 20 * time.Millisecond})
	if id, err := op.Identify(t.Context(), network.Connection{Hint: "+99900000005"}); err != nil || id.Number != "+99900000005" {
		t.Fatalf("got %+v, %v", id, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if _, err := op.Identify(ctx, network.Connection{Hint: "+99900000005"}); !errors.Is(err, network.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNotVerifiedNumberIsAnotherValidNumber(t *testing.T) {
	op := virtual.New(virtual.Options{SlowDelay: time.Nanosecond})
	for _, prefix := range []string{"+990", "+999", "+44770090"} {
		for last := '0'; last <= '9'; last++ {
			hint := prefix + "1234" + string(last)
			id, err := op.Identify(t.Context(), network.Connection{Hint: hint})
			if err != nil || id.Number == hint {
				continue
			}
			if !msisdn.Valid(id.Number) || len(id.Number) != len(hint) || id.Number[:len(hint)-1] != hint[:len(hint)-1] {
				t.Errorf("%s: derived device number %q", hint, id.Number)
			}
		}
	}
}

func TestIgnoresConnection(t *testing.T) {
	// Only the claimed number counts: address, headers and proxy trust do not.
	op := virtual.New(virtual.Options{})
	id, err := op.Identify(t.Context(), network.Connection{
		Hint:             "+99012345678",
		FromTrustedProxy: true,
		Header:           map[string][]string{"X-Msisdn": {"+31612345678"}},
	})
	if err != nil || id.Number != "+99012345678" {
		t.Fatalf("got %+v, %v", id, err)
	}
}
