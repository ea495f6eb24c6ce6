package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/numgate/numgate/internal/store"
)

const sqlDeleteGrant = `DELETE FROM grants WHERE kind = ? AND key = ?`

// errAttemptChanged is returned when a RedeemGrant function returns an
// attempt other than the grant's.
var errAttemptChanged = errors.New("sqlite: redeem grant: the attempt returned is not the grant's")

// CreateAttemptWithGrant stores a new attempt and a grant for it in one
// immediate transaction on the writer: both or neither.
func (s *Store) CreateAttemptWithGrant(ctx context.Context, a store.Attempt, g store.Grant) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create attempt with grant: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.insertAttempt(ctx, tx, a); err != nil {
		return err
	}
	if err := s.insertGrant(ctx, tx, g); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create attempt with grant: %w", err)
	}
	s.ck.wrote()
	return nil
}

// RedeemGrant uses up a grant and acts on its attempt, in one immediate
// transaction on the writer connection (so concurrent callers queue and
// exactly one finds the grant).
func (s *Store) RedeemGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Grant{}, store.Attempt{}, fmt.Errorf("sqlite: redeem grant: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	g, err := scanGrant(tx.StmtContext(ctx, s.getGrantW).QueryRowContext(ctx, string(kind), key, unixMicro(now)))
	if err != nil {
		return store.Grant{}, store.Attempt{}, notFound("redeem grant", err)
	}
	var old store.Attempt
	if g.AttemptID != "" {
		old, err = scanAttempt(tx.StmtContext(ctx, s.getAttemptW).QueryRowContext(ctx, g.AttemptID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return store.Grant{}, store.Attempt{}, fmt.Errorf("sqlite: redeem grant: %w", err)
		}
	}
	r, err := fn(g, old)
	if err != nil {
		return store.Grant{}, store.Attempt{}, err
	}
	if _, err := tx.StmtContext(ctx, s.deleteGrant).ExecContext(ctx, string(kind), key); err != nil {
		return store.Grant{}, store.Attempt{}, fmt.Errorf("sqlite: redeem grant: %w", err)
	}
	a := old
	if r.Attempt != nil {
		if old.ID == "" || r.Attempt.ID != old.ID {
			return store.Grant{}, store.Attempt{}, errAttemptChanged
		}
		if err := s.writeAttempt(ctx, tx, old, *r.Attempt); err != nil {
			return store.Grant{}, store.Attempt{}, err
		}
		a = stored(*r.Attempt)
	}
	for _, ng := range r.Grants {
		if err := s.insertGrant(ctx, tx, ng); err != nil {
			return store.Grant{}, store.Attempt{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return store.Grant{}, store.Attempt{}, fmt.Errorf("sqlite: redeem grant: %w", err)
	}
	s.ck.wrote()
	return g, a, nil
}
