package ephemeral_test

import (
	"errors"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/ephemeral"
	"github.com/numgate/numgate/internal/store/sqlite"
	"github.com/numgate/numgate/internal/store/storetest"
)

// durable opens an in-memory SQLite store for one test.
func durable(t *testing.T) store.Store {
	t.Helper()
	d, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestConformance runs the store conformance suite over the two tiers: the
// suite's codes and access tokens (and the attempts created with them) in
// memory, its other grants in SQLite. Keep is negative so that attempts are
// collected as the contract says, retain past their deadline. With no room
// for attempts, the second run covers attempts that overflow to the durable
// store while their codes and tokens stay in memory.
func TestConformance(t *testing.T) {
	kinds := []store.GrantKind{store.GrantCode, store.GrantAccessToken}
	for _, tc := range []struct {
		name string
		max  int
	}{{"Memory", 0}, {"Overflow", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunTests(t, func(t *testing.T) store.Store {
				return ephemeral.New(durable(t), ephemeral.Options{Kinds: kinds, Keep: -1, MaxAttempts: tc.max})
			})
		})
	}
}

// TestMemoryBounds: an attempt in memory is dropped Keep after its
// deadline once no grant names it, and kept while one does; beyond
// MaxAttempts new attempts go to the durable store (where a restart would
// find them), their codes staying in memory.
func TestMemoryBounds(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	d := durable(t)
	s := ephemeral.New(d, ephemeral.Options{Kinds: []store.GrantKind{store.GrantCode}, MaxAttempts: 2, Keep: time.Minute})
	attempt := func(id string) store.Attempt {
		return store.Attempt{ID: id, ClientID: "c", Dialect: "camara", State: "decided", CreatedAt: t0, UpdatedAt: t0, Deadline: t0.Add(5 * time.Minute)}
	}
	code := func(id string, life time.Duration) store.Grant {
		return store.Grant{Kind: store.GrantCode, Key: "k-" + id, ClientID: "c", AttemptID: id, CreatedAt: t0, ExpiresAt: t0.Add(life)}
	}
	for _, tc := range []struct {
		id   string
		life time.Duration
	}{{"short", time.Minute}, {"long", time.Hour}, {"overflow", time.Minute}} {
		if err := s.CreateAttemptWithGrant(ctx, attempt(tc.id), code(tc.id, tc.life)); err != nil {
			t.Fatalf("create %s: %v", tc.id, err)
		}
	}
	if _, err := d.GetAttempt(ctx, "overflow"); err != nil {
		t.Errorf("third attempt, memory full: %v in the durable store, want it there", err)
	}
	if _, err := d.GetAttempt(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first attempt: %v in the durable store, want it in memory only", err)
	}
	if _, err := d.GetGrant(ctx, store.GrantCode, "k-overflow", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("overflowing attempt's code: %v in the durable store, want it in memory", err)
	}

	// A day's retain, but Keep is a minute: past deadline + Keep, the
	// attempt whose code expired goes; the one whose code lives stays.
	if _, err := s.GarbageCollect(ctx, t0.Add(5*time.Minute+time.Minute+time.Second), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAttempt(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unreferenced attempt past deadline + Keep: %v, want dropped", err)
	}
	if _, err := s.GetAttempt(ctx, "long"); err != nil {
		t.Errorf("attempt its live code names: %v, want kept", err)
	}
	// Room again: a new attempt is kept in memory.
	if err := s.CreateAttemptWithGrant(ctx, attempt("again"), code("again", time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetAttempt(ctx, "again"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("attempt after the collection: %v in the durable store, want memory", err)
	}
}
