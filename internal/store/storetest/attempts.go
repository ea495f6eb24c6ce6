package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var attemptTests = []test{
	{"CreateGet", testAttemptCreateGet},
	{"TimesInUTC", testAttemptTimesInUTC},
	{"Duplicate", testAttemptDuplicate},
	{"GetMissing", testAttemptGetMissing},
	{"Update", testAttemptUpdate},
	{"UpdateClearsFields", testAttemptUpdateClears},
	{"UpdateMissing", testAttemptUpdateMissing},
	{"UpdateFnError", testAttemptUpdateFnError},
	{"UpdateCannotChangeID", testAttemptUpdateID},
	{"ConcurrentUpdates", testAttemptConcurrentUpdates},
	{"CanceledContext", testAttemptCanceled},
	{"CanceledAfterDecision", testAttemptCanceledAfterDecision},
	{"TextNotUTF8", testAttemptTextNotUTF8},
}

// newAttempt returns an attempt in state created with every field set. The
// numbers are fictional (+1 555 01xx).
func newAttempt(id string) store.Attempt {
	return store.Attempt{
		ID:            id,
		ClientID:      "client-1",
		Dialect:       "camara",
		State:         "created",
		ClaimedNumber: "+15550100123",
		ClaimedHash:   "h1:5ab1c3",
		DeviceAddr:    "[2001:db8::1]:443",
		UserAgent:     "Mozilla/5.0 (Linux; Android 14) \"quoted\"",
		CreatedAt:     base,
		UpdatedAt:     base,
		Deadline:      base.Add(5 * time.Minute),
		Data:          []byte(`{"redirect_uri":"https://app.example/cb","state":"xyz"}`),
	}
}

func testAttemptCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newAttempt("att-1")
	want.Outcome = "match"
	want.DeviceNumber = "+15550100124"
	want.DeviceHash = "h1:77aa"
	want.IdentifiedBy = "virtual"
	must(t, "CreateAttempt", s.CreateAttempt(ctx, want))
	got, err := s.GetAttempt(ctx, want.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", got, want)
}

func testAttemptTimesInUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+2", 2*60*60)
	a := newAttempt("att-tz")
	a.CreatedAt = time.Date(2031, time.March, 14, 17, 9, 26, 123_456_789, zone)
	a.UpdatedAt = a.CreatedAt.Add(999_999 * time.Nanosecond)
	a.Deadline = a.CreatedAt.Add(time.Minute + 1)
	must(t, "CreateAttempt", s.CreateAttempt(ctx, a))
	got, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantWithin(t, "CreatedAt", got.CreatedAt, a.CreatedAt)
	wantWithin(t, "UpdatedAt", got.UpdatedAt, a.UpdatedAt)
	wantWithin(t, "Deadline", got.Deadline, a.Deadline)
}

func testAttemptDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newAttempt("att-dup")
	must(t, "CreateAttempt", s.CreateAttempt(ctx, want))
	other := newAttempt("att-dup")
	other.State = "decided"
	wantErr(t, "second CreateAttempt", s.CreateAttempt(ctx, other), store.ErrAlreadyExists)
	got, err := s.GetAttempt(ctx, want.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt after duplicate", got, want)
}

func testAttemptGetMissing(t *testing.T, s store.Store) {
	_, err := s.GetAttempt(t.Context(), "no-such-attempt")
	wantErr(t, "GetAttempt", err, store.ErrNotFound)
}

func testAttemptUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newAttempt("att-upd")
	must(t, "CreateAttempt", s.CreateAttempt(ctx, orig))
	must(t, "CreateAttempt", s.CreateAttempt(ctx, newAttempt("att-other")))

	var seen store.Attempt
	want := orig
	want.State = "decided"
	want.Outcome = "no_match"
	want.DeviceNumber = "+15550100999"
	want.DeviceHash = "h1:999"
	want.IdentifiedBy = "static"
	want.UpdatedAt = base.Add(1500 * time.Millisecond)
	want.Deadline = base.Add(10 * time.Minute)
	want.Data = []byte(`{"step":2}`)
	ret, err := s.UpdateAttempt(ctx, orig.ID, func(a store.Attempt) (store.Attempt, error) {
		seen = a
		return want, nil
	})
	must(t, "UpdateAttempt", err)
	wantEqual(t, "attempt passed to fn", seen, orig)
	wantEqual(t, "attempt returned by UpdateAttempt", ret, want)
	got, err := s.GetAttempt(ctx, orig.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "stored attempt", got, want)
	other, err := s.GetAttempt(ctx, "att-other")
	must(t, "GetAttempt other", err)
	wantEqual(t, "other attempt", other, newAttempt("att-other"))
}

func testAttemptUpdateClears(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newAttempt("att-clear")
	orig.DeviceNumber = "+15550100124"
	must(t, "CreateAttempt", s.CreateAttempt(ctx, orig))
	want := orig
	want.ClaimedNumber = ""
	want.DeviceNumber = ""
	want.Data = nil
	_, err := s.UpdateAttempt(ctx, orig.ID, func(store.Attempt) (store.Attempt, error) { return want, nil })
	must(t, "UpdateAttempt", err)
	got, err := s.GetAttempt(ctx, orig.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", got, want)
}

func testAttemptUpdateMissing(t *testing.T, s store.Store) {
	called := false
	_, err := s.UpdateAttempt(t.Context(), "no-such-attempt", func(a store.Attempt) (store.Attempt, error) {
		called = true
		return a, nil
	})
	wantErr(t, "UpdateAttempt", err, store.ErrNotFound)
	if called {
		t.Error("fn was called for a missing attempt")
	}
}

// fnError is an error type of the caller's own, to check it comes back as is.
type fnError struct{ code int }

func (e *fnError) Error() string { return fmt.Sprintf("fn error %d", e.code) }

func testAttemptUpdateFnError(t *testing.T, s store.Store) {
	ctx := t.Context()
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		err  error
	}{
		{"sentinel", errBoom},
		{"wrapped store sentinel", fmt.Errorf("core: wrong state: %w", store.ErrConflict)},
		{"typed", &fnError{code: 7}},
	}
	orig := newAttempt("att-fnerr")
	must(t, "CreateAttempt", s.CreateAttempt(ctx, orig))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateAttempt(ctx, orig.ID, func(a store.Attempt) (store.Attempt, error) {
				a.State = "expired"
				a.Data = []byte(`{"written":true}`)
				return a, tt.err
			})
			if err != tt.err {
				t.Errorf("UpdateAttempt: got error %v, want fn's error %v unchanged", err, tt.err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.err)
			}
			got, gerr := s.GetAttempt(ctx, orig.ID)
			must(t, "GetAttempt", gerr)
			wantEqual(t, "attempt after failed update", got, orig)
		})
	}
}

func testAttemptUpdateID(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newAttempt("att-id")
	must(t, "CreateAttempt", s.CreateAttempt(ctx, orig))
	_, err := s.UpdateAttempt(ctx, orig.ID, func(a store.Attempt) (store.Attempt, error) {
		a.ID = "att-id-2"
		a.State = "decided"
		return a, nil
	})
	if err == nil {
		t.Fatal("UpdateAttempt that changes the ID: got no error")
	}
	got, err := s.GetAttempt(ctx, orig.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", got, orig)
	_, err = s.GetAttempt(ctx, "att-id-2")
	wantErr(t, "GetAttempt of the new ID", err, store.ErrNotFound)
}

func testAttemptConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	a := newAttempt("att-counter")
	a.Data = []byte(`{"n":0}`)
	must(t, "CreateAttempt", s.CreateAttempt(ctx, a))
	type counter struct {
		N       int   `json:"n"`
		Writers []int `json:"writers"`
	}
	errs := parallel(n, func(i int) error {
		_, err := s.UpdateAttempt(ctx, a.ID, func(a store.Attempt) (store.Attempt, error) {
			var c counter
			if err := json.Unmarshal(a.Data, &c); err != nil {
				return a, err
			}
			c.N++
			c.Writers = append(c.Writers, i)
			data, err := json.Marshal(c)
			a.Data = data
			a.UpdatedAt = a.UpdatedAt.Add(time.Millisecond)
			return a, err
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateAttempt #%d: %v", i, err)
		}
	}
	got, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	var c counter
	must(t, "decode counter", json.Unmarshal(got.Data, &c))
	if c.N != n || len(c.Writers) != n {
		t.Fatalf("after %d concurrent increments: counter %d, writers %v (lost updates)", n, c.N, c.Writers)
	}
	wantWithin(t, "UpdatedAt", got.UpdatedAt, a.UpdatedAt.Add(n*time.Millisecond))
}

// testAttemptCanceledAfterDecision: once fn has decided, the write runs to
// its end even if the caller's context is cancelled meanwhile (a client
// gone): UpdateAttempt reports success exactly when the change is stored,
// never an error for a write that happened.
func testAttemptCanceledAfterDecision(t *testing.T, s store.Store) {
	a := newAttempt("att-cancel-after")
	must(t, "CreateAttempt", s.CreateAttempt(t.Context(), a))
	ctx, cancel := context.WithCancel(t.Context())
	got, err := s.UpdateAttempt(ctx, a.ID, func(old store.Attempt) (store.Attempt, error) {
		cancel() // the caller goes away after the decision
		old.State = "decided"
		return old, nil
	})
	must(t, "UpdateAttempt cancelled after its decision", err)
	stored, err := s.GetAttempt(t.Context(), a.ID)
	must(t, "GetAttempt", err)
	if got.State != "decided" || stored.State != "decided" {
		t.Errorf("returned state %q, stored %q; want decided for both", got.State, stored.State)
	}
}

func testAttemptCanceled(t *testing.T, s store.Store) {
	ctx := canceled(t)
	a := newAttempt("att-canceled")
	if err := s.CreateAttempt(ctx, a); err == nil {
		t.Error("CreateAttempt with a canceled context: got no error")
	}
	_, err := s.GetAttempt(t.Context(), a.ID)
	wantErr(t, "GetAttempt", err, store.ErrNotFound)
}
