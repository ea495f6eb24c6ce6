package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// BenchmarkFlow measures the store operations of one verification, as the
// core and a dialect drive them: the attempt is created, seen by the device
// and decided (two UpdateAttempt calls); an authorization code is issued and
// redeemed, then an access token is issued and redeemed at /verify. The
// "serial" sub-benchmark runs one flow at a time, "parallel" runs GOMAXPROCS
// flows at once. s must stay open for the whole benchmark.
func BenchmarkFlow(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	var n atomic.Int64
	flow := func() error { return FlowOps(ctx, s, fmt.Sprintf("flow-%d", n.Add(1)), now) }
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := flow(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := flow(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// FlowOps runs the seven store operations of one verification for the
// attempt id, at time now: CreateAttempt, UpdateAttempt twice, then PutGrant
// and ConsumeGrant for a code and for an access token.
func FlowOps(ctx context.Context, s store.Store, id string, now time.Time) error {
	a := store.Attempt{
		ID: id, ClientID: "client-1", Dialect: "camara", State: "created",
		ClaimedNumber: "+15550100123", ClaimedHash: "h1:5ab1c3", CreatedAt: now, UpdatedAt: now,
		Deadline: now.Add(5 * time.Minute), Data: []byte(`{"redirect_uri":"https://app.example/cb","state":"xyz"}`),
	}
	if err := s.CreateAttempt(ctx, a); err != nil {
		return fmt.Errorf("create attempt: %w", err)
	}
	for _, st := range []string{"device_seen", "decided"} {
		if _, err := s.UpdateAttempt(ctx, id, func(a store.Attempt) (store.Attempt, error) {
			a.State = st
			a.UpdatedAt = now
			if st == "decided" {
				a.Outcome, a.DeviceHash, a.IdentifiedBy, a.ClaimedNumber = "match", "h1:5ab1c3", "virtual", ""
			}
			return a, nil
		}); err != nil {
			return fmt.Errorf("update attempt to %s: %w", st, err)
		}
	}
	for _, kind := range []store.GrantKind{store.GrantCode, store.GrantAccessToken} {
		g := store.Grant{Kind: kind, Key: "sha256:" + id, ClientID: "client-1", AttemptID: id,
			Data: []byte(`{"scope":"number-verification:verify"}`), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.PutGrant(ctx, g); err != nil {
			return fmt.Errorf("put %s: %w", kind, err)
		}
		if _, err := s.ConsumeGrant(ctx, kind, g.Key, now); err != nil {
			return fmt.Errorf("consume %s: %w", kind, err)
		}
	}
	return nil
}
