package sqlite

import (
	"context"
	"database/sql"
	"fmt"
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
	// GarbageCollect pages through the expired grants in key order on a
	// reader (a full scan: no index on expires_at, see migration 00002),
	// then deletes them by key on the writer.
	sqlExpiredGrants      = `SELECT kind, key FROM grants WHERE expires_at <= ? ORDER BY kind, key LIMIT ?`
	sqlExpiredGrantsAfter = `SELECT kind, key FROM grants WHERE (kind, key) > (?, ?) AND expires_at <= ?
ORDER BY kind, key LIMIT ?`
	sqlGCGrant = `DELETE FROM grants WHERE kind = ? AND key = ? AND expires_at <= ?`
)

// gcBatch is how many expired grants GarbageCollect deletes per transaction.
const gcBatch = 500

// PutGrant stores a grant; store.ErrAlreadyExists if (Kind, Key) holds a
// grant not yet expired at g.CreatedAt. An expired grant is replaced.
func (s *Store) PutGrant(ctx context.Context, g store.Grant) error {
	return s.wr.hold(ctx, func(ctx context.Context) error {
		if err := s.insertGrant(ctx, g); err != nil {
			return err
		}
		s.ck.wrote()
		return nil
	})
}

// insertGrant puts a grant; the caller holds the writer.
func (s *Store) insertGrant(ctx context.Context, g store.Grant) error {
	res, err := s.putGrant.ExecContext(ctx, string(g.Kind), g.Key, g.ClientID, g.AttemptID, blob(g.Data),
		unixMicro(g.CreatedAt), unixMicro(g.ExpiresAt))
	return rowChanged("put grant", res, err, store.ErrAlreadyExists)
}

// GetGrant returns a grant unexpired at now without consuming it, or
// store.ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	var g store.Grant
	err := s.read(ctx, func(ctx context.Context) (err error) {
		g, err = scanGrant(s.getGrant.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
		return err
	})
	if err != nil {
		return store.Grant{}, notFound("get grant", err)
	}
	return g, nil
}

// ConsumeGrant removes and returns a grant unexpired at now, in one
// DELETE ... RETURNING statement; of concurrent callers exactly one gets it,
// the others store.ErrNotFound.
func (s *Store) ConsumeGrant(ctx context.Context, kind store.GrantKind, key string, now time.Time) (store.Grant, error) {
	var g store.Grant
	err := s.wr.hold(ctx, func(ctx context.Context) (err error) {
		g, err = scanGrant(s.consumeGrant.QueryRowContext(ctx, string(kind), key, unixMicro(now)))
		return err
	})
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

// grantKey is the primary key of a grant.
type grantKey struct{ kind, key string }

// gcGrants deletes the grants that expired at or before now, gcBatch per
// writer transaction, and returns how many it deleted. The expired keys are
// found on a reader, in key order, so the writer is held only for the
// deletes; a grant replaced meanwhile is left alone (the DELETE checks
// expires_at again).
func (s *Store) gcGrants(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	batch := make([]grantKey, 0, gcBatch)
	for {
		var after *grantKey
		if len(batch) > 0 {
			last := batch[len(batch)-1]
			after = &last
		}
		batch = batch[:0]
		err := s.read(ctx, func(ctx context.Context) error {
			var (
				rows *sql.Rows
				err  error
			)
			if after == nil {
				rows, err = s.expiredGrants.QueryContext(ctx, unixMicro(now), gcBatch)
			} else {
				rows, err = s.expiredGrantsAfter.QueryContext(ctx, after.kind, after.key, unixMicro(now), gcBatch)
			}
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k grantKey
				if err := rows.Scan(&k.kind, &k.key); err != nil {
					return err
				}
				batch = append(batch, k)
			}
			return rows.Err()
		})
		if err != nil {
			return total, fmt.Errorf("sqlite: garbage collect: %w", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		n, err := s.deleteGrants(ctx, batch, now)
		total += n
		if err != nil || len(batch) < gcBatch {
			return total, err
		}
	}
}

// deleteGrants deletes the listed grants that expired at or before now, in
// one writer transaction, and returns how many it deleted.
func (s *Store) deleteGrants(ctx context.Context, keys []grantKey, now time.Time) (int64, error) {
	var n int64
	err := s.wr.tx(ctx, "garbage collect", func(ctx context.Context) error {
		for _, k := range keys {
			res, err := s.gcGrant.ExecContext(ctx, k.kind, k.key, unixMicro(now))
			if err != nil {
				return fmt.Errorf("sqlite: garbage collect: %w", err)
			}
			c, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlite: garbage collect: %w", err)
			}
			n += c
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.ck.wrote()
	return n, nil
}
