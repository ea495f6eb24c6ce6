package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var redeemTests = []test{
	{"CreateAttemptWithGrant", testCreateWithGrant},
	{"CreateAttemptWithGrantDuplicateAttempt", testCreateWithGrantDupAttempt},
	{"CreateAttemptWithGrantDuplicateGrant", testCreateWithGrantDupGrant},
	{"Redeem", testRedeem},
	{"RedeemMissingOrExpired", testRedeemMissing},
	{"RedeemFnErrorWritesNothing", testRedeemFnError},
	{"RedeemWithoutAttempt", testRedeemWithoutAttempt},
	{"RedeemDuplicateNewGrant", testRedeemDuplicateNewGrant},
	{"RedeemCannotChangeAttemptID", testRedeemAttemptID},
	{"ConcurrentRedeem", testRedeemConcurrent},
	{"CanceledAfterDecision", testRedeemCanceledAfterDecision},
}

// testRedeemCanceledAfterDecision: a redemption whose caller goes away
// after fn has decided still completes, and says so: the grant is used up
// exactly when RedeemGrant reports success.
func testRedeemCanceledAfterDecision(t *testing.T, s store.Store) {
	a, g := redeemSetup(t, s, "att-rc")
	ctx, cancel := context.WithCancel(t.Context())
	now := base.Add(time.Second)
	_, _, err := s.RedeemGrant(ctx, g.Kind, g.Key, now, func(_ store.Grant, fa store.Attempt) (store.Redemption, error) {
		cancel()
		fa.State, fa.UpdatedAt = "consumed", now
		return store.Redemption{Attempt: &fa}, nil
	})
	must(t, "RedeemGrant cancelled after its decision", err)
	_, err = s.GetGrant(t.Context(), g.Kind, g.Key, now)
	wantErr(t, "GetGrant of the redeemed grant", err, store.ErrNotFound)
	stored, err := s.GetAttempt(t.Context(), a.ID)
	must(t, "GetAttempt", err)
	if stored.State != "consumed" {
		t.Errorf("stored state %q, want consumed", stored.State)
	}
}

// codeFor returns a code grant for attempt id.
func codeFor(id, key string) store.Grant {
	g := newGrant(store.GrantCode, key)
	g.AttemptID = id
	return g
}

func testCreateWithGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, g := newAttempt("att-cg"), codeFor("att-cg", "sha256:cg")
	must(t, "CreateAttemptWithGrant", s.CreateAttemptWithGrant(ctx, a, g))
	gotA, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", gotA, a)
	gotG, err := s.GetGrant(ctx, g.Kind, g.Key, base)
	must(t, "GetGrant", err)
	wantEqual(t, "grant", gotG, g)
}

func testCreateWithGrantDupAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := newAttempt("att-dup")
	must(t, "CreateAttempt", s.CreateAttempt(ctx, a))
	g := codeFor(a.ID, "sha256:dup-a")
	wantErr(t, "CreateAttemptWithGrant", s.CreateAttemptWithGrant(ctx, a, g), store.ErrAlreadyExists)
	_, err := s.GetGrant(ctx, g.Kind, g.Key, base)
	wantErr(t, "GetGrant after a failed create", err, store.ErrNotFound)
}

func testCreateWithGrantDupGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := codeFor("att-other", "sha256:dup-g")
	must(t, "PutGrant", s.PutGrant(ctx, g))
	a := newAttempt("att-new")
	wantErr(t, "CreateAttemptWithGrant", s.CreateAttemptWithGrant(ctx, a, codeFor(a.ID, g.Key)), store.ErrAlreadyExists)
	_, err := s.GetAttempt(ctx, a.ID)
	wantErr(t, "GetAttempt after a failed create", err, store.ErrNotFound)
	got, err := s.GetGrant(ctx, g.Kind, g.Key, base)
	must(t, "GetGrant", err)
	wantEqual(t, "grant", got, g)
}

// redeemSetup stores an attempt and a code for it.
func redeemSetup(t *testing.T, s store.Store, id string) (store.Attempt, store.Grant) {
	t.Helper()
	a, g := newAttempt(id), codeFor(id, "sha256:code-"+id)
	must(t, "CreateAttemptWithGrant", s.CreateAttemptWithGrant(t.Context(), a, g))
	return a, g
}

func testRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, g := redeemSetup(t, s, "att-r")
	token := newGrant(store.GrantAccessToken, "sha256:tok")
	token.AttemptID = a.ID
	used := newGrant("code_used", g.Key)
	now := base.Add(time.Second)
	calls := 0
	gotG, gotA, err := s.RedeemGrant(ctx, g.Kind, g.Key, now, func(fg store.Grant, fa store.Attempt) (store.Redemption, error) {
		calls++
		wantEqual(t, "grant given to fn", fg, g)
		wantEqual(t, "attempt given to fn", fa, a)
		fa.State, fa.Outcome, fa.UpdatedAt = "consumed", "match", now
		return store.Redemption{Attempt: &fa, Grants: []store.Grant{token, used}}, nil
	})
	must(t, "RedeemGrant", err)
	if calls != 1 {
		t.Fatalf("fn called %d times, want 1", calls)
	}
	want := a
	want.State, want.Outcome, want.UpdatedAt = "consumed", "match", now
	wantEqual(t, "returned grant", gotG, g)
	wantEqual(t, "returned attempt", gotA, want)
	stored, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "stored attempt", stored, want)
	_, err = s.GetGrant(ctx, g.Kind, g.Key, now)
	wantErr(t, "GetGrant of the redeemed grant", err, store.ErrNotFound)
	for _, ng := range []store.Grant{token, used} {
		got, err := s.GetGrant(ctx, ng.Kind, ng.Key, now)
		must(t, "GetGrant of a new grant", err)
		wantEqual(t, "new grant", got, ng)
	}
	_, _, err = s.RedeemGrant(ctx, g.Kind, g.Key, now, func(store.Grant, store.Attempt) (store.Redemption, error) {
		t.Error("fn called for a redeemed grant")
		return store.Redemption{}, nil
	})
	wantErr(t, "second RedeemGrant", err, store.ErrNotFound)
}

func testRedeemMissing(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, g := redeemSetup(t, s, "att-m")
	fn := func(store.Grant, store.Attempt) (store.Redemption, error) {
		t.Error("fn called without a grant")
		return store.Redemption{}, nil
	}
	_, _, err := s.RedeemGrant(ctx, g.Kind, "sha256:nope", base, fn)
	wantErr(t, "RedeemGrant of a missing grant", err, store.ErrNotFound)
	_, _, err = s.RedeemGrant(ctx, store.GrantAccessToken, g.Key, base, fn)
	wantErr(t, "RedeemGrant of another kind", err, store.ErrNotFound)
	_, _, err = s.RedeemGrant(ctx, g.Kind, g.Key, g.ExpiresAt, fn)
	wantErr(t, "RedeemGrant at expiry", err, store.ErrNotFound)
}

func testRedeemFnError(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, g := redeemSetup(t, s, "att-e")
	boom := errors.New("wrong verifier")
	_, _, err := s.RedeemGrant(ctx, g.Kind, g.Key, base, func(fg store.Grant, fa store.Attempt) (store.Redemption, error) {
		fa.State = "consumed"
		return store.Redemption{Attempt: &fa, Grants: []store.Grant{newGrant(store.GrantAccessToken, "sha256:never")}}, boom
	})
	if err != boom { //nolint:errorlint // the very error fn returned
		t.Fatalf("RedeemGrant: got error %v, want fn's error as is", err)
	}
	got, err := s.GetGrant(ctx, g.Kind, g.Key, base)
	must(t, "GetGrant after a refused redemption", err)
	wantEqual(t, "grant", got, g)
	gotA, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", gotA, a)
	_, err = s.GetGrant(ctx, store.GrantAccessToken, "sha256:never", base)
	wantErr(t, "GetGrant of a grant fn asked for", err, store.ErrNotFound)
}

func testRedeemWithoutAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tc := range []struct{ name, attemptID string }{{"none named", ""}, {"gone", "att-gone"}} {
		t.Run(tc.name, func(t *testing.T) {
			g := codeFor(tc.attemptID, "sha256:noatt-"+tc.name)
			must(t, "PutGrant", s.PutGrant(ctx, g))
			_, gotA, err := s.RedeemGrant(ctx, g.Kind, g.Key, base, func(_ store.Grant, fa store.Attempt) (store.Redemption, error) {
				if fa.ID != "" {
					t.Errorf("fn got attempt %q, want a zero attempt", fa.ID)
				}
				return store.Redemption{}, nil
			})
			must(t, "RedeemGrant", err)
			if gotA.ID != "" {
				t.Errorf("returned attempt %q, want a zero attempt", gotA.ID)
			}
			_, err = s.GetGrant(ctx, g.Kind, g.Key, base)
			wantErr(t, "GetGrant after RedeemGrant", err, store.ErrNotFound)
		})
	}
}

func testRedeemDuplicateNewGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, g := redeemSetup(t, s, "att-d")
	taken := newGrant(store.GrantAccessToken, "sha256:taken")
	must(t, "PutGrant", s.PutGrant(ctx, taken))
	_, _, err := s.RedeemGrant(ctx, g.Kind, g.Key, base, func(_ store.Grant, fa store.Attempt) (store.Redemption, error) {
		fa.State = "consumed"
		return store.Redemption{Attempt: &fa, Grants: []store.Grant{taken}}, nil
	})
	wantErr(t, "RedeemGrant", err, store.ErrAlreadyExists)
	_, err = s.GetGrant(ctx, g.Kind, g.Key, base)
	must(t, "GetGrant: the grant must survive a failed redemption", err)
	gotA, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	wantEqual(t, "attempt", gotA, a)
}

func testRedeemAttemptID(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, g := redeemSetup(t, s, "att-id")
	_, _, err := s.RedeemGrant(ctx, g.Kind, g.Key, base, func(_ store.Grant, fa store.Attempt) (store.Redemption, error) {
		fa.ID = "att-other"
		return store.Redemption{Attempt: &fa}, nil
	})
	if err == nil {
		t.Fatal("RedeemGrant accepted an attempt with another ID")
	}
	_, err = s.GetGrant(ctx, g.Kind, g.Key, base)
	must(t, "GetGrant after a failed redemption", err)
	_, err = s.GetAttempt(ctx, "att-other")
	wantErr(t, "GetAttempt att-other", err, store.ErrNotFound)
}

func testRedeemConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	a, g := redeemSetup(t, s, "att-race")
	errs := parallel(n, func(i int) error {
		_, _, err := s.RedeemGrant(ctx, g.Kind, g.Key, base, func(_ store.Grant, fa store.Attempt) (store.Redemption, error) {
			fa.Data = fmt.Appendf(nil, `{"winner":%d}`, i)
			tok := newGrant(store.GrantAccessToken, fmt.Sprintf("sha256:tok-%d", i))
			return store.Redemption{Attempt: &fa, Grants: []store.Grant{tok}}, nil
		})
		return err
	})
	wins := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if wins >= 0 {
				t.Fatalf("RedeemGrant #%d and #%d both succeeded", wins, i)
			}
			wins = i
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("RedeemGrant #%d: got error %v, want nil or ErrNotFound", i, err)
		}
	}
	if wins < 0 {
		t.Fatal("no RedeemGrant succeeded")
	}
	got, err := s.GetAttempt(ctx, a.ID)
	must(t, "GetAttempt", err)
	if want := fmt.Sprintf(`{"winner":%d}`, wins); string(got.Data) != want {
		t.Errorf("attempt data %s, want %s", got.Data, want)
	}
	for i := range n {
		_, err := s.GetGrant(ctx, store.GrantAccessToken, fmt.Sprintf("sha256:tok-%d", i), base)
		if (err == nil) != (i == wins) {
			t.Errorf("token %d: GetGrant error %v (winner %d)", i, err, wins)
		}
	}
}
