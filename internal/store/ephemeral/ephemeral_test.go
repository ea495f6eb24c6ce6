package ephemeral_test

import (
	"testing"

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
