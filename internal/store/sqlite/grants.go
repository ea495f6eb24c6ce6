package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/numgate/numgate/internal/store"
)

const grantCols = `kind, key, client_id, attempt_id, data, created_at, expires_at`

const (
	// sqlPutGrant inserts, or replaces a grant that expired at or before the
	// new one's creation; it changes no row when an unexpired grant holds the key.
	sqlPutGrant = `INSERT INTO grants (` + grantCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, key) DO UPDATE SET
	client_id = excluded.client_id, attempt_id = excluded.attempt_id, data = excluded.data,
	created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE grants.expires_at <= excluded.created_at`
	sqlGetGrant     = `SELECT ` + grantCols + ` FROM grants WHERE kind = ? AND key = ? AND expires_at > ?`
	sqlConsumeGrant = `DELETE FROM grants WHERE kind = ? AND key = ? AND expires_at > ? RETURNING ` + grantCols
	sqlGCGrants     = `DELETE FROM grants WHERE expires_at <= ?`
)

// PutGrant stores a grant; store.ErrAlreadyExists if (Kind, Key) holds a
// grant not yet expired at g.CreatedAt. An expired grant is replaced.
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	if err := s.insertGrant(ctx, nil, g); err != nil {
		return err
	}
	s.ck.wrote()
	return nil
}

// insertGrant puts a grant, inside tx when it is not nil.
func (s *Store) insertGrant(ctx context.Context, tx *sql.Tx, g store.Grant) error {
	st := s.putGrant
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	res, err := st.ExecContext(ctx, string(g.Kind), g.Key, g.ClientID, g.AttemptID, blob(g.Data),
		unixMicro(g.CreatedAt), unixMicro(g.ExpiresAt))
	return rowChanged("put grant", res, err, store.ErrAlreadyExists)
}

// GetGrant returns a grant unexpired at now without consuming it, or
// store.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	g, err := scanGrant(s.getGrant.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
	if err != nil {
		return store.Grant{}, notFound("get grant", err)
	}
	return g, nil
}

// ConsumeGrant removes and returns a grant unexpired at now, in one
// DELETE ... RETURNING statement; of concurrent callers exactly one gets it,
// the others store.ErrNotFound.
func (s *Store) ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	g, err := scanGrant(s.consumeGrant.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
	if err != nil {
		return store.Grant{}, notFound("consume grant", err)
	}
	s.ck.wrote()
	return g, nil
}

func scanGrant(sc scanner) (store.Grant, error) {
	var (
		g                store.Grant
		kind             string
		created, expires int64
	)
	if err := sc.Scan(&kind, &g.Key, &g.ClientID, &g.AttemptID, &g.Data, &created, &expires); err != nil {
		return store.Grant{}, err
	}
	g.Kind = store.GrantKind(kind)
	g.Data = nonEmpty(g.Data)
	g.CreatedAt, g.ExpiresAt = fromMicro(created), fromMicro(expires)
	return g, nil
}
