package oauth_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/numgate/numgate/internal/store"
	"github.com/numgate/numgate/internal/store/sqlite"
)

// newStore returns the real SQLite store in a temporary directory.
func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "oauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
