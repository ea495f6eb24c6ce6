package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// writer is the store's one write connection, taken from its pool of one at
// Open and held until Close, with the store's write statements prepared on
// it. Callers take turns through a token instead of a database/sql
// transaction, which spares each write transaction what database/sql and
// the driver spend on it besides SQLite's own work: a goroutine per
// transaction and per query in it watching the context, one per statement
// in the driver for the same purpose, and BEGIN and COMMIT parsed anew each
// time (here they are prepared once).
//
// The statements run with the caller's context stripped of its
// cancellation (context.WithoutCancel): a transaction, once it holds the
// connection, runs to its end, which takes microseconds. A context done
// before that still fails the call, and waiting for the token ends with the
// context. A wait for a lock another process holds (the
// `numgate clients` command writing the same file) is bounded by
// busy_timeout.
type writer struct {
	conn                    *sql.Conn
	token                   chan struct{} // holds one value while the connection is in use
	begin, commit, rollback *sql.Stmt
}

// newWriter takes the one connection of db and prepares the transaction
// statements on it.
func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: writer connection: %w", err)
	}
	w := &writer{conn: conn, token: make(chan struct{}, 1)}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&w.begin, "BEGIN IMMEDIATE"}, {&w.commit, "COMMIT"}, {&w.rollback, "ROLLBACK"}} {
		if *p.stmt, err = conn.PrepareContext(ctx, p.sql); err != nil {
			w.close()
			return nil, fmt.Errorf("sqlite: prepare %s: %w", p.sql, err)
		}
	}
	return w, nil
}

// prepare prepares a statement on the writer connection.
func (w *writer) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return w.conn.PrepareContext(ctx, query)
}

// hold runs fn while holding the writer connection, outside a transaction
// (each statement commits on its own). fn gets ctx without its
// cancellation and must use only statements prepared on the writer. It
// must not call back into the store.
func (w *writer) hold(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case w.token <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.token }()
	return fn(context.WithoutCancel(ctx))
}

// tx runs fn in one BEGIN IMMEDIATE transaction on the writer connection,
// committed if fn returns nil and rolled back otherwise (also if fn
// panics). An error of fn is returned as is; one of BEGIN or COMMIT is
// wrapped with op.
func (w *writer) tx(ctx context.Context, op string, fn func(context.Context) error) error {
	return w.hold(ctx, func(ctx context.Context) error {
		if _, err := w.begin.ExecContext(ctx); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		committed := false
		defer func() {
			if !committed {
				w.rollback.ExecContext(ctx) //nolint:errcheck // the first error is the one to report
			}
		}()
		if err := fn(ctx); err != nil {
			return err
		}
		if _, err := w.commit.ExecContext(ctx); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		committed = true
		return nil
	})
}

// close closes the transaction statements and returns the connection to
// its pool. A nil writer is a no-op.
func (w *writer) close() error {
	if w == nil {
		return nil
	}
	for _, st := range []*sql.Stmt{w.begin, w.commit, w.rollback} {
		if st != nil {
			st.Close()
		}
	}
	return w.conn.Close()
}
