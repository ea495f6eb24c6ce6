package storetest

import (
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// Free text from outside: a User-Agent header may carry any byte but
// control characters (obs-text), and a delivery's LastError is cut from an
// error that quotes what a receiver sent (a status line, a certificate
// name), possibly in the middle of a character. Every backend stores such
// text, as valid UTF-8 (store.ValidText): PostgreSQL refuses invalid UTF-8
// and NUL in text columns, and a refused RecordTry leaves the delivery to
// be claimed, tried and refused again, forever.
const (
	notUTF8     = "Mozilla/5.0 (Linux; \xe9t\xe9) \xe2\x82"
	notUTF8Want = "Mozilla/5.0 (Linux; \uFFFDt\uFFFD) \uFFFD"
)

func testAttemptTextNotUTF8(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newAttempt("att-text")
	a.UserAgent = notUTF8
	must(t, "CreateAttempt with a User-Agent that is not UTF-8", s.CreateAttempt(ctx, a))
	got, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	if got.UserAgent != notUTF8Want {
		t.Errorf("UserAgent: got %q, want %q", got.UserAgent, notUTF8Want)
	}
	updated, err := s.UpdateAttempt(ctx, a.ID, func(a store.Attempt) (store.Attempt, error) {
		a.UserAgent = "ua\x00" + notUTF8
		return a, nil
	})
	must(t, "UpdateAttempt with a User-Agent that is not UTF-8", err)
	got, err = s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	if want := "ua\uFFFD" + notUTF8Want; got.UserAgent != want || updated.UserAgent != want {
		t.Errorf("UserAgent after UpdateAttempt: stored %q, returned %q, want %q", got.UserAgent, updated.UserAgent, want)
	}
}

func testOutboxRecordTryTextNotUTF8(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, newDelivery("dlv-text")))
	claimed, err := s.ClaimDeliveries(ctx, base, time.Minute, 1)
	must(t, "ClaimDeliveries", err)
	if len(claimed) != 1 {
		t.Fatalf("ClaimDeliveries: got %d deliveries, want 1", len(claimed))
	}
	d := claimed[0]
	d.State, d.Tries, d.NextTryAt, d.LastError = store.DeliveryPending, 1, base.Add(time.Hour), notUTF8
	must(t, "RecordTry with a LastError that is not UTF-8", s.RecordTry(ctx, d))
	got, err := s.GetDelivery(ctx, d.ID)
	must(t, "GetDelivery", err)
	if got.Tries != 1 || got.LastError != notUTF8Want || !got.LeaseUntil.IsZero() {
		t.Errorf("after RecordTry: tries %d, last error %q, lease %v; want 1, %q, none", got.Tries, got.LastError, got.LeaseUntil, notUTF8Want)
	}
}
