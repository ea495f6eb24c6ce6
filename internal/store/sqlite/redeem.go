package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/numgate/numgate/internal/store"
)

const (
	// sqlRedeemGrant reads an unexpired grant and its attempt in one
	// statement (two B-tree seeks, one statement execution). The attempt's
	// columns are NULL when it is missing, hence the IFNULLs (data and
	// report_at may be NULL anyway); a grant with no attempt ID has none.
	sqlRedeemGrant = `SELECT g.kind, g.key, g.client_id, g.attempt_id, g.data, g.created_at, g.expires_at,
IFNULL(a.id, ''), IFNULL(a.client_id, ''), IFNULL(a.dialect, ''), IFNULL(a.state, ''), IFNULL(a.outcome, ''),
IFNULL(a.claimed_number, ''), IFNULL(a.claimed_hash, ''), IFNULL(a.device_number, ''), IFNULL(a.device_hash, ''),
IFNULL(a.identified_by, ''), IFNULL(a.device_addr, ''), IFNULL(a.user_agent, ''),
IFNULL(a.created_at, 0), IFNULL(a.updated_at, 0), IFNULL(a.deadline, 0), a.data, a.report_at
FROM grants AS g LEFT JOIN attempts AS a ON g.attempt_id <> '' AND a.id = g.attempt_id
WHERE g.kind = ? AND g.key = ? AND g.expires_at > ?`
	sqlDeleteGrant = `DELETE FROM grants WHERE kind = ? AND key = ?`
)

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
		var (
			old store.Attempt
			err error
		)
		g, old, err = scanGrantAttempt(s.redeemGrant.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
		if err != nil {
			return notFound("redeem grant", err)
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

// scanGrantAttempt scans a row of sqlRedeemGrant: a grant and its attempt,
// the zero Attempt when there is none.
func scanGrantAttempt(sc scanner) (store.Grant, store.Attempt, error) {
	var (
		g                          store.Grant
		a                          store.Attempt
		kind                       string
		gCreated, gExpires         int64
		created, updated, deadline int64
		report                     sql.NullInt64
	)
	if err := sc.Scan(&kind, &g.Key, &g.ClientID, &g.AttemptID, &g.Data, &gCreated, &gExpires,
		&a.ID, &a.ClientID, &a.Dialect, &a.State, &a.Outcome, &a.ClaimedNumber, &a.ClaimedHash,
		&a.DeviceNumber, &a.DeviceHash, &a.IdentifiedBy, &a.DeviceAddr, &a.UserAgent,
		&created, &updated, &deadline, &a.Data, &report); err != nil {
		return store.Grant{}, store.Attempt{}, err
	}
	g.Kind = store.GrantKind(kind)
	g.Data = nonEmpty(g.Data)
	g.CreatedAt, g.ExpiresAt = fromMicro(gCreated), fromMicro(gExpires)
	if a.ID == "" {
		return g, store.Attempt{}, nil
	}
	a.CreatedAt, a.UpdatedAt, a.Deadline = fromMicro(created), fromMicro(updated), fromMicro(deadline)
	a.ReportAt = fromOptMicro(report)
	a.Data = nonEmpty(a.Data)
	return g, a, nil
}
