package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/numgate/numgate/internal/store"
)

const (
	sqlGetGrantForUpdate = sqlGetGrant + ` FOR UPDATE`
	// sqlGetGrantAttemptForUpdate reads the attempt of the grant locked by
	// the statement before it in the same transaction.
	sqlGetGrantAttemptForUpdate = `SELECT ` + attemptCols + ` FROM attempts
WHERE id = (SELECT attempt_id FROM grants WHERE kind = $1 AND key = $2) FOR UPDATE`
	sqlDeleteGrant = `DELETE FROM grants WHERE kind = $1 AND key = $2`
)

// errAttemptChanged is returned when a RedeemGrant function returns an
// attempt other than the grant's.
var errAttemptChanged = errors.New("postgres: redeem grant: the attempt returned is not the grant's")

// CreateAttemptWithGrant stores a new attempt and a grant for it in one
// transaction (one round trip): both or neither.
func (s *Store) CreateAttemptWithGrant(ctx context.Context, a store.Attempt, g store.Grant) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: create attempt with grant: %w", err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlCreateAttempt, attemptArgs(a)...)
	b.Queue(sqlPutGrant, grantArgs(g)...)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	var n [2]int64
	for i := range n {
		if err == nil {
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			n[i] = tag.RowsAffected()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && (n[0] == 0 || n[1] == 0) {
		err = store.ErrAlreadyExists
	}
	if err != nil {
		rollback(conn)
		if errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
		return fmt.Errorf("postgres: create attempt with grant: %w", err)
	}
	wctx, cancel := finishing(ctx)
	defer cancel()
	if _, err := conn.Exec(wctx, "COMMIT"); err != nil {
		rollback(conn)
		return fmt.Errorf("postgres: create attempt with grant: %w", err)
	}
	return nil
}

// RedeemGrant uses up a grant and acts on its attempt in one transaction:
// the grant and then its attempt are read with SELECT ... FOR UPDATE, so a
// concurrent redemption of the same grant waits and then finds it gone
// (READ COMMITTED re-reads the locked row). Lock order is always grant,
// then attempt; UpdateAttempt locks only the attempt, so there is no cycle.
// Three round trips: BEGIN with both reads; the writes; COMMIT.
func (s *Store) RedeemGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.Grant{}, store.Attempt{}, fmt.Errorf("postgres: redeem grant: %w", err)
	}
	defer conn.Release()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlGetGrantForUpdate, string(kind), key, now)
	b.Queue(sqlGetGrantAttemptForUpdate, string(kind), key)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	var (
		g   store.Grant
		old store.Attempt
	)
	if err == nil {
		g, err = scanGrant(br.QueryRow())
	}
	if err == nil {
		old, err = scanAttempt(br.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn)
		return store.Grant{}, store.Attempt{}, notFound("redeem grant", err)
	}

	r, err := fn(g, old)
	if err == nil && r.Attempt != nil && (old.ID == "" || r.Attempt.ID != old.ID) {
		err = errAttemptChanged
	}
	if err != nil {
		rollback(conn)
		return store.Grant{}, store.Attempt{}, err
	}

	b = &pgx.Batch{}
	b.Queue(sqlDeleteGrant, string(kind), key)
	if r.Attempt != nil {
		b.Queue(sqlPutAttempt, attemptArgs(*r.Attempt)...)
	}
	for _, ng := range r.Grants {
		b.Queue(sqlPutGrant, grantArgs(ng)...)
	}
	wctx, cancel := finishing(ctx)
	defer cancel()
	br = conn.SendBatch(wctx, b)
	_, err = br.Exec() // the delete
	if err == nil && r.Attempt != nil {
		_, err = br.Exec()
	}
	for range r.Grants {
		if err == nil {
			var tag pgconn.CommandTag
			if tag, err = br.Exec(); err == nil && tag.RowsAffected() == 0 {
				err = store.ErrAlreadyExists
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		_, err = conn.Exec(wctx, "COMMIT")
	}
	if err != nil {
		rollback(conn)
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.Grant{}, store.Attempt{}, err
		}
		return store.Grant{}, store.Attempt{}, fmt.Errorf("postgres: redeem grant: %w", err)
	}
	a := old
	if r.Attempt != nil {
		a = stored(*r.Attempt)
	}
	return g, a, nil
}
