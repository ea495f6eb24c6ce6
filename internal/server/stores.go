package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gofrs/flock"

	"github.com/numgate/numgate/internal/config"
	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/postgres"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// openStore chooses the backend by name.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.Store.Driver == "postgres" {
		st, err := postgres.Open(ctx, cfg.Store.DSN)
		if err != nil {
			// Not st: a nil *postgres.Store would be a non-nil store.Store,
			// and the caller's Close on it would panic.
			return nil, err
		}
		return st, nil
	}
	path := SQLitePath(cfg)
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		// SQLite's own messages ("unable to open database file") do not
		// say which file.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// SQLitePath is the SQLite database file of cfg: DATA/numgate.db.
func SQLitePath(cfg config.Config) string { return filepath.Join(cfg.Data, "numgate.db") }

// lockFile is the file in the data directory that a gateway keeping flows
// in memory holds locked.
const lockFile = "numgate.lock"

// lockData takes the data directory's lock, or says that another gateway
// serves it: two gateways on one SQLite file would not see each other's
// codes and tokens when flows are kept in memory.
func lockData(dir string) (*flock.Flock, error) {
	l := flock.New(filepath.Join(dir, lockFile))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("data directory %s is in use by another numgate serve (it keeps flows in memory, store.flows); stop that one first, or use store.driver postgres for several gateways", dir)
	}
	return l, nil
}
