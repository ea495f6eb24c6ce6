-- numgate schema for SQLite. Times are INTEGER unix microseconds (UTC); the
-- zero time.Time is -62135596800000000. Empty byte strings and lists are NULL.

-- +goose Up
CREATE TABLE clients (
    id            TEXT    NOT NULL PRIMARY KEY,
    secret_hash   BLOB,
    secret_salt   BLOB,
    jwks          BLOB,
    redirect_uris TEXT,             -- JSON array of strings
    scopes        TEXT,             -- JSON array of strings
    id_token_alg  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE attempts (
    id             TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    dialect        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    claimed_number TEXT    NOT NULL,
    claimed_hash   TEXT    NOT NULL,
    device_number  TEXT    NOT NULL,
    device_hash    TEXT    NOT NULL,
    identified_by  TEXT    NOT NULL,
    device_addr    TEXT    NOT NULL,
    user_agent     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deadline       INTEGER NOT NULL,
    data           BLOB
) STRICT;

-- DueAttempts: open attempts by deadline. The WHERE must match the query's.
CREATE INDEX attempts_open_deadline ON attempts (deadline, id)
    WHERE state IN ('created', 'device_seen');
-- GarbageCollect.
CREATE INDEX attempts_deadline ON attempts (deadline);

CREATE TABLE grants (
    kind       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    attempt_id TEXT    NOT NULL,
    data       BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE deliveries (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    headers     TEXT,               -- JSON object of strings
    body        BLOB,
    state       TEXT    NOT NULL,
    tries       INTEGER NOT NULL,
    next_try_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- ClaimDeliveries: pending deliveries by due time. The WHERE must match the query's.
CREATE INDEX deliveries_due ON deliveries (next_try_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE deliveries;
DROP TABLE grants;
DROP TABLE attempts;
DROP TABLE clients;
