-- attempts.report_at: when set (unix microseconds), the attempt's end must
-- still be reported by its dialect (a KPN webhook); NULL when there is
-- nothing to report. A dialect sets it when it starts the attempt and
-- clears it in the write that records the report as enqueued, so a report
-- lost to a crash or a failed enqueue is found again by DueReports.
--
-- attempts_report_due holds only the attempts that ended and are not yet
-- reported: normally none, or the few between their decision and their
-- report. The WHERE must match the query's.

-- +goose Up
ALTER TABLE attempts ADD COLUMN report_at INTEGER;
CREATE INDEX attempts_report_due ON attempts (report_at, id)
    WHERE report_at IS NOT NULL AND state NOT IN ('created', 'device_seen');

-- +goose Down
DROP INDEX attempts_report_due;
ALTER TABLE attempts DROP COLUMN report_at;
