package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numgate/numgate/internal/store"
)

const deliveryCols = `id, kind, url, headers, body, state, tries, next_try_at, lease_until, last_error, created_at, updated_at`

const (
	sqlEnqueue = `INSERT INTO deliveries (` + deliveryCols + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO NOTHING`
	// sqlClaim leases the due deliveries in one statement. SKIP LOCKED lets
	// concurrent claimers pass over each other's rows. The state must match
	// the partial index deliveries_due. RETURNING has no order.
	sqlClaim = `UPDATE deliveries AS d SET lease_until = $1
FROM (
	SELECT id FROM deliveries
	WHERE state = 'pending' AND next_try_at <= $2 AND lease_until <= $2
	ORDER BY next_try_at, id LIMIT $3
	FOR UPDATE SKIP LOCKED
) AS due
WHERE d.id = due.id
RETURNING d.id, d.kind, d.url, d.headers, d.body, d.state, d.tries, d.next_try_at,
	d.lease_until, d.last_error, d.created_at, d.updated_at`
	sqlRecordTry = `UPDATE deliveries SET state = $2, tries = $3, next_try_at = $4, last_error = $5,
lease_until = $6, updated_at = $7
WHERE id = $1 AND (NOT $8 OR (state = 'pending' AND lease_until = $9))`
	sqlGetDelivery = `SELECT ` + deliveryCols + ` FROM deliveries WHERE id = $1`
)

// EnqueueDelivery stores d as a pending delivery; store.ErrAlreadyExists on
// a duplicate ID.
func (s *Store) EnqueueDelivery(ctx context.Context, d store.Delivery) error {
	var headers []byte
	if len(d.Headers) > 0 {
		var err error
		if headers, err = json.Marshal(d.Headers); err != nil {
			return fmt.Errorf("postgres: enqueue delivery: %w", err)
		}
	}
	tag, err := s.pool.Exec(ctx, sqlEnqueue, d.ID, d.Kind, d.URL, headers, bytea(d.Body), store.DeliveryPending,
		d.Tries, d.NextTryAt, d.LeaseUntil, store.ValidText(d.LastError), d.CreatedAt, d.UpdatedAt)
	return exactlyOne("enqueue delivery", tag, err, store.ErrAlreadyExists)
}

// ClaimDeliveries leases up to limit pending deliveries due at now (NextTryAt
// at or before now) and not leased (LeaseUntil at or before now), setting
// LeaseUntil to now+lease, and returns them oldest first. Concurrent
// claimers skip each other's rows instead of waiting for them.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, sqlClaim, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: claim deliveries: %w", err)
	}
	sortDeliveries(out)
	return out, nil
}

// RecordTry stores d's State, Tries, NextTryAt, LastError and UpdatedAt
// (the store's clock when zero) and clears the lease, fenced by
// d.LeaseUntil when set (store.Outbox).
func (s *Store) RecordTry(ctx context.Context, d store.Delivery) error {
	updated := d.UpdatedAt
	if updated.IsZero() {
		updated = s.now()
	}
	fenced := !d.LeaseUntil.IsZero()
	tag, err := s.pool.Exec(ctx, sqlRecordTry, d.ID, d.State, d.Tries, d.NextTryAt, store.ValidText(d.LastError), time.Time{}, updated,
		fenced, d.LeaseUntil)
	err = exactlyOne("record try", tag, err, store.ErrNotFound)
	if fenced && errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.GetDelivery(ctx, d.ID); gerr == nil {
			return fmt.Errorf("postgres: record try: the lease is no longer the caller's: %w", store.ErrConflict)
		}
	}
	return err
}

// GetDelivery returns a delivery or store.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id string) (store.Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, sqlGetDelivery, id))
	if err != nil {
		return store.Delivery{}, notFound("get delivery", err)
	}
	return d, nil
}

func scanDelivery(row pgx.Row) (store.Delivery, error) {
	var (
		d                             store.Delivery
		headers                       []byte
		next, lease, created, updated time.Time
		tries                         int32
	)
	if err := row.Scan(&d.ID, &d.Kind, &d.URL, &headers, &d.Body, &d.State, &tries,
		&next, &lease, &d.LastError, &created, &updated); err != nil {
		return store.Delivery{}, err
	}
	if len(headers) > 0 {
		if err := json.Unmarshal(headers, &d.Headers); err != nil {
			return store.Delivery{}, fmt.Errorf("headers: %w", err)
		}
	}
	d.Tries = int(tries)
	d.Body = bytea(d.Body)
	d.NextTryAt, d.LeaseUntil = utc(next), utc(lease)
	d.CreatedAt, d.UpdatedAt = utc(created), utc(updated)
	return d, nil
}

// sortDeliveries orders ds by NextTryAt, then ID.
func sortDeliveries(ds []store.Delivery) {
	slices.SortFunc(ds, func(a, b store.Delivery) int {
		return cmp.Or(a.NextTryAt.Compare(b.NextTryAt), strings.Compare(a.ID, b.ID))
	})
}
