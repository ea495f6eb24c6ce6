package oauth_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// newStore returns the store the tests run against. It is a small in-memory
// fake until the SQLite backend lands; then this one function switches to
// it (for example sqlite.Open(filepath.Join(t.TempDir(), "numgate.db"))).
func newStore(t *testing.T) store.Store {
	t.Helper()
	s := &memStore{
		clients:    map[string]store.Client{},
		attempts:   map[string]store.Attempt{},
		grants:     map[grantID]store.Grant{},
		deliveries: map[string]store.Delivery{},
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type grantID struct {
	kind store.GrantKind
	key  string
}

// memStore is a minimal, mutex-guarded store.Store for these tests only.
type memStore struct {
	mu         sync.Mutex
	clients    map[string]store.Client
	attempts   map[string]store.Attempt
	grants     map[grantID]store.Grant
	deliveries map[string]store.Delivery
}

var _ store.Store = (*memStore)(nil)

func (m *memStore) CreateClient(_ context.Context, c store.Client) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ID]; ok {
		return store.ErrAlreadyExists
	}
	m.clients[c.ID] = c
	return nil
}

func (m *memStore) GetClient(_ context.Context, id string) (store.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return store.Client{}, store.ErrNotFound
	}
	return c, nil
}

func (m *memStore) ListClients(context.Context) ([]store.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Client
	for _, c := range m.clients {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b store.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (m *memStore) DeleteClient(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.clients[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.clients, id)
	return nil
}

func (m *memStore) CreateAttempt(_ context.Context, a store.Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.attempts[a.ID]; ok {
		return store.ErrAlreadyExists
	}
	m.attempts[a.ID] = a
	return nil
}

func (m *memStore) GetAttempt(_ context.Context, id string) (store.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[id]
	if !ok {
		return store.Attempt{}, store.ErrNotFound
	}
	return a, nil
}

func (m *memStore) UpdateAttempt(_ context.Context, id string, fn func(store.Attempt) (store.Attempt, error)) (store.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[id]
	if !ok {
		return store.Attempt{}, store.ErrNotFound
	}
	b, err := fn(a)
	if err != nil {
		return a, err
	}
	b.ID = id
	m.attempts[id] = b
	return b, nil
}

func (m *memStore) DueAttempts(_ context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Attempt
	for _, a := range m.attempts {
		if (a.State == "created" || a.State == "device_seen") && a.Deadline.Before(now) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b store.Attempt) int { return a.Deadline.Compare(b.Deadline) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) PutGrant(_ context.Context, g store.Grant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := grantID{g.Kind, g.Key}
	if old, ok := m.grants[id]; ok && old.ExpiresAt.After(g.CreatedAt) {
		return store.ErrAlreadyExists
	}
	m.grants[id] = g
	return nil
}

func (m *memStore) GetGrant(_ context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[grantID{kind, key}]
	if !ok || !g.ExpiresAt.After(now) {
		return store.Grant{}, store.ErrNotFound
	}
	return g, nil
}

func (m *memStore) ConsumeGrant(_ context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := grantID{kind, key}
	g, ok := m.grants[id]
	if !ok || !g.ExpiresAt.After(now) {
		return store.Grant{}, store.ErrNotFound
	}
	delete(m.grants, id)
	return g, nil
}

func (m *memStore) GarbageCollect(_ context.Context, now time.Time, retain time.Duration) (store.GCResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r store.GCResult
	for id, g := range m.grants {
		if !g.ExpiresAt.After(now) {
			delete(m.grants, id)
			r.Grants++
		}
	}
	for id, a := range m.attempts {
		if a.Deadline.Add(retain).Before(now) {
			delete(m.attempts, id)
			r.Attempts++
		}
	}
	return r, nil
}

func (m *memStore) Close() error { return nil }

func (m *memStore) EnqueueDelivery(_ context.Context, d store.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.deliveries[d.ID]; ok {
		return store.ErrAlreadyExists
	}
	m.deliveries[d.ID] = d
	return nil
}

func (m *memStore) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Delivery
	for id, d := range m.deliveries {
		if len(out) < limit && d.State == store.DeliveryPending && !d.NextTryAt.After(now) && !d.LeaseUntil.After(now) {
			d.LeaseUntil = now.Add(lease)
			m.deliveries[id] = d
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) RecordTry(_ context.Context, d store.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.deliveries[d.ID]
	if !ok {
		return store.ErrNotFound
	}
	old.State, old.Tries, old.NextTryAt, old.LastError, old.LeaseUntil = d.State, d.Tries, d.NextTryAt, d.LastError, time.Time{}
	m.deliveries[d.ID] = old
	return nil
}

func (m *memStore) GetDelivery(_ context.Context, id string) (store.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[id]
	if !ok {
		return store.Delivery{}, store.ErrNotFound
	}
	return d, nil
}
