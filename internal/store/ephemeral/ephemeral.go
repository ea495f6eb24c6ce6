// Package ephemeral keeps the short-lived state of the OAuth flow —
// authorization codes, access tokens and the attempts they were issued
// for — in process memory, in front of a durable store.Store. It is for a
// store that one process serves alone (the embedded SQLite database):
// there a verification no longer pays for three durable commits, which
// were most of its cost (docs/design/2026-11-23-performance.md).
//
// What lives in memory: every grant of the kinds given in Options.Kinds
// (the OAuth server's codes, access tokens and code-used records), and an
// attempt created together with such a grant (CreateAttemptWithGrant) that
// has nothing to report (ReportAt zero). Everything else — clients,
// attempts created alone or with a report to make, assertion jti values,
// the other dialects' grants, the webhook outbox — is in the durable store
// as before. The store.Store contract holds for the pair as for one store,
// and the conformance suite checks it.
//
// Restart semantics: memory is lost with the process, and that fails
// closed. A code or token issued before a restart is unknown after it
// (invalid_grant, 401), never usable a second time; the flows in progress
// start over. So this package must not be used where another process
// serves the same store (numgate serve locks its data directory): that
// process would not see this one's codes and tokens.
//
// Memory is bounded: at most Options.MaxAttempts attempts are kept (beyond
// that, new attempts go to the durable store and only their grants are in
// memory), grants are dropped when they expire, and an attempt no grant
// names any more is dropped Options.Keep after its deadline.
package ephemeral

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// Defaults of Options.
const (
	// DefaultMaxAttempts bounds the attempts kept in memory; each takes
	// about 1.5 KiB with its grants.
	DefaultMaxAttempts = 500_000
	// DefaultKeep is how long past its deadline an attempt that no grant
	// names is kept.
	DefaultKeep = time.Minute
)

// Options tune a Store.
type Options struct {
	// Kinds are the grant kinds kept in memory; required.
	Kinds []store.GrantKind
	// MaxAttempts is how many attempts memory holds at most (0: the
	// default; negative: none, only grants are kept in memory).
	MaxAttempts int
	// Keep is how long past its deadline an attempt that no grant names is
	// kept; GarbageCollect's retain, if shorter, wins (0: the default).
	// Negative: only retain applies, as in a durable store.
	Keep time.Duration
}

// errAttemptChanged is returned when an update or redemption function
// returns an attempt other than the one it was given.
var errAttemptChanged = errors.New("ephemeral: the attempt returned is not the one given")

// Store is a store.Store that keeps OAuth flow state in memory.
type Store struct {
	store.Store // the durable store
	kinds       map[store.GrantKind]bool
	max         int
	keep        time.Duration

	// uniq is held by every write that creates an attempt (in either
	// tier) and by redemptions, from the check that an ID or key is free
	// to the write that takes it, so that the two tiers never hold one
	// attempt ID. A grant kind lives in one tier only, so PutGrant checks
	// its key there alone. Taken before mu.
	uniq     sync.Mutex
	mu       sync.Mutex
	attempts map[string]*attempt
	grants   map[grantKey]store.Grant
}

var _ store.Store = (*Store)(nil)

type grantKey struct {
	kind store.GrantKind
	key  string
}

// attempt is an attempt in memory, with the number of grants in memory
// that name it and a version bumped by every write.
type attempt struct {
	a       store.Attempt
	refs    int
	version uint64
}

// New returns durable with the grants of opts.Kinds, and their attempts,
// kept in memory.
func New(durable store.Store, opts Options) *Store {
	s := &Store{
		Store:    durable,
		kinds:    map[store.GrantKind]bool{},
		max:      cmp.Or(opts.MaxAttempts, DefaultMaxAttempts),
		keep:     cmp.Or(opts.Keep, DefaultKeep),
		attempts: map[string]*attempt{},
		grants:   map[grantKey]store.Grant{},
	}
	if s.max < 0 {
		s.max = 0
	}
	for _, k := range opts.Kinds {
		s.kinds[k] = true
	}
	return s
}

// CreateAttempt stores a in the durable store, unless memory holds its ID.
func (s *Store) CreateAttempt(ctx context.Context, a store.Attempt) error {
	s.uniq.Lock()
	defer s.uniq.Unlock()
	if s.hasAttempt(a.ID) {
		return store.ErrAlreadyExists
	}
	return s.Store.CreateAttempt(ctx, a)
}

// CreateAttemptWithGrant keeps g in memory if its kind is kept there, and
// then a too if it has nothing to report and memory has room; what is not
// kept in memory goes to the durable store.
func (s *Store) CreateAttemptWithGrant(ctx context.Context, a store.Attempt, g store.Grant) error {
	if !s.kinds[g.Kind] {
		return s.createDurable(ctx, a, g)
	}
	s.uniq.Lock()
	defer s.uniq.Unlock()
	s.mu.Lock()
	taken := s.attempts[a.ID] != nil || s.liveGrant(grantKey{g.Kind, g.Key}, g.CreatedAt)
	room := len(s.attempts) < s.max
	s.mu.Unlock()
	if taken {
		return store.ErrAlreadyExists
	}
	if !a.ReportAt.IsZero() || g.AttemptID != a.ID || !room {
		if err := s.Store.CreateAttempt(ctx, a); err != nil {
			return err
		}
	} else if _, err := s.Store.GetAttempt(ctx, a.ID); err == nil {
		return store.ErrAlreadyExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	} else {
		s.mu.Lock()
		s.attempts[a.ID] = &attempt{a: stored(a)}
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.putGrant(g)
	s.mu.Unlock()
	return nil
}

// createDurable is CreateAttemptWithGrant for a grant of a durable kind:
// both go to the durable store, unless memory holds the attempt's ID.
func (s *Store) createDurable(ctx context.Context, a store.Attempt, g store.Grant) error {
	s.uniq.Lock()
	defer s.uniq.Unlock()
	if s.hasAttempt(a.ID) {
		return store.ErrAlreadyExists
	}
	return s.Store.CreateAttemptWithGrant(ctx, a, g)
}

// GetAttempt returns an attempt from memory or from the durable store.
func (s *Store) GetAttempt(ctx context.Context, id string) (store.Attempt, error) {
	s.mu.Lock()
	m := s.attempts[id]
	var a store.Attempt
	if m != nil {
		a = clone(m.a)
	}
	s.mu.Unlock()
	if m != nil {
		return a, nil
	}
	return s.Store.GetAttempt(ctx, id)
}

// UpdateAttempt applies fn to an attempt in memory or hands the update to
// the durable store. In memory fn runs without the lock (so it may read
// the store); should another write come first, it runs again on the new
// value.
func (s *Store) UpdateAttempt(ctx context.Context, id string, fn func(store.Attempt) (store.Attempt, error)) (store.Attempt, error) {
	for {
		s.mu.Lock()
		m := s.attempts[id]
		if m == nil {
			s.mu.Unlock()
			return s.Store.UpdateAttempt(ctx, id, fn)
		}
		cur, version := clone(m.a), m.version
		s.mu.Unlock()

		next, err := fn(cur)
		if err != nil {
			return store.Attempt{}, err
		}
		if next.ID != id {
			return store.Attempt{}, errAttemptChanged
		}
		next = stored(next)
		s.mu.Lock()
		if s.attempts[id] == m && m.version == version {
			m.a, m.version = next, m.version+1
			s.mu.Unlock()
			return clone(next), nil
		}
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return store.Attempt{}, err
		}
	}
}

// DueAttempts returns the open attempts past their deadline of both
// tiers, oldest deadline first.
func (s *Store) DueAttempts(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	d, err := s.Store.DueAttempts(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	m := s.scan(func(a *store.Attempt) bool {
		return (a.State == "created" || a.State == "device_seen") && a.Deadline.Before(now)
	})
	return merge(d, m, limit, func(a store.Attempt) time.Time { return a.Deadline }), nil
}

// DueReports returns the attempts of both tiers whose end is due for a
// report, oldest ReportAt first.
func (s *Store) DueReports(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	d, err := s.Store.DueReports(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	m := s.scan(func(a *store.Attempt) bool {
		return !a.ReportAt.IsZero() && a.State != "created" && a.State != "device_seen" && !a.ReportAt.After(now)
	})
	return merge(d, m, limit, func(a store.Attempt) time.Time { return a.ReportAt }), nil
}

// PutGrant keeps g in memory if its kind is kept there, else hands it to
// the durable store. A kind lives in one tier only, so its key is checked
// there alone (and a jti, say, never waits for the memory tier's locks).
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	if !s.kinds[g.Kind] {
		return s.Store.PutGrant(ctx, g)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.liveGrant(grantKey{g.Kind, g.Key}, g.CreatedAt) {
		return store.ErrAlreadyExists
	}
	s.putGrant(g)
	return nil
}

// GetGrant returns an unexpired grant.
func (s *Store) GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	if !s.kinds[kind] {
		return s.Store.GetGrant(ctx, kind, key, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[grantKey{kind, key}]
	if !ok || !g.ExpiresAt.After(now) {
		return store.Grant{}, store.ErrNotFound
	}
	return cloneGrant(g), nil
}

// ConsumeGrant removes and returns an unexpired grant.
func (s *Store) ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	if !s.kinds[kind] {
		return s.Store.ConsumeGrant(ctx, kind, key, now)
	}
	k := grantKey{kind, key}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[k]
	if !ok || !g.ExpiresAt.After(now) {
		return store.Grant{}, store.ErrNotFound
	}
	s.dropGrant(k)
	return g, nil
}

// RedeemGrant redeems a grant. For a kind kept in memory fn runs under
// the lock (it must not call the store, as the contract says); the grants
// the redemption stores go to the tier of their kind.
func (s *Store) RedeemGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	s.uniq.Lock()
	defer s.uniq.Unlock()
	if !s.kinds[kind] {
		return s.redeemDurable(ctx, kind, key, now, fn)
	}
	k := grantKey{kind, key}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[k]
	if !ok || !g.ExpiresAt.After(now) {
		return store.Grant{}, store.Attempt{}, store.ErrNotFound
	}
	m := s.attempts[g.AttemptID]
	if m == nil && g.AttemptID != "" {
		return s.redeemWithDurableAttempt(ctx, k, g, fn)
	}
	var old store.Attempt
	if m != nil {
		old = clone(m.a)
	}
	r, mem, _, err := s.decide(ctx, k, g, old, fn)
	if err != nil {
		return store.Grant{}, store.Attempt{}, err
	}
	at := old
	if r.Attempt != nil {
		at = stored(*r.Attempt)
		m.a, m.version = at, m.version+1
	}
	s.replaceGrant(k, mem)
	return g, clone(at), nil
}

// decide runs a redemption's fn on grant g and attempt cur, checks the
// attempt it returns, sorts the grants it stores by tier and puts those of
// durable kinds (which it returns too, so that they can be undone). The
// caller holds uniq and mu.
func (s *Store) decide(ctx context.Context, k grantKey, g store.Grant, cur store.Attempt,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (r store.Redemption, mem, dur []store.Grant, err error) {
	if r, err = fn(cloneGrant(g), clone(cur)); err != nil {
		return store.Redemption{}, nil, nil, err
	}
	if r.Attempt != nil && (cur.ID == "" || r.Attempt.ID != cur.ID) {
		return store.Redemption{}, nil, nil, errAttemptChanged
	}
	if mem, dur, err = s.split(k, r.Grants); err != nil {
		return store.Redemption{}, nil, nil, err
	}
	if err := s.putDurable(context.WithoutCancel(ctx), dur); err != nil { // fn decided: the writes complete
		return store.Redemption{}, nil, nil, err
	}
	return r, mem, dur, nil
}

// replaceGrant removes the redeemed grant k from memory and puts the
// grants of memory kinds its redemption stores. The caller holds mu.
func (s *Store) replaceGrant(k grantKey, mem []store.Grant) {
	s.dropGrant(k)
	for _, ng := range mem {
		s.putGrant(ng)
	}
}

// redeemWithDurableAttempt redeems grant k of memory whose attempt is in
// the durable store (memory had no room when it was created). fn runs on
// the attempt as read; the grants of durable kinds it stores (none in the
// OAuth flow) are put, then the attempt is written if it is still as read
// (else all is undone and fn runs again on the new value). The caller
// holds uniq and mu.
func (s *Store) redeemWithDurableAttempt(ctx context.Context, k grantKey, g store.Grant,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	for {
		cur, err := s.Store.GetAttempt(ctx, g.AttemptID)
		if errors.Is(err, store.ErrNotFound) { // collected: the grant has no attempt
			cur, err = store.Attempt{}, nil
		}
		if err != nil {
			return store.Grant{}, store.Attempt{}, err
		}
		r, mem, dur, err := s.decide(ctx, k, g, cur, fn)
		if err != nil {
			return store.Grant{}, store.Attempt{}, err
		}
		wctx := context.WithoutCancel(ctx) // fn decided: the writes complete
		at := cur
		if r.Attempt != nil {
			at, err = s.Store.UpdateAttempt(wctx, cur.ID, func(now store.Attempt) (store.Attempt, error) {
				if !reflect.DeepEqual(stored(now), stored(cur)) {
					return now, errChanged
				}
				return *r.Attempt, nil
			})
			if err != nil {
				s.undoDurable(wctx, dur)
				if errors.Is(err, errChanged) {
					continue
				}
				return store.Grant{}, store.Attempt{}, err
			}
		}
		s.replaceGrant(k, mem)
		return g, at, nil
	}
}

// errChanged tells redeemWithDurableAttempt that the attempt changed
// since it was read.
var errChanged = errors.New("ephemeral: the attempt changed")

// redeemDurable redeems a grant of the durable store; the grants of the
// redemption whose kind is kept in memory are put there once it
// committed. The caller holds uniq.
func (s *Store) redeemDurable(ctx context.Context, kind store.GrantKind, key string, now time.Time,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	var mem []store.Grant
	g, a, err := s.Store.RedeemGrant(ctx, kind, key, now, func(g store.Grant, a store.Attempt) (store.Redemption, error) {
		r, err := fn(g, a)
		if err != nil {
			return r, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var dur []store.Grant
		if mem, dur, err = s.split(grantKey{}, r.Grants); err != nil {
			return store.Redemption{}, err
		}
		r.Grants = dur
		return r, nil
	})
	if err != nil {
		return g, a, err
	}
	s.mu.Lock()
	for _, ng := range mem {
		s.putGrant(ng)
	}
	s.mu.Unlock()
	return g, a, nil
}

// split sorts the grants of a redemption into those kept in memory and
// those for the durable store, and returns store.ErrAlreadyExists if one
// of them repeats another or the key of a grant live in memory (but for
// redeemed, which the redemption removes). The caller holds mu.
func (s *Store) split(redeemed grantKey, gs []store.Grant) (mem, dur []store.Grant, err error) {
	for i, g := range gs {
		k := grantKey{g.Kind, g.Key}
		if k != redeemed && s.liveGrant(k, g.CreatedAt) {
			return nil, nil, store.ErrAlreadyExists
		}
		for _, prev := range gs[:i] {
			if prev.Kind == g.Kind && prev.Key == g.Key {
				return nil, nil, store.ErrAlreadyExists
			}
		}
		if s.kinds[g.Kind] {
			mem = append(mem, g)
		} else {
			dur = append(dur, g)
		}
	}
	return mem, dur, nil
}

// putDurable puts grants of durable kinds that a redemption of memory
// stores. Should a later one fail, the earlier ones are removed again.
func (s *Store) putDurable(ctx context.Context, gs []store.Grant) error {
	for i, g := range gs {
		if err := s.Store.PutGrant(ctx, g); err != nil {
			s.undoDurable(ctx, gs[:i])
			return err
		}
	}
	return nil
}

// undoDurable removes the grants putDurable put.
func (s *Store) undoDurable(ctx context.Context, gs []store.Grant) {
	for _, g := range gs {
		s.Store.ConsumeGrant(context.WithoutCancel(ctx), g.Kind, g.Key, g.CreatedAt)
	}
}

// GarbageCollect drops expired grants and old attempts from memory, then
// collects the durable store; the counts are the sum of both.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time, retain time.Duration) (store.GCResult, error) {
	var mem store.GCResult
	s.mu.Lock()
	for k, g := range s.grants {
		if !g.ExpiresAt.After(now) {
			s.dropGrant(k)
			mem.Grants++
		}
	}
	for id, m := range s.attempts {
		old := m.a.Deadline.Before(now.Add(-retain)) && m.a.ReportAt.IsZero()
		if s.keep >= 0 && m.refs == 0 && m.a.Deadline.Before(now.Add(-s.keep)) && m.a.ReportAt.IsZero() {
			old = true
		}
		if old {
			delete(s.attempts, id) // a grant still naming it finds none, as in a durable store
			mem.Attempts++
		}
	}
	s.mu.Unlock()
	res, err := s.Store.GarbageCollect(ctx, now, retain)
	res.Grants += mem.Grants
	res.Attempts += mem.Attempts
	return res, err
}

// ForgetDeviceNumbers clears the device number of the attempts of both
// tiers still decided whose deadline is in [from, to).
func (s *Store) ForgetDeviceNumbers(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	s.mu.Lock()
	for _, m := range s.attempts {
		a := &m.a
		if a.State == "decided" && a.DeviceNumber != "" && !a.Deadline.Before(from) && a.Deadline.Before(to) {
			a.DeviceNumber = ""
			m.version++
			n++
		}
	}
	s.mu.Unlock()
	d, err := s.Store.ForgetDeviceNumbers(ctx, from, to)
	return n + d, err
}

// hasAttempt reports whether memory holds the attempt id.
func (s *Store) hasAttempt(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id] != nil
}

// scan returns copies of the attempts in memory for which match is true.
func (s *Store) scan(match func(*store.Attempt) bool) []store.Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Attempt
	for _, m := range s.attempts {
		if match(&m.a) {
			out = append(out, clone(m.a))
		}
	}
	return out
}

// merge returns the first limit attempts of a and b (a in order already),
// ordered by key and then ID.
func merge(a, b []store.Attempt, limit int, key func(store.Attempt) time.Time) []store.Attempt {
	if len(b) == 0 {
		return a
	}
	out := append(a, b...)
	slices.SortFunc(out, func(x, y store.Attempt) int {
		return cmp.Or(key(x).Compare(key(y)), cmp.Compare(x.ID, y.ID))
	})
	return out[:min(len(out), max(limit, 0))]
}

// liveGrant reports whether memory holds grant k unexpired at t; an
// expired one is dropped. The caller holds mu.
func (s *Store) liveGrant(k grantKey, t time.Time) bool {
	g, ok := s.grants[k]
	if ok && !g.ExpiresAt.After(t) {
		s.dropGrant(k)
		return false
	}
	return ok
}

// putGrant stores g in memory as a durable store would return it; the
// caller holds mu and has checked that no live grant has its key.
func (s *Store) putGrant(g store.Grant) {
	g = cloneGrant(g)
	g.CreatedAt, g.ExpiresAt = micro(g.CreatedAt), micro(g.ExpiresAt)
	s.dropGrant(grantKey{g.Kind, g.Key}) // an expired one
	s.grants[grantKey{g.Kind, g.Key}] = g
	if m := s.attempts[g.AttemptID]; m != nil && g.AttemptID != "" {
		m.refs++
	}
}

// dropGrant removes grant k from memory; the caller holds mu.
func (s *Store) dropGrant(k grantKey) {
	g, ok := s.grants[k]
	if !ok {
		return
	}
	delete(s.grants, k)
	if m := s.attempts[g.AttemptID]; m != nil && g.AttemptID != "" {
		m.refs--
	}
}

// stored returns a as a durable store returns it once stored: times in
// UTC to the microsecond, text as store.ValidText makes it, no empty data.
func stored(a store.Attempt) store.Attempt {
	a.CreatedAt, a.UpdatedAt, a.Deadline = micro(a.CreatedAt), micro(a.UpdatedAt), micro(a.Deadline)
	if !a.ReportAt.IsZero() {
		a.ReportAt = micro(a.ReportAt)
	}
	a.UserAgent = store.ValidText(a.UserAgent)
	return clone(a)
}

func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// clone returns a with its own copy of Data (nil when empty).
func clone(a store.Attempt) store.Attempt {
	a.Data = copyData(a.Data)
	return a
}

// cloneGrant returns g with its own copy of Data (nil when empty).
func cloneGrant(g store.Grant) store.Grant {
	g.Data = copyData(g.Data)
	return g
}

func copyData(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
