-- GarbageCollect removes webhook deliveries that ended (delivered or
-- failed) more than the retention ago; this index finds them without
-- scanning the pending ones. The WHERE must match the query's.
--
-- Built CONCURRENTLY (outside a transaction) so that replicas still
-- running keep writing deliveries while it is built.

-- A concurrent build that fails half-way (the replica killed during a
-- rolling deploy, a lock or statement timeout) leaves an INVALID index
-- under the name, and the migration is not recorded: it runs again at the
-- next start. The index is dropped first so that this run builds it anew;
-- IF NOT EXISTS alone would keep the invalid one for good, unused by the
-- queries it is for and still updated by every write.

-- +goose NO TRANSACTION
-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS deliveries_ended;
CREATE INDEX CONCURRENTLY deliveries_ended ON deliveries (updated_at) WHERE state <> 'pending';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_ended;
