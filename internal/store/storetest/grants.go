package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

var grantTests = []test{
	{"PutGet", testGrantPutGet},
	{"Missing", testGrantMissing},
	{"DuplicateUnexpired", testGrantDuplicate},
	{"ExpiredIsReplaced", testGrantExpiredReplaced},
	{"ExpiredIsNotFound", testGrantExpired},
	{"KindsAreSeparate", testGrantKinds},
	{"GetDoesNotConsume", testGrantGetDoesNotConsume},
	{"ConsumeOnce", testGrantConsumeOnce},
	{"ConcurrentConsume", testGrantConcurrentConsume},
	{"ConcurrentPut", testGrantConcurrentPut},
}

func newGrant(kind store.GrantKind, key string) store.Grant {
	return store.Grant{
		Kind:      kind,
		Key:       key,
		ClientID:  "client-1",
		AttemptID: "att-1",
		Data:      []byte(`{"scope":"openid number-verification:verify","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}`),
		CreatedAt: base,
		ExpiresAt: base.Add(time.Minute),
	}
}

func testGrantPutGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		g    store.Grant
	}{
		{"full", newGrant(store.GrantCode, "sha256:code-1")},
		{"empty", store.Grant{Kind: store.GrantAssertion, Key: "jti-1", CreatedAt: base, ExpiresAt: base.Add(time.Second)}},
		{"custom kind", store.Grant{Kind: "kpn.session", Key: "k", Data: []byte{}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "PutGrant", s.PutGrant(ctx, tt.g))
			got, err := s.GetGrant(ctx, tt.g.Kind, tt.g.Key, base)
			must(t, "GetGrant", err)
			wantEqual(t, "grant", got, tt.g)
		})
	}
}

func testGrantMissing(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetGrant(ctx, store.GrantCode, "nope", base)
	wantErr(t, "GetGrant", err, store.ErrNotFound)
	_, err = s.ConsumeGrant(ctx, store.GrantCode, "nope", base)
	wantErr(t, "ConsumeGrant", err, store.ErrNotFound)
}

func testGrantDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newGrant(store.GrantAssertion, "jti-replayed")
	must(t, "PutGrant", s.PutGrant(ctx, want))
	again := want
	again.ClientID = "client-2"
	again.Data = []byte(`{"replay":true}`)
	for _, at := range []time.Duration{0, time.Second, time.Minute - time.Millisecond} {
		again.CreatedAt = base.Add(at)
		again.ExpiresAt = again.CreatedAt.Add(time.Hour)
		wantErr(t, "PutGrant while unexpired", s.PutGrant(ctx, again), store.ErrAlreadyExists)
	}
	got, err := s.GetGrant(ctx, want.Kind, want.Key, base)
	must(t, "GetGrant", err)
	wantEqual(t, "grant after duplicate", got, want)
}

func testGrantExpiredReplaced(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := newGrant(store.GrantCode, "sha256:reused")
	must(t, "PutGrant", s.PutGrant(ctx, old))
	tests := []struct {
		name    string
		created time.Time
	}{
		{"at expiry", old.ExpiresAt},
		{"after expiry", old.ExpiresAt.Add(time.Hour)},
	}
	prev := old
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.created.Before(prev.ExpiresAt) {
				t.Fatal("bad test: new grant created before the old one expires")
			}
			g := newGrant(store.GrantCode, "sha256:reused")
			g.ClientID = "client-" + tt.name
			g.CreatedAt = tt.created
			g.ExpiresAt = tt.created.Add(time.Minute)
			must(t, "PutGrant over an expired grant", s.PutGrant(ctx, g))
			got, err := s.GetGrant(ctx, g.Kind, g.Key, tt.created)
			must(t, "GetGrant", err)
			wantEqual(t, "replacing grant", got, g)
			prev = g
		})
	}
}

func testGrantExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := newGrant(store.GrantAccessToken, "sha256:token")
	must(t, "PutGrant", s.PutGrant(ctx, g))
	tests := []struct {
		name string
		now  time.Time
	}{
		{"at ExpiresAt", g.ExpiresAt},
		{"after ExpiresAt", g.ExpiresAt.Add(time.Millisecond)},
		{"long after", g.ExpiresAt.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		_, err := s.GetGrant(ctx, g.Kind, g.Key, tt.now)
		wantErr(t, "GetGrant "+tt.name, err, store.ErrNotFound)
		_, err = s.ConsumeGrant(ctx, g.Kind, g.Key, tt.now)
		wantErr(t, "ConsumeGrant "+tt.name, err, store.ErrNotFound)
	}
	// Just before expiry it is still there.
	got, err := s.ConsumeGrant(ctx, g.Kind, g.Key, g.ExpiresAt.Add(-time.Millisecond))
	must(t, "ConsumeGrant before expiry", err)
	wantEqual(t, "grant", got, g)
}

func testGrantKinds(t *testing.T, s store.Store) {
	ctx := t.Context()
	code := newGrant(store.GrantCode, "same-key")
	token := newGrant(store.GrantAccessToken, "same-key")
	token.Data = []byte(`{"token":true}`)
	must(t, "PutGrant code", s.PutGrant(ctx, code))
	must(t, "PutGrant token", s.PutGrant(ctx, token))
	got, err := s.ConsumeGrant(ctx, store.GrantCode, "same-key", base)
	must(t, "ConsumeGrant code", err)
	wantEqual(t, "code", got, code)
	got, err = s.GetGrant(ctx, store.GrantAccessToken, "same-key", base)
	must(t, "GetGrant token", err)
	wantEqual(t, "token", got, token)
}

func testGrantGetDoesNotConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := newGrant(store.GrantCode, "sha256:peek")
	must(t, "PutGrant", s.PutGrant(ctx, g))
	for range 3 {
		got, err := s.GetGrant(ctx, g.Kind, g.Key, base)
		must(t, "GetGrant", err)
		wantEqual(t, "grant", got, g)
	}
	got, err := s.ConsumeGrant(ctx, g.Kind, g.Key, base)
	must(t, "ConsumeGrant after GetGrant", err)
	wantEqual(t, "consumed grant", got, g)
}

func testGrantConsumeOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	g := newGrant(store.GrantCode, "sha256:once")
	must(t, "PutGrant", s.PutGrant(ctx, g))
	got, err := s.ConsumeGrant(ctx, g.Kind, g.Key, base.Add(time.Second))
	must(t, "ConsumeGrant", err)
	wantEqual(t, "consumed grant", got, g)
	_, err = s.ConsumeGrant(ctx, g.Kind, g.Key, base.Add(time.Second))
	wantErr(t, "second ConsumeGrant", err, store.ErrNotFound)
	_, err = s.GetGrant(ctx, g.Kind, g.Key, base.Add(time.Second))
	wantErr(t, "GetGrant after ConsumeGrant", err, store.ErrNotFound)
	// A consumed key is free for a new grant.
	must(t, "PutGrant after ConsumeGrant", s.PutGrant(ctx, g))
}

func testGrantConcurrentConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	g := newGrant(store.GrantCode, "sha256:race")
	must(t, "PutGrant", s.PutGrant(ctx, g))
	got := make([]store.Grant, n)
	errs := parallel(n, func(i int) error {
		var err error
		got[i], err = s.ConsumeGrant(ctx, g.Kind, g.Key, base)
		return err
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
			wantEqual(t, "consumed grant", got[i], g)
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("ConsumeGrant #%d: got error %v, want nil or ErrNotFound", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent ConsumeGrant calls: %d succeeded, want exactly 1", n, wins)
	}
}

func testGrantConcurrentPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	errs := parallel(n, func(i int) error {
		return s.PutGrant(ctx, newGrant(store.GrantAssertion, "jti-race"))
	})
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("PutGrant #%d: got error %v, want nil or ErrAlreadyExists", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent PutGrant calls with one key: %d succeeded, want exactly 1", n, wins)
	}
}
