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
