package sqlite

import (
	"context"
	"fmt"

	"github.com/numgate/numgate/internal/store"
)

const clientCols = `id, secret_hash, secret_salt, jwks, redirect_uris, scopes, id_token_alg, created_at`

const (
	sqlCreateClient = `INSERT INTO clients (` + clientCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`
	sqlGetClient    = `SELECT ` + clientCols + ` FROM clients WHERE id = ?`
	sqlListClients  = `SELECT ` + clientCols + ` FROM clients ORDER BY id`
	sqlDeleteClient = `DELETE FROM clients WHERE id = ?`
)

// CreateClient stores a new client; store.ErrAlreadyExists if the ID is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	uris, err := jsonList(c.RedirectURIs)
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	scopes, err := jsonList(c.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	return s.wr.hold(ctx, func(ctx context.Context) error {
		res, err := s.createClient.ExecContext(ctx, c.ID, blob(c.SecretHash), blob(c.SecretSalt), blob(c.JWKS),
			uris, scopes, c.IDTokenAlg, unixMicro(c.CreatedAt))
		return s.exactlyOne("create client", res, err, store.ErrAlreadyExists)
	})
}

// GetClient returns a client or store.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var c store.Client
	err := s.read(ctx, func(ctx context.Context) (err error) {
		c, err = scanClient(s.getClient.QueryRowContext(ctx, id))
		return err
	})
	if err != nil {
		return store.Client{}, notFound("get client", err)
	}
	return c, nil
}

// ListClients returns every client, ordered by ID (byte order).
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	var out []store.Client
	err := s.read(ctx, func(ctx context.Context) error {
		rows, err := s.listClients.QueryContext(ctx)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClient(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client or returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.wr.hold(ctx, func(ctx context.Context) error {
		res, err := s.deleteClient.ExecContext(ctx, id)
		return s.exactlyOne("delete client", res, err, store.ErrNotFound)
	})
}

func scanClient(sc scanner) (store.Client, error) {
	var (
		c             store.Client
		uris, scopes  []byte
		createdMicros int64
	)
	if err := sc.Scan(&c.ID, &c.SecretHash, &c.SecretSalt, &c.JWKS, &uris, &scopes, &c.IDTokenAlg, &createdMicros); err != nil {
		return store.Client{}, err
	}
	if err := decodeJSON(uris, &c.RedirectURIs); err != nil {
		return store.Client{}, fmt.Errorf("redirect_uris: %w", err)
	}
	if err := decodeJSON(scopes, &c.Scopes); err != nil {
		return store.Client{}, fmt.Errorf("scopes: %w", err)
	}
	c.SecretHash, c.SecretSalt, c.JWKS = nonEmpty(c.SecretHash), nonEmpty(c.SecretSalt), nonEmpty(c.JWKS)
	c.CreatedAt = fromMicro(createdMicros)
	return c, nil
}
