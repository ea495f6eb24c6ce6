package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numgate/numgate/internal/store"
)

const grantCols = `kind, key, client_id, attempt_id, data, created_at, expires_at`

const (
	// sqlPutGrant inserts, or replaces a grant that expired at or before the
	// new one's creation; it changes no row when an unexpired grant holds the key.
	sqlPutGrant = `INSERT INTO grants AS g (` + grantCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (kind, key) DO UPDATE SET
	client_id = excluded.client_id, attempt_id = excluded.attempt_id, data = excluded.data,
	created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE g.expires_at <= excluded.created_at`
	sqlGetGrant     = `SELECT ` + grantCols + ` FROM grants WHERE kind = $1 AND key = $2 AND expires_at > $3`
	sqlConsumeGrant = `DELETE FROM grants WHERE kind = $1 AND key = $2 AND expires_at > $3 RETURNING ` + grantCols
)

// PutGrant stores a grant; store.ErrAlreadyExists if (Kind, Key) holds a
// grant not yet expired at g.CreatedAt. An expired grant is replaced.
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	tag, err := s.pool.Exec(ctx, sqlPutGrant, grantArgs(g)...)
	return exactlyOne("put grant", tag, err, store.ErrAlreadyExists)
}

func grantArgs(g store.Grant) []any {
	return []any{string(g.Kind), g.Key, g.ClientID, g.AttemptID, bytea(g.Data), g.CreatedAt, g.ExpiresAt}
}

// GetGrant returns a grant unexpired at now without consuming it, or
// store.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, sqlGetGrant, string(kind), key, now))
	if err != nil {
		return store.Grant{}, notFound("get grant", err)
	}
	return g, nil
}

// ConsumeGrant removes and returns a grant unexpired at now, in one
// DELETE ... RETURNING statement; of concurrent callers exactly one gets it,
// the others store.ErrNotFound.
func (s *Store) ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, sqlConsumeGrant, string(kind), key, now))
	if err != nil {
		return store.Grant{}, notFound("consume grant", err)
	}
	return g, nil
}

func scanGrant(row pgx.Row) (store.Grant, error) {
	var (
		g                store.Grant
		kind             string
		created, expires time.Time
	)
	if err := row.Scan(&kind, &g.Key, &g.ClientID, &g.AttemptID, &g.Data, &created, &expires); err != nil {
		return store.Grant{}, err
	}
	g.Kind = store.GrantKind(kind)
	g.Data = bytea(g.Data)
	g.CreatedAt, g.ExpiresAt = utc(created), utc(expires)
	return g, nil
}
