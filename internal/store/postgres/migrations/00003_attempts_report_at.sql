-- attempts.report_at: when set, the attempt's end must still be reported by
-- its dialect (a KPN webhook); NULL when there is nothing to report. A
-- dialect sets it when it starts the attempt and clears it in the write
-- that records the report as enqueued, so a report lost to a crash or a
-- failed enqueue is found again by DueReports. Adding a nullable column
-- rewrites nothing; its index is 00004.

-- +goose Up
ALTER TABLE attempts ADD COLUMN report_at timestamptz;

-- +goose Down
ALTER TABLE attempts DROP COLUMN report_at;
