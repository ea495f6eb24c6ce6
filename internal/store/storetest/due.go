package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var dueTests = []test{
	{"OpenPastDeadline", testDueOpenPastDeadline},
	{"Limit", testDueLimit},
	{"None", testDueNone},
}

// createAttempts stores attempts named by ID with the given state and
// deadline offset from base.
func createAttempts(t *testing.T, s store.Store, specs []attemptSpec) {
	t.Helper()
	for _, sp := range specs {
		a := newAttempt(sp.id)
		a.State = sp.state
		a.Deadline = base.Add(sp.deadline)
		must(t, "CreateAttempt "+sp.id, s.CreateAttempt(t.Context(), a))
	}
}

type attemptSpec struct {
	id       string
	state    string
	deadline time.Duration // from base
}

func ids(as []store.Attempt) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testDueOpenPastDeadline(t *testing.T, s store.Store) {
	createAttempts(t, s, []attemptSpec{
		{"created-past-2", "created", -2 * time.Minute},
		{"seen-past-3", "device_seen", -3 * time.Minute},
		{"created-past-1", "created", -time.Minute},
		{"created-past-1b", "created", -time.Minute}, // tie: by ID
		{"decided-past", "decided", -10 * time.Minute},
		{"consumed-past", "consumed", -10 * time.Minute},
		{"expired-past", "expired", -10 * time.Minute},
		{"created-at-now", "created", 0}, // deadline not yet before now
		{"created-future", "created", time.Minute},
		{"seen-future", "device_seen", time.Second},
	})
	got, err := s.DueAttempts(t.Context(), base, 100)
	must(t, "DueAttempts", err)
	want := []string{"seen-past-3", "created-past-2", "created-past-1", "created-past-1b"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("DueAttempts: got %q, want %q", ids(got), want)
	}
	w := newAttempt("seen-past-3")
	w.State = "device_seen"
	w.Deadline = base.Add(-3 * time.Minute)
	wantEqual(t, "due attempt", got[0], w)
}

func testDueLimit(t *testing.T, s store.Store) {
	createAttempts(t, s, []attemptSpec{
		{"a", "created", -time.Second},
		{"b", "created", -3 * time.Second},
		{"c", "device_seen", -2 * time.Second},
	})
	tests := []struct {
		limit int
		want  []string
	}{
		{2, []string{"b", "c"}},
		{1, []string{"b"}},
		{3, []string{"b", "c", "a"}},
		{0, []string{}},
		{-1, []string{}},
	}
	for _, tt := range tests {
		got, err := s.DueAttempts(t.Context(), base, tt.limit)
		must(t, "DueAttempts", err)
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("DueAttempts(limit %d): got %q, want %q", tt.limit, ids(got), tt.want)
		}
	}
}

func testDueNone(t *testing.T, s store.Store) {
	got, err := s.DueAttempts(t.Context(), base, 10)
	must(t, "DueAttempts on an empty store", err)
	if len(got) != 0 {
		t.Fatalf("DueAttempts on an empty store: got %q", ids(got))
	}
	createAttempts(t, s, []attemptSpec{{"future", "created", time.Hour}})
	got, err = s.DueAttempts(t.Context(), base, 10)
	must(t, "DueAttempts", err)
	if len(got) != 0 {
		t.Fatalf("DueAttempts: got %q, want none", ids(got))
	}
}

var dueReportTests = []test{
	{"EndedAndDue", testDueReportsEndedAndDue},
	{"Cleared", testDueReportsCleared},
	{"Limit", testDueReportsLimit},
	{"RoundTrip", testDueReportsRoundTrip},
}

// reportSpec is an attempt in a state with a ReportAt offset from base, or
// none.
type reportSpec struct {
	id       string
	state    string
	reportAt time.Duration // from base
	none     bool          // ReportAt zero: nothing to report
}

func createReports(t *testing.T, s store.Store, specs []reportSpec) {
	t.Helper()
	for _, sp := range specs {
		a := newAttempt(sp.id)
		a.State = sp.state
		a.Deadline = base.Add(-time.Hour) // past: only state and ReportAt matter
		if !sp.none {
			a.ReportAt = base.Add(sp.reportAt)
		}
		must(t, "CreateAttempt "+sp.id, s.CreateAttempt(t.Context(), a))
	}
}

func testDueReportsEndedAndDue(t *testing.T, s store.Store) {
	createReports(t, s, []reportSpec{
		{id: "consumed-2", state: "consumed", reportAt: -2 * time.Minute},
		{id: "expired-3", state: "expired", reportAt: -3 * time.Minute},
		{id: "decided-1", state: "decided", reportAt: -time.Minute},
		{id: "consumed-1", state: "consumed", reportAt: -time.Minute}, // tie: by ID
		{id: "consumed-now", state: "consumed", reportAt: 0},          // due at now
		{id: "consumed-later", state: "consumed", reportAt: time.Second},
		{id: "created-due", state: "created", reportAt: -time.Hour}, // open: not yet
		{id: "seen-due", state: "device_seen", reportAt: -time.Hour},
		{id: "consumed-none", state: "consumed", none: true},
		{id: "expired-none", state: "expired", none: true},
	})
	got, err := s.DueReports(t.Context(), base, 100)
	must(t, "DueReports", err)
	want := []string{"expired-3", "consumed-2", "consumed-1", "decided-1", "consumed-now"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("DueReports: got %q, want %q", ids(got), want)
	}
	w := newAttempt("expired-3")
	w.State = "expired"
	w.Deadline = base.Add(-time.Hour)
	w.ReportAt = base.Add(-3 * time.Minute)
	wantEqual(t, "due report", got[0], w)

	// An open attempt becomes due once it ends.
	_, err = s.UpdateAttempt(t.Context(), "seen-due", func(a store.Attempt) (store.Attempt, error) {
		a.State = "decided"
		return a, nil
	})
	must(t, "UpdateAttempt", err)
	got, err = s.DueReports(t.Context(), base, 100)
	must(t, "DueReports", err)
	if want := []string{"seen-due", "expired-3", "consumed-2", "consumed-1", "decided-1", "consumed-now"}; !slices.Equal(ids(got), want) {
		t.Fatalf("DueReports after the decision: got %q, want %q", ids(got), want)
	}
}

func testDueReportsCleared(t *testing.T, s store.Store) {
	createReports(t, s, []reportSpec{
		{id: "a", state: "consumed", reportAt: -time.Minute},
		{id: "b", state: "expired", reportAt: -time.Minute},
	})
	// The report is enqueued: one write clears ReportAt and changes the data.
	_, err := s.UpdateAttempt(t.Context(), "a", func(a store.Attempt) (store.Attempt, error) {
		a.ReportAt = time.Time{}
		a.Data = []byte(`{"notified":true}`)
		return a, nil
	})
	must(t, "UpdateAttempt", err)
	got, err := s.DueReports(t.Context(), base, 100)
	must(t, "DueReports", err)
	if want := []string{"b"}; !slices.Equal(ids(got), want) {
		t.Fatalf("DueReports after clearing a: got %q, want %q", ids(got), want)
	}
	a, err := s.GetAttempt(t.Context(), "a")
	must(t, "GetAttempt", err)
	if !a.ReportAt.IsZero() || string(a.Data) != `{"notified":true}` {
		t.Fatalf("cleared attempt: ReportAt %v, data %s", a.ReportAt, a.Data)
	}
	// An update that leaves ReportAt alone keeps the attempt due.
	_, err = s.UpdateAttempt(t.Context(), "b", func(a store.Attempt) (store.Attempt, error) {
		a.UserAgent = "other"
		return a, nil
	})
	must(t, "UpdateAttempt", err)
	got, err = s.DueReports(t.Context(), base, 100)
	must(t, "DueReports", err)
	if want := []string{"b"}; !slices.Equal(ids(got), want) {
		t.Fatalf("DueReports after an unrelated update: got %q, want %q", ids(got), want)
	}
}

func testDueReportsLimit(t *testing.T, s store.Store) {
	createReports(t, s, []reportSpec{
		{id: "a", state: "consumed", reportAt: -time.Second},
		{id: "b", state: "expired", reportAt: -3 * time.Second},
		{id: "c", state: "decided", reportAt: -2 * time.Second},
	})
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		{2, []string{"b", "c"}},
		{3, []string{"b", "c", "a"}},
		{0, []string{}},
		{-1, []string{}},
	} {
		got, err := s.DueReports(t.Context(), base, tt.limit)
		must(t, "DueReports", err)
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("DueReports(limit %d): got %q, want %q", tt.limit, ids(got), tt.want)
		}
	}
	got, err := s.DueReports(t.Context(), base.Add(-time.Hour), 10)
	must(t, "DueReports", err)
	if len(got) != 0 {
		t.Errorf("DueReports an hour early: got %q", ids(got))
	}
}

// testDueReportsRoundTrip: ReportAt reads back as written, through every
// path that reads or writes an attempt.
func testDueReportsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := base.Add(90 * time.Second)
	a := newAttempt("att-1")
	a.ReportAt = at
	g := newGrant(store.GrantCode, "code-1")
	g.AttemptID = a.ID
	must(t, "CreateAttemptWithGrant", s.CreateAttemptWithGrant(ctx, a, g))
	got, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt with ReportAt", got, a)

	_, redeemed, err := s.RedeemGrant(ctx, store.GrantCode, "code-1", base, func(_ store.Grant, old store.Attempt) (store.Redemption, error) {
		if !old.ReportAt.Equal(at) {
			t.Errorf("RedeemGrant saw ReportAt %v, want %v", old.ReportAt, at)
		}
		old.State = "consumed"
		old.ReportAt = time.Time{}
		return store.Redemption{Attempt: &old}, nil
	})
	must(t, "RedeemGrant", err)
	if !redeemed.ReportAt.IsZero() {
		t.Errorf("RedeemGrant returned ReportAt %v, want zero", redeemed.ReportAt)
	}
	got, err = s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	if !got.ReportAt.IsZero() {
		t.Errorf("ReportAt after RedeemGrant cleared it: %v", got.ReportAt)
	}

	upd, err := s.UpdateAttempt(ctx, a.ID, func(a store.Attempt) (store.Attempt, error) {
		a.ReportAt = at.Add(time.Microsecond)
		return a, nil
	})
	must(t, "UpdateAttempt", err)
	got, err = s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	if !got.ReportAt.Equal(at.Add(time.Microsecond)) || got.ReportAt.Location() != time.UTC || !upd.ReportAt.Equal(got.ReportAt) {
		t.Errorf("ReportAt after UpdateAttempt: stored %v, returned %v", got.ReportAt, upd.ReportAt)
	}
}
