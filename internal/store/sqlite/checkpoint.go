package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
	"time"
)

// Checkpointing. In WAL mode every commit appends to the -wal file, and a
// checkpoint copies those pages back into the database file, with an fsync
// of each before and after (synchronous=NORMAL). SQLite's automatic
// checkpoint runs inside the commit that crosses its threshold, so that one
// request pays for the fsync of everything written since the last one: on a
// slow disk a third of the cost of a verification.
//
// Instead a goroutine checkpoints in two steps, every kickEvery writes and on
// a timer. First a PASSIVE checkpoint on its own connection, which blocks
// neither the writer nor the readers, copies and syncs nearly everything.
// Then a second PASSIVE checkpoint on the writer connection copies the few
// pages written meanwhile (cheap fsyncs, as little is dirty): only a
// checkpoint that catches up with the writer lets its next commit start the
// WAL over from the beginning, so the file stays small and is overwritten in
// place instead of growing. The writer's own automatic checkpoint is left at
// a high threshold, a safety net should the goroutine fall behind.
const (
	// kickEvery is how many writes wake the checkpointer (about 2.5 pages each: about 10 MB of WAL).
	kickEvery = 1024
	// checkpointEvery is the timer for a trickle of writes.
	checkpointEvery = 2 * time.Second
	// writerAutoCheckpoint is the writer's own threshold, in pages, should
	// the checkpointer fall behind.
	writerAutoCheckpoint = 16384
)

type checkpointer struct {
	db     *sql.DB // the checkpointer's own connection
	w      *writer // the store's writer
	log    *slog.Logger
	every  uint64 // kickEvery; lowered by tests
	writes atomic.Uint64
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func startCheckpointer(db *sql.DB, w *writer, log *slog.Logger) *checkpointer {
	c := &checkpointer{
		db:    db,
		w:     w,
		log:   log,
		every: kickEvery,
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go c.run()
	return c
}

// wrote counts one committed write and wakes the checkpointer every c.every.
func (c *checkpointer) wrote() {
	if c == nil {
		return
	}
	if c.writes.Add(1)%c.every == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-t.C:
			if c.writes.Load() == last {
				continue
			}
		}
		last = c.writes.Load()
		c.checkpoint()
	}
}

func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := walCheckpoint(ctx, c.db); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "sqlite: checkpoint failed", slog.Any("err", err))
		return
	}
	if err := c.w.hold(ctx, func(ctx context.Context) error { return walCheckpoint(ctx, c.w.conn) }); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "sqlite: checkpoint failed", slog.Any("err", err))
	}
}

// walCheckpoint runs a PASSIVE checkpoint on db, a *sql.DB or *sql.Conn.
func walCheckpoint(ctx context.Context, db interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) error {
	var busy, logPages, done int
	return db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
}

// close stops the checkpointer and waits for it.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}
