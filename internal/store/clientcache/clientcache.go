// Package clientcache keeps the client registry in process memory for a
// short time, in front of any store.Store: every token request and every
// authorization looks its client up, and clients change rarely.
//
// Guarantees: a client read from the store is served from memory for at
// most TTL; CreateClient and DeleteClient through this store drop the entry
// at once. A change made by another process (`numgate clients remove`
// against the same database, another replica) is seen within TTL. Unknown
// client IDs are not cached, so a new client is usable at once. Grants and
// attempts are never cached: every other method goes straight to the store.
package clientcache

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// MaxTTL is the longest TTL New accepts: how long a client removed by
// another process may still be served.
const MaxTTL = 5 * time.Second

// Store is a store.Store whose GetClient is cached.
type Store struct {
	store.Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]entry
	gen     uint64 // bumped by every local client write
}

var _ store.Store = (*Store)(nil)

type entry struct {
	c       store.Client
	fetched time.Time
}

// New returns s with its clients cached for ttl (at most MaxTTL). now is
// the clock (nil: time.Now); it should be monotonic, as time.Now is.
func New(s store.Store, ttl time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{Store: s, ttl: min(ttl, MaxTTL), now: now, entries: map[string]entry{}}
}

// GetClient returns the client from memory if it was read less than TTL
// ago, else from the store.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.entries[id]
	gen := s.gen
	s.mu.Unlock()
	if ok && now.Sub(e.fetched) < s.ttl && !now.Before(e.fetched) {
		return clone(e.c), nil
	}
	c, err := s.Store.GetClient(ctx, id)
	if err != nil {
		return c, err
	}
	s.mu.Lock()
	if s.gen == gen { // no local write raced with the read
		if len(s.entries) > 10000 {
			clear(s.entries) // bounded: one entry per registered client
		}
		s.entries[id] = entry{c: clone(c), fetched: now}
	}
	s.mu.Unlock()
	return c, nil
}

// CreateClient stores a client and forgets any cached entry for its ID.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	defer s.forget(c.ID)
	return s.Store.CreateClient(ctx, c)
}

// DeleteClient removes a client and forgets any cached entry for it.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	defer s.forget(id)
	return s.Store.DeleteClient(ctx, id)
}

func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.entries, id)
	s.gen++
	s.mu.Unlock()
}

// clone copies the client's slices, so that no caller can change the cache.
func clone(c store.Client) store.Client {
	c.SecretHash = slices.Clone(c.SecretHash)
	c.SecretSalt = slices.Clone(c.SecretSalt)
	c.JWKS = slices.Clone(c.JWKS)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	return c
}
