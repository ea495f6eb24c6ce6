package clientcache_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/clientcache"
	"github.com/numgate/numgate/internal/store/sqlite"
	"github.com/numgate/numgate/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The cache in front of a store still passes the whole contract.
func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store {
		return clientcache.New(open(t, sqlite.MemoryPath), clientcache.MaxTTL, nil)
	})
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A client removed by another process (another Store on the same file) is
// served for at most the TTL; a local removal is seen at once.
func TestTTLAndInvalidation(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	other := open(t, path)
	clk := &clock{t: time.Unix(1_000_000, 0)}
	s := clientcache.New(open(t, path), 2*time.Second, clk.Now)
	c := store.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"}, IDTokenAlg: "", CreatedAt: time.Unix(0, 0).UTC()}
	if err := other.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	got.RedirectURIs[0] = "https://evil.example/" // callers cannot change the cache
	if err := other.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	got, err = s.GetClient(ctx, "app")
	if err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	if got.RedirectURIs[0] != "https://app.example/cb" {
		t.Errorf("cached client was changed through a returned copy: %v", got.RedirectURIs)
	}
	clk.Advance(time.Second)
	if _, err := s.GetClient(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the TTL: got %v, want ErrNotFound", err)
	}

	// Local writes drop the entry at once.
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetClient(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a local delete: got %v, want ErrNotFound", err)
	}
}
