package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/numgate/numgate/internal/store"
)

const attemptCols = `id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent,
created_at, updated_at, deadline, data, report_at`

const (
	sqlCreateAttempt = `INSERT INTO attempts (` + attemptCols + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO NOTHING`
	sqlGetAttempt          = `SELECT ` + attemptCols + ` FROM attempts WHERE id = $1`
	sqlGetAttemptForUpdate = sqlGetAttempt + ` FOR UPDATE`
	// sqlPutAttempt takes the arguments of sqlCreateAttempt.
	sqlPutAttempt = `UPDATE attempts SET client_id = $2, dialect = $3, state = $4, outcome = $5,
claimed_number = $6, claimed_hash = $7, device_number = $8, device_hash = $9, identified_by = $10,
device_addr = $11, user_agent = $12, created_at = $13, updated_at = $14, deadline = $15, data = $16,
report_at = $17
WHERE id = $1`
	// The state list must match the partial index attempts_open_deadline.
	sqlDueAttempts = `SELECT ` + attemptCols + ` FROM attempts
WHERE state IN ('created', 'device_seen') AND deadline < $1
ORDER BY deadline, id LIMIT $2`
	// The WHERE must match the partial index attempts_report_due.
	sqlDueReports = `SELECT ` + attemptCols + ` FROM attempts
WHERE report_at IS NOT NULL AND state NOT IN ('created', 'device_seen') AND report_at <= $1
ORDER BY report_at, id LIMIT $2`
	sqlGCGrants = `DELETE FROM grants WHERE expires_at <= $1`
	// sqlForgetDeviceNumbers walks the attempts_deadline index over one
	// window of deadlines.
	sqlForgetDeviceNumbers = `UPDATE attempts SET device_number = ''
WHERE deadline >= $1 AND deadline < $2 AND state = 'decided' AND device_number <> ''`
	// sqlGCAttempts keeps an attempt whose end is still to be reported.
	sqlGCAttempts = `DELETE FROM attempts WHERE deadline < $1 AND report_at IS NULL`
	// sqlGCDeliveries removes ended deliveries; index deliveries_ended.
	sqlGCDeliveries = `DELETE FROM deliveries WHERE state <> 'pending' AND updated_at < $1`
)

// errIDChanged is returned when an UpdateAttempt function changes the ID.
var errIDChanged = errors.New("postgres: update attempt: the ID may not change")

func attemptArgs(a store.Attempt) []any {
	return []any{a.ID, a.ClientID, a.Dialect, a.State, a.Outcome,
		a.ClaimedNumber, a.ClaimedHash, a.DeviceNumber, a.DeviceHash, a.IdentifiedBy,
		a.DeviceAddr, store.ValidText(a.UserAgent), a.CreatedAt, a.UpdatedAt, a.Deadline, bytea(a.Data), optTime(a.ReportAt)}
}

// optTime stores an optional time: NULL for the zero time.
func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// CreateAttempt stores a new attempt; store.ErrAlreadyExists if the ID is taken.
func (s *Store) CreateAttempt(ctx context.Context, a store.Attempt) error {
	tag, err := s.pool.Exec(ctx, sqlCreateAttempt, attemptArgs(a)...)
	return exactlyOne("create attempt", tag, err, store.ErrAlreadyExists)
}

// GetAttempt returns an attempt or store.ErrNotFound.
func (s *Store) GetAttempt(ctx context.Context, id string) (store.Attempt, error) {
	a, err := scanAttempt(s.pool.QueryRow(ctx, sqlGetAttempt, id))
	if err != nil {
		return store.Attempt{}, notFound("get attempt", err)
	}
	return a, nil
}

// UpdateAttempt applies fn to the current attempt, read with SELECT ... FOR
// UPDATE, and stores its result in the same transaction. If fn returns an
// error, nothing is written and that error is returned as is.
//
// The transaction takes two round trips: BEGIN with the SELECT, then the
// UPDATE with COMMIT, each pair pipelined in one batch.
func (s *Store) UpdateAttempt(ctx context.Context, id string, fn func(store.Attempt) (store.Attempt, error)) (store.Attempt, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.Attempt{}, fmt.Errorf("postgres: update attempt: %w", err)
	}
	// A connection left inside a transaction (after an error) is closed by
	// Release rather than returned to the pool, which rolls the transaction back.
	defer conn.Release()

	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlGetAttemptForUpdate, id)
	br := conn.SendBatch(ctx, b)
	_, err = br.Exec()
	var old store.Attempt
	if err == nil {
		old, err = scanAttempt(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn)
		return store.Attempt{}, notFound("update attempt", err)
	}

	a, err := fn(old)
	if err == nil && a.ID != id {
		err = errIDChanged
	}
	if err != nil {
		rollback(conn)
		return store.Attempt{}, err
	}

	b = &pgx.Batch{}
	b.Queue(sqlPutAttempt, attemptArgs(a)...)
	b.Queue("COMMIT")
	wctx, cancel := finishing(ctx)
	defer cancel()
	if err := conn.SendBatch(wctx, b).Close(); err != nil {
		rollback(conn)
		return store.Attempt{}, fmt.Errorf("postgres: update attempt: %w", err)
	}
	return stored(a), nil
}

// finishTimeout bounds the writes and COMMIT of a decided transaction.
const finishTimeout = 10 * time.Second

// finishing is the context for the writes and COMMIT of a transaction whose
// outcome is decided: without the caller's cancellation, as the SQLite
// backend does, because a COMMIT cut off by a client gone away may still
// have committed, and the caller would be told the write failed; a server
// that does not answer still times out.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
}

// rollback ends the transaction left open on conn, if any. On failure the
// connection stays inside it and Release discards it.
func rollback(conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}

// stored returns a as a later GetAttempt returns it.
func stored(a store.Attempt) store.Attempt {
	a.CreatedAt = utc(a.CreatedAt.Truncate(time.Microsecond))
	a.UpdatedAt = utc(a.UpdatedAt.Truncate(time.Microsecond))
	a.Deadline = utc(a.Deadline.Truncate(time.Microsecond))
	if !a.ReportAt.IsZero() {
		a.ReportAt = utc(a.ReportAt.Truncate(time.Microsecond))
	}
	a.Data = bytea(a.Data)
	a.UserAgent = store.ValidText(a.UserAgent)
	return a
}

// DueAttempts returns up to limit open attempts (created or device_seen)
// whose deadline is before now, oldest deadline first.
func (s *Store) DueAttempts(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	out, err := s.queryAttempts(ctx, sqlDueAttempts, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due attempts: %w", err)
	}
	return out, nil
}

// DueReports returns up to limit attempts no longer open whose ReportAt is
// set and not after now, oldest ReportAt first.
func (s *Store) DueReports(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	out, err := s.queryAttempts(ctx, sqlDueReports, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due reports: %w", err)
	}
	return out, nil
}

// queryAttempts runs a query that takes a time and a limit and returns
// attempts.
func (s *Store) queryAttempts(ctx context.Context, query string, now time.Time, limit int) ([]store.Attempt, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, query, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Attempt, error) { return scanAttempt(r) })
}

// GarbageCollect deletes grants that expired at or before now and attempts
// whose deadline is more than retain before now, in one round trip.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time, retain time.Duration) (store.GCResult, error) {
	b := &pgx.Batch{}
	b.Queue(sqlGCGrants, now)
	b.Queue(sqlGCAttempts, now.Add(-retain))
	b.Queue(sqlGCDeliveries, now.Add(-retain))
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var r store.GCResult
	for _, n := range []*int64{&r.Grants, &r.Attempts, &r.Deliveries} {
		tag, err := br.Exec()
		if err != nil {
			return store.GCResult{}, fmt.Errorf("postgres: garbage collect: %w", err)
		}
		*n = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return store.GCResult{}, fmt.Errorf("postgres: garbage collect: %w", err)
	}
	return r, nil
}

// ForgetDeviceNumbers clears the device number of decided attempts whose
// deadline is in [from, to).
func (s *Store) ForgetDeviceNumbers(ctx context.Context, from, to time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, sqlForgetDeviceNumbers, from, to)
	if err != nil {
		return 0, fmt.Errorf("postgres: forget device numbers: %w", err)
	}
	return tag.RowsAffected(), nil
}

func scanAttempt(row pgx.Row) (store.Attempt, error) {
	var (
		a                          store.Attempt
		created, updated, deadline time.Time
		report                     *time.Time
	)
	if err := row.Scan(&a.ID, &a.ClientID, &a.Dialect, &a.State, &a.Outcome, &a.ClaimedNumber, &a.ClaimedHash,
		&a.DeviceNumber, &a.DeviceHash, &a.IdentifiedBy, &a.DeviceAddr, &a.UserAgent,
		&created, &updated, &deadline, &a.Data, &report); err != nil {
		return store.Attempt{}, err
	}
	a.CreatedAt, a.UpdatedAt, a.Deadline = utc(created), utc(updated), utc(deadline)
	if report != nil {
		a.ReportAt = utc(*report)
	}
	a.Data = bytea(a.Data)
	return a, nil
}
