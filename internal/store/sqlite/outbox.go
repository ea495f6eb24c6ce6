package sqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/numgate/numgate/internal/store"
)

const deliveryCols = `id, kind, url, headers, body, state, tries, next_try_at, lease_until, last_error, created_at, updated_at`

const (
	sqlEnqueue = `INSERT INTO deliveries (` + deliveryCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`
	// sqlClaim leases the due deliveries in one statement. The state must
	// match the partial index deliveries_due. RETURNING has no order.
	sqlClaim = `UPDATE deliveries SET lease_until = ?
WHERE id IN (
	SELECT id FROM deliveries
	WHERE state = 'pending' AND next_try_at <= ? AND lease_until <= ?
	ORDER BY next_try_at, id LIMIT ?)
RETURNING ` + deliveryCols
	sqlRecordTry = `UPDATE deliveries SET state = ?, tries = ?, next_try_at = ?, last_error = ?,
lease_until = ?, updated_at = ?
WHERE id = ? AND (? = 0 OR (state = 'pending' AND lease_until = ?))`
	sqlGetDelivery = `SELECT ` + deliveryCols + ` FROM deliveries WHERE id = ?`
)

// zeroMicro is the stored form of the zero time: no lease.
var zeroMicro = unixMicro(time.Time{})

// EnqueueDelivery stores d as a pending delivery; store.ErrAlreadyExists on
// a duplicate ID.
func (s *Store) EnqueueDelivery(ctx context.Context, d store.Delivery) error {
	headers, err := jsonMap(d.Headers)
	if err != nil {
		return fmt.Errorf("sqlite: enqueue delivery: %w", err)
	}
	return s.wr.hold(ctx, func(ctx context.Context) error {
		res, err := s.enqueue.ExecContext(ctx, d.ID, d.Kind, d.URL, headers, blob(d.Body), store.DeliveryPending,
			d.Tries, unixMicro(d.NextTryAt), unixMicro(d.LeaseUntil), store.ValidText(d.LastError),
			unixMicro(d.CreatedAt), unixMicro(d.UpdatedAt))
		return s.exactlyOne("enqueue delivery", res, err, store.ErrAlreadyExists)
	})
}

// ClaimDeliveries leases up to limit pending deliveries due at now (NextTryAt
// at or before now) and not leased (LeaseUntil at or before now), setting
// LeaseUntil to now+lease, and returns them oldest first.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	at := unixMicro(now)
	var out []store.Delivery
	err := s.wr.hold(ctx, func(ctx context.Context) error {
		rows, err := s.claim.QueryContext(ctx, unixMicro(now.Add(lease)), at, at, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
	}
	if len(out) > 0 {
		s.ck.wrote()
	}
	slices.SortFunc(out, func(a, b store.Delivery) int {
		return cmp.Or(a.NextTryAt.Compare(b.NextTryAt), cmp.Compare(a.ID, b.ID))
	})
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
	err := s.wr.hold(ctx, func(ctx context.Context) error {
		res, err := s.recordTry.ExecContext(ctx, d.State, d.Tries, unixMicro(d.NextTryAt), store.ValidText(d.LastError),
			zeroMicro, unixMicro(updated), d.ID, fenced, unixMicro(d.LeaseUntil))
		return s.exactlyOne("record try", res, err, store.ErrNotFound)
	})
	if fenced && errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.GetDelivery(ctx, d.ID); gerr == nil {
			return fmt.Errorf("sqlite: record try: the lease is no longer the caller's: %w", store.ErrConflict)
		}
	}
	return err
}

// GetDelivery returns a delivery or store.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id string) (store.Delivery, error) {
	var d store.Delivery
	err := s.read(ctx, func(ctx context.Context) (err error) {
		d, err = scanDelivery(s.getDelivery.QueryRowContext(ctx, id))
		return err
	})
	if err != nil {
		return store.Delivery{}, notFound("get delivery", err)
	}
	return d, nil
}

func scanDelivery(sc scanner) (store.Delivery, error) {
	var (
		d                             store.Delivery
		headers                       []byte
		next, lease, created, updated int64
	)
	if err := sc.Scan(&d.ID, &d.Kind, &d.URL, &headers, &d.Body, &d.State, &d.Tries,
		&next, &lease, &d.LastError, &created, &updated); err != nil {
		return store.Delivery{}, err
	}
	if err := decodeJSON(headers, &d.Headers); err != nil {
		return store.Delivery{}, fmt.Errorf("headers: %w", err)
	}
	d.Body = nonEmpty(d.Body)
	d.NextTryAt, d.LeaseUntil = fromMicro(next), fromMicro(lease)
	d.CreatedAt, d.UpdatedAt = fromMicro(created), fromMicro(updated)
	return d, nil
}
