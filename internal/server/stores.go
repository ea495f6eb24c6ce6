package server

import (
	"context"
	"path/filepath"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/postgres"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// openStore chooses the backend by name.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.Store.Driver == "postgres" {
		return postgres.Open(ctx, cfg.Store.DSN)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.Data, "numgate.db"))
}
