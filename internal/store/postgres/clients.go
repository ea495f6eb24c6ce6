package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/numgate/numgate/internal/store"
)

const clientCols = `id, secret_hash, secret_salt, jwks, redirect_uris, scopes, id_token_alg, created_at`

const (
	sqlCreateClient = `INSERT INTO clients (` + clientCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO NOTHING`
	sqlGetClient    = `SELECT ` + clientCols + ` FROM clients WHERE id = $1`
	sqlListClients  = `SELECT ` + clientCols + ` FROM clients ORDER BY id`
	sqlDeleteClient = `DELETE FROM clients WHERE id = $1`
)

// CreateClient stores a new client; store.ErrAlreadyExists if the ID is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	tag, err := s.pool.Exec(ctx, sqlCreateClient, c.ID, bytea(c.SecretHash), bytea(c.SecretSalt), bytea(c.JWKS),
		list(c.RedirectURIs), list(c.Scopes), c.IDTokenAlg, c.CreatedAt)
	return exactlyOne("create client", tag, err, store.ErrAlreadyExists)
}

// GetClient returns a client or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, sqlGetClient, id))
	if err != nil {
		return store.Client{}, notFound("get client", err)
	}
	return c, nil
}

// ListClients returns every client, ordered by ID (byte order).
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, sqlListClients)
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client or returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, sqlDeleteClient, id)
	return exactlyOne("delete client", tag, err, store.ErrNotFound)
}

func scanClient(row pgx.Row) (store.Client, error) {
	var (
		c       store.Client
		created time.Time
	)
	if err := row.Scan(&c.ID, &c.SecretHash, &c.SecretSalt, &c.JWKS, &c.RedirectURIs, &c.Scopes, &c.IDTokenAlg, &created); err != nil {
		return store.Client{}, err
	}
	c.SecretHash, c.SecretSalt, c.JWKS = bytea(c.SecretHash), bytea(c.SecretSalt), bytea(c.JWKS)
	c.RedirectURIs, c.Scopes = list(c.RedirectURIs), list(c.Scopes)
	c.CreatedAt = utc(created)
	return c, nil
}
