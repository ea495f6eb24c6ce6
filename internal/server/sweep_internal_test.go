package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/core"
	"github.com/numgate/numgate/internal/msisdn"
	"github.com/numgate/numgate/internal/network"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// nobody is a network that identifies no device.
type nobody struct{}

func (nobody) Identify(context.Context, network.Connection) (network.Identity, error) {
	return network.Identity{}, network.ErrNotIdentifiable
}

// sweepService is a core service on a file-backed SQLite store, whose
// network identifies nobody and whose attempts live a minute, with a clock
// that moves only when advanced.
func sweepService(t *testing.T) (st *sqlite.Store, svc *core.Service, clk func() time.Time, advance func(time.Duration)) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "numgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := msisdn.NewPseudonymizer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance = func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	svc, err = core.NewService(core.Config{Store: st, Identifier: nobody{}, Pseudonymizer: p, Now: clk, Lifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, clk, advance
}

// TestSweepFailingReportsDoNotBlock: a full page of reports that keep
// failing does not hide the reports queued behind it — each failed one
// is postponed — and the failed ones are tried again a minute later.
func TestSweepFailingReportsDoNotBlock(t *testing.T) {
	ctx := t.Context()
	st, svc, clk, advance := sweepService(t)
	for range sweepBatch {
		if _, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "failing", Report: true}); err != nil {
			t.Fatal(err)
		}
	}
	advance(time.Second)
	good, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "working", Report: true})
	if err != nil {
		t.Fatal(err)
	}
	const retain = 24 * time.Hour
	failed, reported := 0, 0
	s := &Server{core: svc, log: slog.New(slog.DiscardHandler), now: clk, reporters: map[string]reporter{
		"failing": func(context.Context, store.Attempt) error { failed++; return errors.New("outbox down") },
		"working": func(ctx context.Context, a store.Attempt) error {
			reported++
			_, err := svc.Reported(ctx, a.ID, nil)
			return err
		},
	}}
	s.cfg.Attempts.Retain = config.Duration(retain)

	advance(2 * time.Minute) // every attempt expired
	s.expireDue(ctx)
	if reported != 1 || failed != sweepBatch {
		t.Fatalf("first sweep: %d reported, %d failed; want the working one reported behind %d failures", reported, failed, sweepBatch)
	}
	if a, err := svc.Get(ctx, good.ID); err != nil || !a.ReportAt.IsZero() {
		t.Fatalf("the working report's mark: %v (%v), want cleared", a.ReportAt, err)
	}
	advance(5 * time.Second)
	s.expireDue(ctx)
	if failed != sweepBatch {
		t.Errorf("a sweep 5 s later retried %d failed reports, want none before a minute", failed-sweepBatch)
	}
	advance(reportRetry)
	s.expireDue(ctx)
	if failed != 2*sweepBatch {
		t.Errorf("a minute later: %d tries of failing reports, want each tried again (%d)", failed, 2*sweepBatch)
	}

	// Failing for the whole retention: tried a last time, then given up,
	// the data that held the notification target dropped,
	// garbage-collected like any attempt.
	advance(retain)
	s.expireDue(ctx)
	if failed != 3*sweepBatch {
		t.Errorf("past the retention: %d more tries, want each tried a last time", failed-2*sweepBatch)
	}
	advance(reportRetry)
	s.expireDue(ctx)
	if failed != 3*sweepBatch {
		t.Errorf("after giving up: %d more tries, want none", failed-3*sweepBatch)
	}
	if due, err := svc.DueReports(ctx, 10); err != nil || len(due) != 0 {
		t.Fatalf("past the retention: %d reports still due (%v), want none", len(due), err)
	}
	res, err := st.GarbageCollect(ctx, clk(), retain)
	if err != nil || res.Attempts != sweepBatch+1 {
		t.Errorf("garbage collection: %+v (%v), want all %d attempts removed", res, err, sweepBatch+1)
	}
}

// TestSweepReportsBeforeAbandoning: a report is abandoned only once it
// failed past the retention, never before it was tried: with a retention
// of zero (attempts.retain: 0, keep nothing for audit) an expiry is found
// past its deadline, hence past the retention, and must still be reported.
func TestSweepReportsBeforeAbandoning(t *testing.T) {
	ctx := t.Context()
	_, svc, clk, advance := sweepService(t)
	good, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "working", Report: true})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := svc.Start(ctx, core.StartRequest{ClientID: "c", Dialect: "failing", Report: true})
	if err != nil {
		t.Fatal(err)
	}
	tried := map[string]int{}
	s := &Server{core: svc, log: slog.New(slog.DiscardHandler), now: clk, reporters: map[string]reporter{
		"failing": func(_ context.Context, a store.Attempt) error { tried[a.ID]++; return errors.New("outbox down") },
		"working": func(ctx context.Context, a store.Attempt) error {
			tried[a.ID]++
			_, err := svc.Reported(ctx, a.ID, nil)
			return err
		},
	}}
	s.cfg.Attempts.Retain = 0

	advance(time.Minute + 5*time.Second) // past the deadline: expired by the sweep
	s.expireDue(ctx)
	if tried[good.ID] != 1 || tried[bad.ID] != 1 {
		t.Fatalf("reports tried %v, want each once: an expiry abandoned untried is never reported", tried)
	}
	if due, err := svc.DueReports(ctx, 10); err != nil || len(due) != 0 {
		t.Fatalf("%d reports still due (%v): one that failed past the retention is abandoned", len(due), err)
	}
}

// TestForgetUntakenDeviceNumbers: a decided attempt whose result nobody
// took (a CAMARA token never used at /verify) keeps the device's number
// only until forgetDeviceNumberAfter past its deadline, not until the
// attempt is collected a day later; the passes walk the deadlines in
// windows without skipping any.
func TestForgetUntakenDeviceNumbers(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Server{store: st, log: slog.New(slog.DiscardHandler)}
	deadline := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i, id := range []string{"early", "late"} {
		a := store.Attempt{ID: id, ClientID: "c", Dialect: "camara", State: "decided", Outcome: "identified",
			DeviceNumber: "+99012345678", DeviceHash: "h1:aa", CreatedAt: deadline, UpdatedAt: deadline,
			Deadline: deadline.Add(time.Duration(i) * time.Minute)}
		if err := st.CreateAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	number := func(id string) string {
		a, err := st.GetAttempt(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a.DeviceNumber
	}
	var from time.Time
	from = s.forgetUntaken(ctx, from, deadline.Add(forgetDeviceNumberAfter-time.Second))
	if number("early") == "" || number("late") == "" {
		t.Fatal("a device number forgotten before its time")
	}
	from = s.forgetUntaken(ctx, from, deadline.Add(forgetDeviceNumberAfter+30*time.Second))
	if number("early") != "" || number("late") == "" {
		t.Fatalf("after the first window: early %q, late %q; want only early forgotten", number("early"), number("late"))
	}
	s.forgetUntaken(ctx, from, deadline.Add(forgetDeviceNumberAfter+2*time.Minute))
	if number("late") != "" {
		t.Fatal("the next window skipped an attempt")
	}
	if a, _ := st.GetAttempt(ctx, "late"); a.Outcome != "identified" || a.DeviceHash != "h1:aa" || a.State != "decided" {
		t.Errorf("forgetting changed more than the number: %+v", a)
	}
}
