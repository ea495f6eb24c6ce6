// Package ratelimit bounds how often verification attempts start: per
// client, and per claimed phone number, with token buckets
// (golang.org/x/time/rate) held in process memory.
//
// A number is never a key in clear: callers pass a keyed pseudonym of it.
// The buckets are per process: with N replicas behind a load balancer a
// client may start up to N times its limit. Idle buckets (full again) are
// dropped once a minute. The tables are bounded (Config.MaxKeys each): when
// one is full of busy buckets, a new key is let through untracked rather
// than refused, so that filling the table cannot lock every other caller
// out; the per-client limit still bounds whoever fills it.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrLimited is the error Allow returns (wrapped in an *Error) when a
// bucket is empty.
var ErrLimited = errors.New("rate limit exceeded")

// Error says which limit refused an event and when to try again.
type Error struct {
	// Scope is "client" or "number".
	Scope string
	// RetryAfter is when the bucket will have a token again.
	RetryAfter time.Duration
	// Exceeds: more events were asked for at once than the bucket ever
	// holds; retrying the same request can never succeed.
	Exceeds bool
}

// Error implements error; it names the scope, never the key.
func (e *Error) Error() string {
	return fmt.Sprintf("rate limit per %s exceeded; retry after %s", e.Scope, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *Error) Is(target error) bool { return target == ErrLimited }

// RetryAfter returns how long the caller should wait after err, rounded
// up to whole seconds (at least 1), or 0 when err is not a rate limit.
func RetryAfter(err error) time.Duration {
	var e *Error
	if !errors.As(err, &e) {
		return 0
	}
	d := e.RetryAfter.Round(time.Second)
	if d < e.RetryAfter {
		d += time.Second
	}
	return max(d, time.Second)
}

// Limit is a bucket's size: Burst events at once, refilled at Rate per
// second. The zero Limit is no limit.
type Limit struct {
	Rate  rate.Limit
	Burst int
}

// Unlimited reports whether l imposes nothing.
func (l Limit) Unlimited() bool { return l.Burst <= 0 }

// String writes l as ParseLimit reads it.
func (l Limit) String() string {
	if l.Unlimited() {
		return "off"
	}
	// Burst/Rate is not exact in floating point (3/h: 3599.999… s).
	per := time.Duration(float64(l.Burst) / float64(l.Rate) * float64(time.Second)).Round(time.Millisecond)
	for _, u := range []struct {
		d time.Duration
		s string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if per == u.d {
			return strconv.Itoa(l.Burst) + "/" + u.s
		}
	}
	return fmt.Sprintf("%d/%s", l.Burst, per)
}

// ParseLimit reads "N/s", "N/m", "N/h" or "N/DURATION" (N events per
// period, all of them allowed at once), or "off".
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return Limit{}, fmt.Errorf("rate limit %q: want N/s, N/m, N/h, N/DURATION or off", s)
	}
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return Limit{}, fmt.Errorf("rate limit %q: want N/s, N/m, N/h, N/DURATION or off", s)
		}
	}
	return Limit{Rate: rate.Limit(float64(count) / d.Seconds()), Burst: count}, nil
}

// DefaultMaxKeys bounds each table when Config.MaxKeys is zero.
const DefaultMaxKeys = 1 << 20

// pruneEvery is how often idle buckets are dropped; pruneFullEvery, how
// often at most while the table is full (a prune walks the whole table
// under its lock: once per request would let a flood of new keys make
// every request pay for it).
const (
	pruneEvery     = time.Minute
	pruneFullEvery = time.Second
)

// Config configures a Limiter.
type Config struct {
	// PerClient limits attempts per client ID.
	PerClient Limit
	// PerNumber limits attempts per claimed number (its pseudonym).
	PerNumber Limit
	// MaxKeys bounds each table (default DefaultMaxKeys).
	MaxKeys int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Limiter is safe for concurrent use.
type Limiter struct {
	clients, numbers *table
	now              func() time.Time
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		clients: newTable("client", cfg.PerClient, cfg.MaxKeys),
		numbers: newTable("number", cfg.PerNumber, cfg.MaxKeys),
		now:     cfg.Now,
	}
}

// Allow is AllowN for one event.
func (l *Limiter) Allow(clientID, numberKey string) error { return l.AllowN(clientID, numberKey, 1) }

// AllowN takes n events at once from the client's bucket and, when
// numberKey is not empty, from the number's. If either has fewer it takes
// nothing and returns an *Error (errors.Is ErrLimited) naming the limit
// and when to retry.
func (l *Limiter) AllowN(clientID, numberKey string, n int) error {
	now := l.now()
	rc, err := l.clients.reserve(clientID, now, n)
	if err != nil {
		return err
	}
	if numberKey != "" {
		if _, err := l.numbers.reserve(numberKey, now, n); err != nil {
			if rc != nil {
				rc.CancelAt(now)
			}
			return err
		}
	}
	return nil
}

// table is one kind of bucket, by key.
type table struct {
	scope   string
	limit   Limit
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastPrune time.Time
}

func newTable(scope string, limit Limit, maxKeys int) *table {
	return &table{scope: scope, limit: limit, maxKeys: maxKeys, buckets: map[string]*rate.Limiter{}}
}

// reserve takes n tokens for key at now; a nil Reservation with a nil
// error means the events were let through untracked (no limit, or a full
// table). More events than the bucket holds are refused, retry after a
// whole refill.
func (t *table) reserve(key string, now time.Time, n int) (*rate.Reservation, error) {
	if t.limit.Unlimited() {
		return nil, nil
	}
	t.mu.Lock()
	sincePrune := now.Sub(t.lastPrune)
	if sincePrune >= pruneEvery || (len(t.buckets) >= t.maxKeys && sincePrune >= pruneFullEvery) {
		t.prune(now)
	}
	b, ok := t.buckets[key]
	if !ok {
		if len(t.buckets) >= t.maxKeys {
			t.mu.Unlock()
			return nil, nil // full of busy buckets: let through, see the package doc
		}
		b = rate.NewLimiter(t.limit.Rate, t.limit.Burst)
		t.buckets[key] = b
	}
	t.mu.Unlock()
	if n > t.limit.Burst {
		return nil, &Error{Scope: t.scope, RetryAfter: time.Duration(float64(t.limit.Burst) / float64(t.limit.Rate) * float64(time.Second)), Exceeds: true}
	}
	r := b.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, &Error{Scope: t.scope, RetryAfter: d}
	}
	return r, nil
}

// prune drops buckets that are full again: forgetting them changes nothing.
func (t *table) prune(now time.Time) {
	t.lastPrune = now
	for k, b := range t.buckets {
		if b.TokensAt(now) >= float64(t.limit.Burst) {
			delete(t.buckets, k)
		}
	}
}

// size returns how many buckets the table holds (for tests).
func (t *table) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
