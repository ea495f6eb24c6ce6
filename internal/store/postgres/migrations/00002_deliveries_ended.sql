-- GarbageCollect removes webhook deliveries that ended (delivered or
-- failed) more than the retention ago; this index finds them without
-- scanning the pending ones. The WHERE must match the query's.
--
-- Built CONCURRENTLY (outside a transaction) so that replicas still
-- running keep writing deliveries while it is built.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_ended ON deliveries (updated_at) WHERE state <> 'pending';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_ended;
