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

// BenchmarkRedeemFlow measures the store transactions of one verification
// as the gateway runs them since the grants are redeemed in one
// transaction each (see RedeemFlowOps): three write transactions.
func BenchmarkRedeemFlow(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	var n atomic.Int64
	b.ReportAllocs()
	for b.Loop() {
		if err := RedeemFlowOps(ctx, s, fmt.Sprintf("%016x", uint64(n.Add(1))*0x9e3779b97f4a7c15), now); err != nil {
			b.Fatal(err)
		}
	}
}

// RedeemFlowOps runs the store transactions of one CAMARA verification for
// the attempt id: /authorize stores the decided attempt with its code
// (CreateAttemptWithGrant); /token redeems the code for an access token and
// a code_used record; /verify redeems the token and consumes the attempt.
func RedeemFlowOps(ctx context.Context, s store.Store, id string, now time.Time) error {
	a := store.Attempt{
		ID: "att-" + id, ClientID: "client-1", Dialect: "camara", State: "decided", Outcome: "identified",
		DeviceNumber: "+15550100123", DeviceHash: "h1:5ab1c3d4e5f60718293a4b5c6d7e8f90", IdentifiedBy: "virtual",
		DeviceAddr: "10.1.2.3", UserAgent: "Go-http-client/1.1", CreatedAt: now, UpdatedAt: now,
		Deadline: now.Add(5 * time.Minute), Data: []byte(`{"scope":"dpv:FraudPreventionAndDetection number-verification:verify"}`),
	}
	code := store.Grant{Kind: store.GrantCode, Key: "sha256:code-" + id, ClientID: a.ClientID, AttemptID: a.ID,
		Data:      []byte(`{"redirect_uri":"https://app.example/cb","scopes":["dpv:FraudPreventionAndDetection","number-verification:verify"],"code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","auth_time":"2026-11-23T13:00:00Z"}`),
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := s.CreateAttemptWithGrant(ctx, a, code); err != nil {
		return fmt.Errorf("create attempt with grant: %w", err)
	}
	token := store.Grant{Kind: store.GrantAccessToken, Key: "sha256:token-" + id, ClientID: a.ClientID, AttemptID: a.ID,
		Data:      []byte(`{"scopes":["dpv:FraudPreventionAndDetection","number-verification:verify"],"network":true}`),
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	used := store.Grant{Kind: "code_used", Key: code.Key, ClientID: a.ClientID, AttemptID: a.ID,
		Data: []byte(`"` + token.Key + `"`), CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	if _, _, err := s.RedeemGrant(ctx, store.GrantCode, code.Key, now, func(store.Grant, store.Attempt) (store.Redemption, error) {
		return store.Redemption{Grants: []store.Grant{token, used}}, nil
	}); err != nil {
		return fmt.Errorf("redeem code: %w", err)
	}
	if _, _, err := s.RedeemGrant(ctx, store.GrantAccessToken, token.Key, now, func(_ store.Grant, a store.Attempt) (store.Redemption, error) {
		a.State, a.Outcome, a.DeviceNumber, a.UpdatedAt = "consumed", "match", "", now
		return store.Redemption{Attempt: &a}, nil
	}); err != nil {
		return fmt.Errorf("redeem token: %w", err)
	}
	return nil
}
