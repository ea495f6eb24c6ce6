-- Fewer B-trees per write (docs/design/2026-11-23-performance.md): every
-- page a transaction changes is one more WAL frame at commit.
--
-- attempts becomes WITHOUT ROWID: a row lives in its primary-key B-tree
-- instead of a rowid table plus the automatic index on id, so a new attempt
-- dirties one B-tree fewer and a lookup by id walks one B-tree instead of two.
--
-- grants_expires_at goes: every grant written or used up also changed it,
-- and only GarbageCollect read it; GarbageCollect now finds expired grants
-- by scanning grants on a reader connection.

-- +goose Up
CREATE TABLE attempts_new (
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
) STRICT, WITHOUT ROWID;
INSERT INTO attempts_new (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
        device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data)
    SELECT id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
        device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data
    FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
-- DueAttempts: open attempts by deadline. The WHERE must match the query's.
CREATE INDEX attempts_open_deadline ON attempts (deadline, id)
    WHERE state IN ('created', 'device_seen');
-- GarbageCollect (attempts are kept for a day: too many to scan).
CREATE INDEX attempts_deadline ON attempts (deadline);

DROP INDEX grants_expires_at;

-- +goose Down
CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE attempts_old (
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
INSERT INTO attempts_old (id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
        device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data)
    SELECT id, client_id, dialect, state, outcome, claimed_number, claimed_hash,
        device_number, device_hash, identified_by, device_addr, user_agent, created_at, updated_at, deadline, data
    FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_old RENAME TO attempts;
CREATE INDEX attempts_open_deadline ON attempts (deadline, id)
    WHERE state IN ('created', 'device_seen');
CREATE INDEX attempts_deadline ON attempts (deadline);
