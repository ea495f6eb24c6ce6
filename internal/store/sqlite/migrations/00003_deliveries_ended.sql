-- GarbageCollect removes webhook deliveries that ended (delivered or
-- failed) more than the retention ago; this index finds them without
-- scanning the pending ones. The WHERE must match the query's.

-- +goose Up
CREATE INDEX deliveries_ended ON deliveries (updated_at) WHERE state <> 'pending';

-- +goose Down
DROP INDEX deliveries_ended;
