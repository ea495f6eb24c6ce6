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
	err := s.wr.tx(ctx, "create attempt with grant", func(ctx context.Context) error {
		if err := s.insertAttempt(ctx, a); err != nil {
			return err
		}
		return s.insertGrant(ctx, g)
	})
	if err != nil {
		return err
	}
	s.ck.wrote()
	return nil
}

// RedeemGrant uses up a grant and acts on its attempt, in one immediate
// transaction on the writer connection (so concurrent callers queue and
// exactly one finds the grant).
func (s *Store) RedeemGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time,
	fn func(store.Grant, store.Attempt) (store.Redemption, error)) (store.Grant, store.Attempt, error) {
	var (
		g  store.Grant
		at store.Attempt
	)
	err := s.wr.tx(ctx, "redeem grant", func(ctx context.Context) error {
		var err error
		g, err = scanGrant(s.getGrantW.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
		if err != nil {
			return notFound("redeem grant", err)
		}
		var old store.Attempt
		if g.AttemptID != "" {
			old, err = scanAttempt(s.getAttemptW.QueryRowContext(ctx, g.AttemptID))
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlite: redeem grant: %w", err)
			}
		}
		r, err := fn(g, old)
		if err != nil {
			return err
		}
		if _, err := s.deleteGrant.ExecContext(ctx, string(kind), key); err != nil {
			return fmt.Errorf("sqlite: redeem grant: %w", err)
		}
		at = old
		if r.Attempt != nil {
			if old.ID == "" || r.Attempt.ID != old.ID {
				return errAttemptChanged
			}
			if err := s.writeAttempt(ctx, old, *r.Attempt); err != nil {
				return err
			}
			at = stored(*r.Attempt)
		}
		for _, ng := range r.Grants {
			if err := s.insertGrant(ctx, ng); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Grant{}, store.Attempt{}, err
	}
	s.ck.wrote()
	return g, at, nil
}
