-- attempts_report_due holds only the attempts that ended and are not yet
-- reported: normally none, or the few between their decision and their
-- report. The WHERE must match the query's (DueReports).
--
-- Built CONCURRENTLY (outside a transaction): attempts are kept for a
-- day, and a plain CREATE INDEX would block every replica's writes to
-- them while it scans the table.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS attempts_report_due ON attempts (report_at, id)
    WHERE report_at IS NOT NULL AND state NOT IN ('created', 'device_seen');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS attempts_report_due;
