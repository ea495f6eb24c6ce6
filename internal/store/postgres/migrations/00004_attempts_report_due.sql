-- attempts_report_due holds only the attempts that ended and are not yet
-- reported: normally none, or the few between their decision and their
-- report. The WHERE must match the query's (DueReports).
--
-- Built CONCURRENTLY (outside a transaction): attempts are kept for a
-- day, and a plain CREATE INDEX would block every replica's writes to
-- them while it scans the table.

-- A concurrent build that fails half-way (the replica killed during a
-- rolling deploy, a lock or statement timeout) leaves an INVALID index
-- under the name, and the migration is not recorded: it runs again at the
-- next start. The index is dropped first so that this run builds it anew;
-- IF NOT EXISTS alone would keep the invalid one for good, unused by the
-- queries it is for and still updated by every write.

-- +goose NO TRANSACTION
-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS attempts_report_due;
CREATE INDEX CONCURRENTLY attempts_report_due ON attempts (report_at, id)
    WHERE report_at IS NOT NULL AND state NOT IN ('created', 'device_seen');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS attempts_report_due;
