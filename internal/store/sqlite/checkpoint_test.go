package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/numgate/numgate/internal/store"
)

// TestCheckpointer checks that the background checkpoints keep the WAL
// small: without them it would grow to writerAutoCheckpoint pages.
func TestCheckpointer(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "numgate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ck.every = 32

	now := time.Now()
	const writes = 1500 // about 3000 pages: 12 MB of WAL unless checkpointed in time
	for i := range writes / 2 {
		g := store.Grant{Kind: store.GrantCode, Key: fmt.Sprint("k", i), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.PutGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeGrant(ctx, g.Kind, g.Key, now); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("WAL: %d bytes", fi.Size())
	if limit := int64(6 << 20); fi.Size() > limit {
		t.Errorf("WAL is %d bytes after %d writes, want at most %d", fi.Size(), writes, limit)
	}
	if got := s.ck.writes.Load(); got != writes {
		t.Errorf("checkpointer counted %d writes, want %d", got, writes)
	}
}
