package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
	"github.com/numgate/numgate/internal/store/storetest"
)

func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		storetest.RunTests(t, func(t *testing.T) store.Store {
			return open(t, filepath.Join(t.TempDir(), "numgate.db"))
		})
	})
	t.Run("Memory", func(t *testing.T) {
		storetest.RunTests(t, func(t *testing.T) store.Store {
			return open(t, sqlite.MemoryPath)
		})
	})
}

// TestReopen checks that data, deliveries in particular, survive a restart
// and that migrating an up-to-date file is a no-op.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	d := store.Delivery{ID: "d1", Kind: "kpn.notify", URL: "https://app.example/", Body: []byte("{}"),
		Headers: map[string]string{"Authorization": "Bearer t"}, NextTryAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.EnqueueDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	got, err := s.GetDelivery(ctx, "d1")
	if err != nil {
		t.Fatalf("GetDelivery after reopen: %v", err)
	}
	if got.URL != d.URL || got.Headers["Authorization"] != "Bearer t" || got.State != store.DeliveryPending {
		t.Errorf("GetDelivery after reopen: got %+v", got)
	}
}

// TestTwoStoresOneFile checks that two stores (as two processes would) on
// one file do not fail each other's writes with SQLITE_BUSY.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	a, b := open(t, path), open(t, path)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	errs := make(chan error, 2)
	for i, s := range []*sqlite.Store{a, b} {
		go func() {
			for j := range 200 {
				g := store.Grant{Kind: store.GrantCode, Key: fmt.Sprintf("k%d-%d", i, j), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
				if err := s.PutGrant(ctx, g); err != nil {
					errs <- err
					return
				}
				if _, err := s.ConsumeGrant(ctx, g.Kind, g.Key, now); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, path string
	}{
		{"empty", ""},
		{"question mark", filepath.Join(t.TempDir(), "a?b.db")},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q): got no error", tt.path)
			}
		})
	}
}

// BenchmarkFlowOps runs the store operations of one verification on a file
// database (see storetest.BenchmarkFlow).
func BenchmarkFlowOps(b *testing.B) {
	storetest.BenchmarkFlow(b, open(b, filepath.Join(b.TempDir(), "numgate.db")))
}

// BenchmarkOps measures single operations on a file database.
func BenchmarkOps(b *testing.B) {
	ctx := context.Background()
	now := time.Now().UTC()
	s := open(b, filepath.Join(b.TempDir(), "numgate.db"))
	if err := storetest.FlowOps(ctx, s, "seed", now); err != nil {
		b.Fatal(err)
	}
	a := store.Attempt{ID: "bench", ClientID: "client-1", State: "created", CreatedAt: now, Deadline: now.Add(time.Hour),
		Data: []byte(`{"redirect_uri":"https://app.example/cb","state":"xyz"}`)}
	if err := s.CreateAttempt(ctx, a); err != nil {
		b.Fatal(err)
	}
	var n int
	ops := []struct {
		name string
		op   func() error
	}{
		{"GetAttempt", func() error { _, err := s.GetAttempt(ctx, "bench"); return err }},
		{"UpdateAttempt", func() error {
			_, err := s.UpdateAttempt(ctx, "bench", func(a store.Attempt) (store.Attempt, error) {
				a.UpdatedAt = a.UpdatedAt.Add(time.Microsecond)
				return a, nil
			})
			return err
		}},
		// The cheapest durable write the store makes: one small row in
		// one transaction (a WAL page or two and the commit).
		{"PutGrant", func() error {
			n++
			return s.PutGrant(ctx, store.Grant{Kind: store.GrantCode, Key: fmt.Sprintf("p%016x", uint64(n)*0x9e3779b97f4a7c15),
				CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
		}},
		{"PutConsumeGrant", func() error {
			n++
			g := store.Grant{Kind: store.GrantCode, Key: fmt.Sprint("k", n), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := s.PutGrant(ctx, g); err != nil {
				return err
			}
			_, err := s.ConsumeGrant(ctx, g.Kind, g.Key, now)
			return err
		}},
		{"GetGrantMissing", func() error {
			_, err := s.GetGrant(ctx, store.GrantCode, "missing", now)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := o.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedeemFlow runs the three store transactions of one CAMARA
// verification on a file database (see storetest.BenchmarkRedeemFlow).
func BenchmarkRedeemFlow(b *testing.B) {
	storetest.BenchmarkRedeemFlow(b, open(b, filepath.Join(b.TempDir(), "numgate.db")))
}

// TestNewFileIsOwnersOnly: the database (and its WAL) holds phone numbers
// while flows run, so a new one is readable by its owner only, whatever
// the umask; an existing file keeps the mode its operator gave it.
func TestNewFileIsOwnersOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "numgate.db")
	s := open(t, path)
	if err := s.PutGrant(t.Context(), store.Grant{Kind: store.GrantCode, Key: "k", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
	kept := filepath.Join(dir, "kept.db")
	if err := os.WriteFile(kept, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	open(t, kept)
	if fi, err := os.Stat(kept); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("existing file: mode %v (%v), want 0640 kept", fi.Mode().Perm(), err)
	}
}

// TestPingClosed: Ping reports a closed store (the readiness check's
// "store unavailable").
func TestPingClosed(t *testing.T) {
	for _, path := range []string{filepath.Join(t.TempDir(), "numgate.db"), sqlite.MemoryPath} {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("%s: Ping of an open store: %v", path, err)
		}
		s.Close()
		if err := s.Ping(t.Context()); err == nil {
			t.Errorf("%s: Ping of a closed store: no error", path)
		}
	}
}
