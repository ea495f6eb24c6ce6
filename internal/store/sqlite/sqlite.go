package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/numgate/numgate/internal/store"
)

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// MemoryPath opens a private in-memory database, lost on Close.
const MemoryPath = ":memory:"

// Store is the SQLite backend of store.Store. It is safe for concurrent use.
type Store struct {
	w   *sql.DB // exactly one connection, held by wr from Open to Close
	wr  *writer // every write goes through it
	r   *sql.DB // readers; nil for an in-memory database, read through wr
	now func() time.Time
	ck  *checkpointer // nil for an in-memory database

	stmts []*sql.Stmt // every prepared statement, closed by Close

	createClient, getClient, listClients, deleteClient *sql.Stmt
	createAttempt, getAttempt, getAttemptW, putAttempt *sql.Stmt
	putAttemptSameDeadline, dueAttempts, dueReports    *sql.Stmt
	putGrant, getGrant, consumeGrant                   *sql.Stmt
	deleteGrant, redeemGrant                           *sql.Stmt
	expiredGrants, expiredGrantsAfter, gcGrant         *sql.Stmt
	gcAttempts, gcDeliveries                           *sql.Stmt
	forgetDeviceNumbers                                *sql.Stmt
	enqueue, claim, recordTry, getDelivery             *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
	readConns   int
	now         func() time.Time
	log         *slog.Logger
}

// WithBusyTimeout sets how long a statement waits for a lock held by another
// process on the same file before it fails (default 10s). Within one Store,
// writers queue for the one writer connection and never see a busy error.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithReadConns sets the size of the reader connection pool (default: the
// larger of 4 and GOMAXPROCS). It has no effect on an in-memory database.
func WithReadConns(n int) Option {
	return func(o *options) { o.readConns = n }
}

// WithClock sets the clock used for the times the store stamps itself (the
// UpdatedAt of a delivery in RecordTry); the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLogger sets the logger for problems met in the background (a failed
// WAL checkpoint); the default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// Open opens (creating it if needed) the SQLite database at path, applies the
// pending schema migrations and prepares the store's statements. path is a
// file path, a "file:" URI, or MemoryPath.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: 10 * time.Second, readConns: max(4, runtime.GOMAXPROCS(0)), now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.readConns < 1 {
		o.readConns = 1
	}
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if !strings.HasPrefix(path, "file:") && strings.Contains(path, "?") {
		return nil, errors.New("sqlite: a database path may not contain '?'; use a file: URI")
	}

	if path != MemoryPath && !strings.HasPrefix(path, "file:") {
		// The database holds claimed and device numbers while flows run:
		// a new file is its owner's only (SQLite gives the -wal and -shm
		// files the database file's mode). An existing file keeps its mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		f.Close()
	}

	busy := fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", dsn(path, busy, "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)",
		fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, now: o.now}

	if err := migrate(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	if s.wr, err = newWriter(ctx, w); err != nil {
		s.Close()
		return nil, err
	}
	if path != MemoryPath && !strings.Contains(path, "mode=memory") {
		r, err := sql.Open("sqlite", dsn(path, busy, "foreign_keys(1)", "query_only(1)"))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		r.SetMaxOpenConns(o.readConns)
		r.SetMaxIdleConns(o.readConns)
		s.r = r
		ck, err := sql.Open("sqlite", dsn(path, busy))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		ck.SetMaxOpenConns(1)
		s.ck = startCheckpointer(ck, s.wr, o.log)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn appends the pragmas, applied to every new connection, to path.
func dsn(path string, pragmas ...string) string {
	var b strings.Builder
	b.WriteString(path)
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, p := range pragmas {
		b.WriteString(sep)
		b.WriteString("_pragma=")
		b.WriteString(p)
		sep = "&"
	}
	return b.String()
}

// migrate applies the embedded migrations that db has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepare prepares every statement the store runs, reads on the reader pool
// (or the writer for an in-memory database) and writes on the writer.
func (s *Store) prepare(ctx context.Context) error {
	var r preparer = s.r
	if s.r == nil {
		r = s.wr.conn
	}
	w := s.wr.conn
	list := []struct {
		db    preparer
		stmt  **sql.Stmt
		query string
	}{
		{w, &s.createClient, sqlCreateClient},
		{r, &s.getClient, sqlGetClient},
		{r, &s.listClients, sqlListClients},
		{w, &s.deleteClient, sqlDeleteClient},
		{w, &s.createAttempt, sqlCreateAttempt},
		{r, &s.getAttempt, sqlGetAttempt},
		{w, &s.getAttemptW, sqlGetAttempt},
		{w, &s.putAttempt, sqlPutAttempt},
		{w, &s.putAttemptSameDeadline, sqlPutAttemptSameDeadline},
		{r, &s.dueAttempts, sqlDueAttempts},
		{r, &s.dueReports, sqlDueReports},
		{w, &s.putGrant, sqlPutGrant},
		{r, &s.getGrant, sqlGetGrant},
		{w, &s.deleteGrant, sqlDeleteGrant},
		{w, &s.redeemGrant, sqlRedeemGrant},
		{w, &s.consumeGrant, sqlConsumeGrant},
		{r, &s.expiredGrants, sqlExpiredGrants},
		{r, &s.expiredGrantsAfter, sqlExpiredGrantsAfter},
		{w, &s.gcGrant, sqlGCGrant},
		{w, &s.gcAttempts, sqlGCAttempts},
		{w, &s.forgetDeviceNumbers, sqlForgetDeviceNumbers},
		{w, &s.gcDeliveries, sqlGCDeliveries},
		{w, &s.enqueue, sqlEnqueue},
		{w, &s.claim, sqlClaim},
		{w, &s.recordTry, sqlRecordTry},
		{r, &s.getDelivery, sqlGetDelivery},
	}
	for _, p := range list {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", firstLine(p.query), err)
		}
		*p.stmt = st
		s.stmts = append(s.stmts, st)
	}
	return nil
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		return q[:i]
	}
	return q
}

// Close closes the statements and both connection pools. Calls made after
// Close (or racing with it) fail with an error; a second Close returns the
// first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, st := range s.stmts {
			errs = append(errs, st.Close())
		}
		errs = append(errs, s.ck.close(), s.wr.close())
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// read runs fn, which reads with the store's reader statements: at once on
// the reader pool, or holding the writer connection for an in-memory
// database, whose one connection it is.
func (s *Store) read(ctx context.Context, fn func(context.Context) error) error {
	if s.r == nil {
		return s.wr.hold(ctx, fn)
	}
	return fn(ctx)
}

// Ping reads the clients table (a query that touches the file, unlike
// SELECT 1) on a reader, or on the writer for an in-memory database.
func (s *Store) Ping(ctx context.Context) error {
	const q = `SELECT count(*) FROM (SELECT 1 FROM clients LIMIT 1)`
	var n int
	err := s.read(ctx, func(ctx context.Context) error {
		if s.r != nil {
			return s.r.QueryRowContext(ctx, q).Scan(&n)
		}
		return s.wr.conn.QueryRowContext(ctx, q).Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// notFound maps sql.ErrNoRows to store.ErrNotFound and wraps anything else.
func notFound(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// exactlyOne turns the result of a one-row write into ifNone when it changed
// no row, and counts the write for the checkpointer.
func (s *Store) exactlyOne(op string, res sql.Result, err error, ifNone error) error {
	if err := rowChanged(op, res, err, ifNone); err != nil {
		return err
	}
	s.ck.wrote()
	return nil
}

// rowChanged turns the result of a one-row write into ifNone when it changed
// no row.
func rowChanged(op string, res sql.Result, err error, ifNone error) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if n == 0 {
		return ifNone
	}
	return nil
}
