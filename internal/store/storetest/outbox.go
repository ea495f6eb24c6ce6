package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var outboxTests = []test{
	{"EnqueueGet", testOutboxEnqueueGet},
	{"EnqueueIsPending", testOutboxEnqueuePending},
	{"Duplicate", testOutboxDuplicate},
	{"GetMissing", testOutboxGetMissing},
	{"HeadersRoundTrip", testOutboxHeaders},
	{"ClaimDueOnly", testOutboxClaimDueOnly},
	{"ClaimOrderAndLimit", testOutboxClaimOrder},
	{"LeaseRespected", testOutboxLease},
	{"ConcurrentClaimers", testOutboxConcurrentClaimers},
	{"RecordTry", testOutboxRecordTry},
	{"RecordTryMissing", testOutboxRecordTryMissing},
	{"RecordTryFenced", testOutboxRecordTryFenced},
	{"RecordTryTextNotUTF8", testOutboxRecordTryTextNotUTF8},
}

func newDelivery(id string) store.Delivery {
	return store.Delivery{
		ID:   id,
		Kind: "kpn.notify",
		URL:  "https://app.example/hooks/numgate?tenant=7",
		Headers: map[string]string{
			"Authorization": "Bearer notification-token",
			"Content-Type":  "application/json",
		},
		Body:      []byte(`{"session_id":"s-1","result":"match"}`),
		State:     store.DeliveryPending,
		NextTryAt: base,
		CreatedAt: base,
		UpdatedAt: base,
	}
}

// deliveryIDs lists the IDs of ds in order.
func deliveryIDs(ds []store.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// enqueue stores deliveries named by ID, due at base plus the offset.
func enqueue(t *testing.T, s store.Store, due map[string]time.Duration) {
	t.Helper()
	for id, off := range due {
		d := newDelivery(id)
		d.NextTryAt = base.Add(off)
		must(t, "EnqueueDelivery "+id, s.EnqueueDelivery(t.Context(), d))
	}
}

func testOutboxEnqueueGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newDelivery("dlv-1")
	want.NextTryAt = base.Add(250 * time.Millisecond)
	want.UpdatedAt = base.Add(time.Millisecond)
	must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, want))
	got, err := s.GetDelivery(ctx, want.ID)
	must(t, "GetDelivery", err)
	wantEqual(t, "delivery", got, want)
	if !got.LeaseUntil.IsZero() {
		t.Errorf("LeaseUntil of a new delivery: got %v, want the zero time", got.LeaseUntil)
	}
}

func testOutboxEnqueuePending(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, state := range []string{"", store.DeliveryDelivered} {
		d := newDelivery("dlv-state-" + state)
		d.State = state
		must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, d))
		got, err := s.GetDelivery(ctx, d.ID)
		must(t, "GetDelivery", err)
		if got.State != store.DeliveryPending {
			t.Errorf("enqueued with State %q: got State %q, want %q", state, got.State, store.DeliveryPending)
		}
	}
}

func testOutboxDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newDelivery("dlv-dup")
	must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, want))
	other := newDelivery("dlv-dup")
	other.URL = "https://elsewhere.example/"
	wantErr(t, "second EnqueueDelivery", s.EnqueueDelivery(ctx, other), store.ErrAlreadyExists)
	got, err := s.GetDelivery(ctx, want.ID)
	must(t, "GetDelivery", err)
	wantEqual(t, "delivery after duplicate", got, want)
}

func testOutboxGetMissing(t *testing.T, s store.Store) {
	_, err := s.GetDelivery(t.Context(), "no-such-delivery")
	wantErr(t, "GetDelivery", err, store.ErrNotFound)
}

func testOutboxHeaders(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"nil", nil},
		{"empty", map[string]string{}},
		{"one", map[string]string{"Authorization": "Bearer x"}},
		{"odd values", map[string]string{
			"X-Empty":     "",
			"X-Quotes":    `a "quoted" \ value`,
			"X-Unicode":   "ünïcødé ✓",
			"X-Json-Like": `{"a":[1,2]}`,
			"x-lower":     "case kept",
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDelivery(fmt.Sprintf("dlv-h%d", i))
			d.Headers = tt.headers
			must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, d))
			got, err := s.GetDelivery(ctx, d.ID)
			must(t, "GetDelivery", err)
			wantEqual(t, "delivery", got, d)
		})
	}
}

func testOutboxClaimDueOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	const lease = 30 * time.Second
	enqueue(t, s, map[string]time.Duration{
		"due-past":  -time.Minute,
		"due-now":   0,
		"future":    time.Millisecond,
		"delivered": -time.Minute,
		"failed":    -time.Minute,
		"leased":    -time.Minute,
	})
	// Take "delivered", "failed" and "leased" out of the due set.
	for id, state := range map[string]string{"delivered": store.DeliveryDelivered, "failed": store.DeliveryFailed} {
		d := newDelivery(id)
		d.State, d.Tries, d.NextTryAt = state, 1, base.Add(-time.Minute)
		must(t, "RecordTry "+id, s.RecordTry(ctx, d))
	}
	first, err := s.ClaimDeliveries(ctx, base.Add(-time.Minute), time.Hour, 1)
	must(t, "ClaimDeliveries", err)
	if len(first) != 1 {
		t.Fatalf("ClaimDeliveries at -1m: got %q, want one delivery", deliveryIDs(first))
	}
	leased := first[0].ID // one of due-past, leased

	got, err := s.ClaimDeliveries(ctx, base, lease, 100)
	must(t, "ClaimDeliveries", err)
	wantIDs := []string{"due-past", "leased", "due-now"}
	wantIDs = slices.DeleteFunc(wantIDs, func(id string) bool { return id == leased })
	if !slices.Equal(deliveryIDs(got), wantIDs) {
		t.Fatalf("ClaimDeliveries: got %q, want %q", deliveryIDs(got), wantIDs)
	}
	for _, d := range got {
		want := newDelivery(d.ID)
		want.NextTryAt = d.NextTryAt
		want.LeaseUntil = base.Add(lease)
		want.UpdatedAt = d.UpdatedAt
		wantEqual(t, "claimed delivery "+d.ID, d, want)
		stored, err := s.GetDelivery(ctx, d.ID)
		must(t, "GetDelivery", err)
		wantEqual(t, "stored claimed delivery "+d.ID, stored, d)
	}
}

func testOutboxClaimOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueue(t, s, map[string]time.Duration{
		"d3": -3 * time.Second,
		"d5": -5 * time.Second,
		"d1": -time.Second,
		"d4": -4 * time.Second,
		"d2": -2 * time.Second,
	})
	tests := []struct {
		limit int
		want  []string
	}{
		{0, []string{}},
		{-1, []string{}},
		{2, []string{"d5", "d4"}},
		{2, []string{"d3", "d2"}},
		{2, []string{"d1"}},
		{2, []string{}},
	}
	for _, tt := range tests {
		got, err := s.ClaimDeliveries(ctx, base, time.Minute, tt.limit)
		must(t, "ClaimDeliveries", err)
		if !slices.Equal(deliveryIDs(got), tt.want) {
			t.Fatalf("ClaimDeliveries(limit %d): got %q, want %q", tt.limit, deliveryIDs(got), tt.want)
		}
	}
}

func testOutboxLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	const lease = 10 * time.Second
	enqueue(t, s, map[string]time.Duration{"dlv": 0})
	steps := []struct {
		at   time.Duration // from base
		want []string
	}{
		{0, []string{"dlv"}},
		{0, []string{}},
		{lease / 2, []string{}},
		{lease - time.Millisecond, []string{}},
		{lease, []string{"dlv"}}, // the lease ran out: the claimer is presumed dead
		{lease + time.Second, []string{}},
	}
	for _, st := range steps {
		got, err := s.ClaimDeliveries(ctx, base.Add(st.at), lease, 10)
		must(t, "ClaimDeliveries", err)
		if !slices.Equal(deliveryIDs(got), st.want) {
			t.Fatalf("ClaimDeliveries at +%v: got %q, want %q", st.at, deliveryIDs(got), st.want)
		}
	}
	got, err := s.GetDelivery(ctx, "dlv")
	must(t, "GetDelivery", err)
	wantEqual(t, "LeaseUntil", struct{ T time.Time }{got.LeaseUntil}, struct{ T time.Time }{base.Add(2 * lease)})
}

func testOutboxConcurrentClaimers(t *testing.T, s store.Store) {
	ctx := t.Context()
	const rounds, n, claimers = 5, 40, 8
	for round := range rounds {
		// Earlier rounds' deliveries stay leased: only this round's are due.
		due := map[string]time.Duration{}
		for i := range n {
			due[fmt.Sprintf("dlv-%d-%02d", round, i)] = -time.Duration(i) * time.Millisecond
		}
		enqueue(t, s, due)

		var mu sync.Mutex
		owner := map[string]int{}
		var dups []string
		errs := parallel(claimers, func(c int) error {
			for {
				got, err := s.ClaimDeliveries(ctx, base, 24*time.Hour, 2)
				if err != nil || len(got) == 0 {
					return err
				}
				mu.Lock()
				for _, d := range got {
					if prev, ok := owner[d.ID]; ok {
						dups = append(dups, fmt.Sprintf("%s to claimers %d and %d", d.ID, prev, c))
					}
					owner[d.ID] = c
				}
				mu.Unlock()
			}
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, claimer %d: %v", round, i, err)
			}
		}
		if len(dups) > 0 {
			t.Fatalf("round %d: deliveries handed out twice: %q", round, dups)
		}
		if len(owner) != n {
			t.Fatalf("round %d: %d of %d deliveries claimed", round, len(owner), n)
		}
	}
}

func testOutboxRecordTry(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newDelivery("dlv-try")
	must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, orig))
	claimed, err := s.ClaimDeliveries(ctx, base, time.Minute, 1)
	must(t, "ClaimDeliveries", err)
	if len(claimed) != 1 {
		t.Fatalf("ClaimDeliveries: got %d deliveries, want 1", len(claimed))
	}

	steps := []struct {
		name      string
		state     string
		nextTry   time.Duration
		lastError string
		claimable bool // claimable again at the next try
	}{
		{"retry", store.DeliveryPending, 30 * time.Second, "HTTP 503 from receiver", true},
		{"retry, no error text", store.DeliveryPending, 90 * time.Second, "", true},
		{"delivered", store.DeliveryDelivered, 100 * time.Second, "", false},
	}
	tries := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			tries++
			rec := claimed[0]
			rec.State, rec.Tries, rec.NextTryAt, rec.LastError = st.state, tries, base.Add(st.nextTry), st.lastError
			// Fields other than State, Tries, NextTryAt and LastError are ignored.
			rec.URL, rec.Body, rec.Headers, rec.Kind = "https://evil.example/", []byte("changed"), nil, "changed"
			rec.CreatedAt = base.Add(time.Hour)
			must(t, "RecordTry", s.RecordTry(ctx, rec))

			got, err := s.GetDelivery(ctx, orig.ID)
			must(t, "GetDelivery", err)
			want := orig
			want.State, want.Tries, want.NextTryAt, want.LastError = st.state, tries, base.Add(st.nextTry), st.lastError
			want.UpdatedAt = got.UpdatedAt // the backend's clock
			wantEqual(t, "delivery after RecordTry", got, want)
			if !got.LeaseUntil.IsZero() {
				t.Errorf("LeaseUntil after RecordTry: got %v, want the zero time", got.LeaseUntil)
			}

			claimed, err = s.ClaimDeliveries(ctx, base.Add(st.nextTry-time.Millisecond), time.Minute, 10)
			must(t, "ClaimDeliveries before the next try", err)
			if len(claimed) != 0 {
				t.Fatalf("ClaimDeliveries before the next try: got %q", deliveryIDs(claimed))
			}
			claimed, err = s.ClaimDeliveries(ctx, base.Add(st.nextTry), time.Minute, 10)
			must(t, "ClaimDeliveries at the next try", err)
			if st.claimable != (len(claimed) == 1) {
				t.Fatalf("ClaimDeliveries at the next try: got %q, want claimable %v", deliveryIDs(claimed), st.claimable)
			}
			if !st.claimable {
				claimed = []store.Delivery{got}
			}
		})
	}
}

func testOutboxRecordTryMissing(t *testing.T, s store.Store) {
	d := newDelivery("no-such-delivery")
	d.Tries = 1
	wantErr(t, "RecordTry", s.RecordTry(t.Context(), d), store.ErrNotFound)
}

// testOutboxRecordTryFenced: a replica whose lease ran out while it tried
// a delivery, and which another replica claimed since, cannot record its
// result over the newer claim's; nor can a result be recorded twice under
// one lease. The newer claim's result is the one kept.
func testOutboxRecordTryFenced(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "EnqueueDelivery", s.EnqueueDelivery(ctx, newDelivery("fenced")))
	first, err := s.ClaimDeliveries(ctx, base, time.Minute, 1)
	must(t, "first ClaimDeliveries", err)
	second, err := s.ClaimDeliveries(ctx, base.Add(2*time.Minute), time.Minute, 1) // the first lease ran out
	must(t, "second ClaimDeliveries", err)
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("claims: got %d and %d deliveries, want one each", len(first), len(second))
	}

	stale := first[0]
	stale.State, stale.Tries, stale.NextTryAt, stale.LastError = store.DeliveryPending, 1, base.Add(time.Hour), "timeout"
	wantErr(t, "RecordTry under the lost lease", s.RecordTry(ctx, stale), store.ErrConflict)
	got, err := s.GetDelivery(ctx, "fenced")
	must(t, "GetDelivery", err)
	if got.Tries != 0 || got.LastError != "" || !got.LeaseUntil.Equal(second[0].LeaseUntil) {
		t.Fatalf("after the refused write: tries %d, last error %q, lease %v; want it unchanged", got.Tries, got.LastError, got.LeaseUntil)
	}

	fresh := second[0]
	fresh.State, fresh.Tries = store.DeliveryDelivered, 1
	must(t, "RecordTry under the current lease", s.RecordTry(ctx, fresh))
	wantErr(t, "RecordTry twice under one lease", s.RecordTry(ctx, fresh), store.ErrConflict)
	wantErr(t, "RecordTry of the stale result after delivery", s.RecordTry(ctx, stale), store.ErrConflict)
	got, err = s.GetDelivery(ctx, "fenced")
	must(t, "GetDelivery", err)
	if got.State != store.DeliveryDelivered || got.Tries != 1 {
		t.Errorf("final delivery: state %s, tries %d; want delivered after 1 try", got.State, got.Tries)
	}
	missing := newDelivery("no-such-delivery")
	missing.LeaseUntil = base
	wantErr(t, "fenced RecordTry of a missing delivery", s.RecordTry(ctx, missing), store.ErrNotFound)
}
