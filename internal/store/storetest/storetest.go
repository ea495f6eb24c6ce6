package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// base is the suite's reference time: in UTC and on a whole millisecond, so
// that every backend must return it exactly.
var base = time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// test is one conformance check, run against a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// RunTests runs the conformance suite. newStore must return a fresh, empty
// store for each call and arrange its own clean-up (Close, dropping a schema)
// with t.Cleanup; the suite never closes the stores it is given.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Clients", clientTests},
		{"Attempts", attemptTests},
		{"DueAttempts", dueTests},
		{"DueReports", dueReportTests},
		{"Grants", grantTests},
		{"Redeem", redeemTests},
		{"GarbageCollect", gcTests},
		{"Outbox", outboxTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(t, newStore(t))
				})
			}
		})
	}
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", op, err, target)
	}
}

// must fails on a non-nil error.
func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// wantEqual fails when got and want (two values of the same struct type)
// differ. Times must be Equal and in UTC; nil and empty slices and maps are
// the same.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

// diff lists the fields in which got and want differ.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Type() != wv.Type() || gv.Kind() != reflect.Struct {
		return []string{fmt.Sprintf("cannot compare %T with %T", got, want)}
	}
	var out []string
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			g := g.(time.Time)
			switch {
			case !g.Equal(w):
				out = append(out, fmt.Sprintf("%s: got %v, want %v", name, g, w))
			case g.Location() != time.UTC:
				out = append(out, fmt.Sprintf("%s: got location %v, want UTC", name, g.Location()))
			}
		case []byte:
			if g := g.([]byte); !bytes.Equal(g, w) {
				out = append(out, fmt.Sprintf("%s: got %q, want %q", name, g, w))
			}
		default:
			gr, wr := reflect.ValueOf(g), reflect.ValueOf(w)
			if (gr.Kind() == reflect.Slice || gr.Kind() == reflect.Map) && gr.Len() == 0 && wr.Len() == 0 {
				continue
			}
			if !reflect.DeepEqual(g, w) {
				out = append(out, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
			}
		}
	}
	return out
}

// wantWithin fails unless got is in UTC and within a millisecond of want.
func wantWithin(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d <= -time.Millisecond || d >= time.Millisecond {
		t.Errorf("%s: got %v, want %v (±1ms)", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got location %v, want UTC", what, got.Location())
	}
}

// parallel runs fn(i) for i in [0, n) in n goroutines released together and
// returns their errors by index.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// canceled returns a context that is already canceled.
func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
