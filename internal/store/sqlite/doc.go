// Package sqlite is the embedded store.Store backend: one SQLite file, opened
// with the pure-Go driver modernc.org/sqlite (no cgo), so that `numgate
// serve` needs nothing else.
//
// # Concurrency
//
// SQLite allows one writer at a time. The store keeps two connection pools on
// the same file: a pool of reader connections, which in WAL mode never wait
// for the writer, and a pool of exactly one writer connection, which the
// store takes at Open and holds until Close (see writer.go). Every write
// (including the read-modify-write of UpdateAttempt and RedeemGrant, which
// run in one BEGIN IMMEDIATE transaction) takes turns on that connection, so
// writers queue in Go instead of failing with SQLITE_BUSY; busy_timeout
// covers the remaining case of another process writing the same file.
// Single-use values are consumed with one DELETE ... RETURNING statement or
// inside one such transaction. A write transaction, once it has the
// connection, runs to its end even if the caller's context is cancelled.
//
// Because of this, the functions passed to UpdateAttempt and RedeemGrant
// must not call back into the store: they run while the writer connection
// is held. It should be
// quick and free of I/O.
//
// # Durability and checkpoints
//
// The journal is a write-ahead log with synchronous=NORMAL: a commit is a
// few page writes to the -wal file and no fsync; the database stays
// consistent through a power loss, which may lose only the latest commits.
// The WAL is copied back into the database file by a background goroutine
// (see checkpoint.go) rather than inside a request's commit, so no request
// waits for the fsyncs of a checkpoint.
//
// # Garbage collection
//
// Grants have no index on expires_at (each would be one more B-tree page to
// write per grant, see migration 00002). GarbageCollect pages through the
// grants table in key order on a reader and deletes the expired ones in
// batches on the writer, so the writer is never held for the scan.
//
// # Storage
//
// Times are stored as INTEGER unix microseconds in UTC (the precision of
// PostgreSQL, so both backends round alike; microseconds also cover the zero
// time.Time, which nanoseconds do not). Lists and header maps are JSON text.
// The schema is migrated on Open with goose from migrations embedded in the
// binary.
//
// # Paths
//
// Open takes a file path, a "file:" URI, or ":memory:" for a private
// in-memory database (one connection; for tests).
package sqlite
