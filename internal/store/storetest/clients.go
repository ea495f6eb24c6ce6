package storetest

import (
	"slices"
	"testing"

	"github.com/numgate/numgate/internal/store"
)

var clientTests = []test{
	{"CreateGet", testClientCreateGet},
	{"EmptyFields", testClientEmptyFields},
	{"Duplicate", testClientDuplicate},
	{"GetMissing", testClientGetMissing},
	{"Delete", testClientDelete},
	{"ListOrdered", testClientListOrdered},
	{"ListEmpty", testClientListEmpty},
	{"Ping", testPing},
}

// testPing: an open store answers Ping, empty or not.
func testPing(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "Ping (empty)", s.Ping(ctx))
	must(t, "CreateClient", s.CreateClient(ctx, fullClient("client-1")))
	must(t, "Ping", s.Ping(ctx))
}

func fullClient(id string) store.Client {
	return store.Client{
		ID:           id,
		SecretHash:   []byte{0x00, 0x01, 0xfe, 0xff, 0x80},
		SecretSalt:   []byte("salt-\x00-bytes"),
		JWKS:         []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`),
		RedirectURIs: []string{"https://app.example/cb", "https://app.example/cb?x=1&y=ü"},
		Scopes:       []string{"openid", "number-verification:verify"},
		IDTokenAlg:   "ES256",
		CreatedAt:    base,
	}
}

func testClientCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := fullClient("client-1")
	must(t, "CreateClient", s.CreateClient(ctx, want))
	got, err := s.GetClient(ctx, want.ID)
	must(t, "GetClient", err)
	wantEqual(t, "client", got, want)
}

func testClientEmptyFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		c    store.Client
	}{
		{"nil", store.Client{ID: "c-nil", CreatedAt: base}},
		{"empty", store.Client{
			ID: "c-empty", SecretHash: []byte{}, SecretSalt: []byte{}, JWKS: []byte{},
			RedirectURIs: []string{}, Scopes: []string{}, CreatedAt: base,
		}},
		{"zero time", store.Client{ID: "c-zero", RedirectURIs: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			must(t, "CreateClient", s.CreateClient(ctx, tt.c))
			got, err := s.GetClient(ctx, tt.c.ID)
			must(t, "GetClient", err)
			wantEqual(t, "client", got, tt.c)
			if tt.c.CreatedAt.IsZero() && !got.CreatedAt.IsZero() {
				t.Errorf("CreatedAt: got %v, want the zero time", got.CreatedAt)
			}
		})
	}
}

func testClientDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := fullClient("client-dup")
	must(t, "CreateClient", s.CreateClient(ctx, want))
	other := fullClient("client-dup")
	other.IDTokenAlg = "RS256"
	other.Scopes = nil
	wantErr(t, "second CreateClient", s.CreateClient(ctx, other), store.ErrAlreadyExists)
	got, err := s.GetClient(ctx, want.ID)
	must(t, "GetClient", err)
	wantEqual(t, "client after duplicate", got, want)
}

func testClientGetMissing(t *testing.T, s store.Store) {
	_, err := s.GetClient(t.Context(), "no-such-client")
	wantErr(t, "GetClient", err, store.ErrNotFound)
}

func testClientDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateClient", s.CreateClient(ctx, fullClient("keep")))
	must(t, "CreateClient", s.CreateClient(ctx, fullClient("drop")))
	must(t, "DeleteClient", s.DeleteClient(ctx, "drop"))
	_, err := s.GetClient(ctx, "drop")
	wantErr(t, "GetClient after delete", err, store.ErrNotFound)
	wantErr(t, "second DeleteClient", s.DeleteClient(ctx, "drop"), store.ErrNotFound)
	wantErr(t, "DeleteClient missing", s.DeleteClient(ctx, "never-was"), store.ErrNotFound)
	if _, err := s.GetClient(ctx, "keep"); err != nil {
		t.Fatalf("GetClient of the other client: %v", err)
	}
	// The ID is free again.
	must(t, "CreateClient again", s.CreateClient(ctx, fullClient("drop")))
}

func testClientListOrdered(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Byte order, not a locale's: upper case before lower case, '-' before '_'.
	ids := []string{"b", "a_1", "A", "a", "B1", "a-2", "0"}
	for _, id := range ids {
		c := fullClient(id)
		c.Scopes = []string{"scope-of-" + id}
		must(t, "CreateClient", s.CreateClient(ctx, c))
	}
	got, err := s.ListClients(ctx)
	must(t, "ListClients", err)
	want := slices.Clone(ids)
	slices.Sort(want)
	var gotIDs []string
	for _, c := range got {
		gotIDs = append(gotIDs, c.ID)
	}
	if !slices.Equal(gotIDs, want) {
		t.Fatalf("ListClients IDs: got %q, want %q", gotIDs, want)
	}
	for _, c := range got {
		w := fullClient(c.ID)
		w.Scopes = []string{"scope-of-" + c.ID}
		wantEqual(t, "listed client "+c.ID, c, w)
	}
}

func testClientListEmpty(t *testing.T, s store.Store) {
	got, err := s.ListClients(t.Context())
	must(t, "ListClients", err)
	if len(got) != 0 {
		t.Fatalf("ListClients on an empty store: got %d clients", len(got))
	}
}
