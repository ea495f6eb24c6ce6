package store

import (
	"context"
	"time"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one durable outbound webhook call (the outbox pattern): it is
// written in the same store as the attempt it reports on and delivered at
// least once, across restarts, by internal/notify.
type Delivery struct {
	// ID is unique and doubles as the idempotency key sent to the receiver.
	ID string
	// Kind names the producer (for example "kpn.notify"); for metrics only.
	Kind string
	URL  string
	// Headers are sent with every try (for example Authorization).
	Headers map[string]string
	Body    []byte
	// State is DeliveryPending, DeliveryDelivered or DeliveryFailed.
	State string
	// Tries counts the attempts made so far.
	Tries int
	// NextTryAt is when a pending delivery is next due.
	NextTryAt time.Time
	// LeaseUntil: a claimed delivery is not handed out again before this.
	LeaseUntil time.Time
	// LastError is stored as store.ValidText returns it.
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Outbox is the durable queue of webhook deliveries.
type Outbox interface {
	// EnqueueDelivery stores a pending delivery; ErrAlreadyExists on a duplicate ID.
	EnqueueDelivery(ctx context.Context, d Delivery) error
	// ClaimDeliveries leases up to limit pending deliveries that are due at
	// now and not leased, setting LeaseUntil = now+lease. Concurrent callers
	// (replicas) never receive the same delivery while its lease holds.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// RecordTry stores the result of one try of a claimed delivery: its new
	// State, Tries, NextTryAt, LastError and UpdatedAt (when the try ended,
	// on the caller's clock; zero means the store's clock; other fields are
	// ignored), and clears the lease. LeaseUntil, when not zero, fences the
	// write: it must be the lease the caller's claim set, on a delivery
	// still pending; if the lease ran out and another claim took the
	// delivery, or a result was recorded already, nothing is written and
	// ErrConflict returned, so a slow replica cannot overwrite a newer
	// result. ErrNotFound if there is no such delivery.
	RecordTry(ctx context.Context, d Delivery) error
	// GetDelivery returns a delivery or ErrNotFound.
	GetDelivery(ctx context.Context, id string) (Delivery, error)
}
