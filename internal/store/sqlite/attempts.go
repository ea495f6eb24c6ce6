package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/numgate/numgate/internal/store"
)

const attemptCols = `id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
device_number, device_hash, identified_by, device_addr, user_agent,
created_at, updated_at, deadline, data, report_at`

const (
	sqlCreateAttempt = `INSERT INTO attempts (` + attemptCols + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`
	sqlGetAttempt = `SELECT ` + attemptCols + ` FROM attempts WHERE id = ?`
	// sqlPutAttempt takes the arguments of sqlCreateAttempt, ID last.
	//
	// report_at is assigned every time: its index, attempts_report_due,
	// holds only ended attempts not yet reported, so for every other row
	// SQLite writes no index page, whatever is assigned.
	sqlPutAttempt = `UPDATE attempts SET client_id = ?, dialect = ?, state = ?, outcome = ?,
claimed_number = ?, claimed_hash = ?, device_number = ?, device_hash = ?, identified_by = ?,
device_addr = ?, user_agent = ?, created_at = ?, updated_at = ?, data = ?, report_at = ?, deadline = ?
WHERE id = ?`
	// sqlPutAttemptSameDeadline is sqlPutAttempt for the common case of an
	// unchanged deadline: SQLite rewrites an index whose column is assigned,
	// even to its old value, so leaving deadline out spares the page writes
	// of the deadline indexes.
	sqlPutAttemptSameDeadline = `UPDATE attempts SET client_id = ?, dialect = ?, state = ?, outcome = ?,
claimed_number = ?, claimed_hash = ?, device_number = ?, device_hash = ?, identified_by = ?,
device_addr = ?, user_agent = ?, created_at = ?, updated_at = ?, data = ?, report_at = ?
WHERE id = ?`
	// The state list must match the partial index attempts_open_deadline.
	sqlDueAttempts = `SELECT ` + attemptCols + ` FROM attempts
WHERE state IN ('created', 'device_seen') AND deadline < ?
ORDER BY deadline, id LIMIT ?`
	// The WHERE must match the partial index attempts_report_due.
	sqlDueReports = `SELECT ` + attemptCols + ` FROM attempts
WHERE report_at IS NOT NULL AND state NOT IN ('created', 'device_seen') AND report_at <= ?
ORDER BY report_at, id LIMIT ?`
	// sqlForgetDeviceNumbers walks the attempts_deadline index over one
	// window of deadlines.
	sqlForgetDeviceNumbers = `UPDATE attempts SET device_number = ''
WHERE deadline >= ? AND deadline < ? AND state = 'decided' AND device_number <> ''`
	// sqlGCAttempts keeps an attempt whose end is still to be reported.
	sqlGCAttempts = `DELETE FROM attempts WHERE deadline < ? AND report_at IS NULL`
	// sqlGCDeliveries removes ended deliveries; index deliveries_ended.
	sqlGCDeliveries = `DELETE FROM deliveries WHERE state <> 'pending' AND updated_at < ?`
)

// errIDChanged is returned when an UpdateAttempt function changes the ID.
var errIDChanged = errors.New("sqlite: update attempt: the ID may not change")

// CreateAttempt stores a new attempt; store.ErrAlreadyExists if the ID is taken.
func (s *Store) CreateAttempt(ctx context.Context, a store.Attempt) error {
	return s.wr.hold(ctx, func(ctx context.Context) error {
		if err := s.insertAttempt(ctx, a); err != nil {
			return err
		}
		s.ck.wrote()
		return nil
	})
}

// insertAttempt inserts a new attempt; the caller holds the writer.
func (s *Store) insertAttempt(ctx context.Context, a store.Attempt) error {
	res, err := s.createAttempt.ExecContext(ctx, a.ID, a.ClientID, a.Dialect, a.State, a.Outcome,
		a.ClaimedNumber, a.ClaimedHash, a.DeviceNumber, a.DeviceHash, a.IdentifiedBy,
		a.DeviceAddr, store.ValidText(a.UserAgent), unixMicro(a.CreatedAt), unixMicro(a.UpdatedAt), unixMicro(a.Deadline), blob(a.Data),
		optMicro(a.ReportAt))
	return rowChanged("create attempt", res, err, store.ErrAlreadyExists)
}

// GetAttempt returns an attempt or store.ErrNotFound.
func (s *Store) GetAttempt(ctx context.Context, id string) (store.Attempt, error) {
	var a store.Attempt
	err := s.read(ctx, func(ctx context.Context) (err error) {
		a, err = scanAttempt(s.getAttempt.QueryRowContext(ctx, id))
		return err
	})
	if err != nil {
		return store.Attempt{}, notFound("get attempt", err)
	}
	return a, nil
}

// UpdateAttempt applies fn to the current attempt and stores its result, in
// one immediate transaction on the writer connection. If fn returns an error,
// nothing is written and that error is returned as is. fn must not call the
// store.
func (s *Store) UpdateAttempt(ctx context.Context, id string, fn func(store.Attempt) (store.Attempt, error)) (store.Attempt, error) {
	var a store.Attempt
	err := s.wr.tx(ctx, "update attempt", func(ctx context.Context) error {
		old, err := scanAttempt(s.getAttemptW.QueryRowContext(ctx, id))
		if err != nil {
			return notFound("update attempt", err)
		}
		if a, err = fn(old); err != nil {
			return err
		}
		if a.ID != id {
			return errIDChanged
		}
		return s.writeAttempt(ctx, old, a)
	})
	if err != nil {
		return store.Attempt{}, err
	}
	s.ck.wrote()
	return stored(a), nil
}

// writeAttempt stores a, read as old; the caller holds the writer in a
// transaction.
func (s *Store) writeAttempt(ctx context.Context, old, a store.Attempt) error {
	args := []any{a.ClientID, a.Dialect, a.State, a.Outcome,
		a.ClaimedNumber, a.ClaimedHash, a.DeviceNumber, a.DeviceHash, a.IdentifiedBy,
		a.DeviceAddr, store.ValidText(a.UserAgent), unixMicro(a.CreatedAt), unixMicro(a.UpdatedAt), blob(a.Data), optMicro(a.ReportAt)}
	put := s.putAttemptSameDeadline
	if deadline := unixMicro(a.Deadline); deadline != unixMicro(old.Deadline) {
		put = s.putAttempt
		args = append(args, deadline)
	}
	if _, err := put.ExecContext(ctx, append(args, a.ID)...); err != nil {
		return fmt.Errorf("sqlite: update attempt: %w", err)
	}
	return nil
}

// stored returns a as a later GetAttempt returns it.
func stored(a store.Attempt) store.Attempt {
	a.CreatedAt = fromMicro(unixMicro(a.CreatedAt))
	a.UpdatedAt = fromMicro(unixMicro(a.UpdatedAt))
	a.Deadline = fromMicro(unixMicro(a.Deadline))
	if !a.ReportAt.IsZero() {
		a.ReportAt = fromMicro(unixMicro(a.ReportAt))
	}
	a.Data = nonEmpty(a.Data)
	a.UserAgent = store.ValidText(a.UserAgent)
	return a
}

// DueAttempts returns up to limit open attempts (created or device_seen)
// whose deadline is before now, oldest deadline first.
func (s *Store) DueAttempts(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	out, err := s.queryAttempts(ctx, s.dueAttempts, now, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due attempts: %w", err)
	}
	return out, nil
}

// DueReports returns up to limit attempts no longer open whose ReportAt is
// set and not after now, oldest ReportAt first.
func (s *Store) DueReports(ctx context.Context, now time.Time, limit int) ([]store.Attempt, error) {
	out, err := s.queryAttempts(ctx, s.dueReports, now, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due reports: %w", err)
	}
	return out, nil
}

// queryAttempts runs a reader statement that takes a time and a limit and
// returns attempts.
func (s *Store) queryAttempts(ctx context.Context, st *sql.Stmt, now time.Time, limit int) ([]store.Attempt, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []store.Attempt
	err := s.read(ctx, func(ctx context.Context) error {
		rows, err := st.QueryContext(ctx, unixMicro(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAttempt(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// GarbageCollect deletes grants that expired at or before now, then
// attempts whose deadline is more than retain before now. Expired grants are
// deleted in batches (see gcGrants), the attempts in one transaction.
func (s *Store) GarbageCollect(ctx context.Context, now time.Time, retain time.Duration) (store.GCResult, error) {
	var r store.GCResult
	var err error
	if r.Grants, err = s.gcGrants(ctx, now); err != nil {
		return store.GCResult{}, err
	}
	err = s.wr.hold(ctx, func(ctx context.Context) error {
		before := unixMicro(now.Add(-retain))
		res, err := s.gcAttempts.ExecContext(ctx, before)
		if err != nil {
			return err
		}
		if r.Attempts, err = res.RowsAffected(); err != nil {
			return err
		}
		if res, err = s.gcDeliveries.ExecContext(ctx, before); err != nil {
			return err
		}
		r.Deliveries, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return store.GCResult{}, fmt.Errorf("sqlite: garbage collect: %w", err)
	}
	s.ck.wrote()
	return r, nil
}

// ForgetDeviceNumbers clears the device number of decided attempts whose
// deadline is in [from, to), in one statement on the writer.
func (s *Store) ForgetDeviceNumbers(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	err := s.wr.hold(ctx, func(ctx context.Context) error {
		res, err := s.forgetDeviceNumbers.ExecContext(ctx, unixMicro(from), unixMicro(to))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: forget device numbers: %w", err)
	}
	if n > 0 {
		s.ck.wrote()
	}
	return n, nil
}

func scanAttempt(sc scanner) (store.Attempt, error) {
	var (
		a                          store.Attempt
		created, updated, deadline int64
		report                     sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.ClientID, &a.Dialect, &a.State, &a.Outcome, &a.ClaimedNumber, &a.ClaimedHash,
		&a.DeviceNumber, &a.DeviceHash, &a.IdentifiedBy, &a.DeviceAddr, &a.UserAgent,
		&created, &updated, &deadline, &a.Data, &report); err != nil {
		return store.Attempt{}, err
	}
	a.CreatedAt, a.UpdatedAt, a.Deadline = fromMicro(created), fromMicro(updated), fromMicro(deadline)
	a.ReportAt = fromOptMicro(report)
	a.Data = nonEmpty(a.Data)
	return a, nil
}
