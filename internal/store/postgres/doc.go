// Package postgres is the store.Store backend for several gateway replicas
// sharing one PostgreSQL database: any replica can serve any step of any
// attempt.
//
// It uses a jackc/pgx/v5 connection pool (pgxpool), whose statement cache
// prepares each query once per connection. The schema is migrated on Open
// with goose, from migrations embedded in the binary, under a PostgreSQL
// advisory lock so that replicas starting together migrate once.
//
// # Concurrency
//
//   - UpdateAttempt locks the row with SELECT ... FOR UPDATE in a
//     transaction, so concurrent updates of one attempt run one after the
//     other and none is lost. The transaction is pipelined: BEGIN and the
//     SELECT go in one round trip, the UPDATE and COMMIT in another. The
//     function passed to UpdateAttempt runs while the row lock is held; it
//     must not call back into the store for the same attempt.
//   - ConsumeGrant is one DELETE ... RETURNING statement: of concurrent
//     callers exactly one gets the row.
//   - PutGrant, CreateClient, CreateAttempt and EnqueueDelivery are single
//     INSERT ... ON CONFLICT statements, safe against concurrent inserts.
//   - ClaimDeliveries picks due rows with FOR UPDATE SKIP LOCKED, so
//     replicas claiming at once never wait for, nor share, a delivery.
//
// # Configuration
//
// The DSN is anything pgx accepts (a postgres:// URL or key=value pairs).
// Runtime parameters such as search_path may be set in it, which is how the
// tests give every test its own schema.
package postgres
