-- numgate schema for PostgreSQL. Times are timestamptz (microseconds); the
-- zero time.Time is 0001-01-01 00:00:00+00. Empty byte strings and lists are
-- NULL. IDs and keys compare bytewise (COLLATE "C"), whatever the database's
-- locale, so that ListClients and the tie-breaks order alike on every backend.

-- +goose Up
CREATE TABLE clients (
    id            text COLLATE "C" PRIMARY KEY,
    secret_hash   bytea,
    secret_salt   bytea,
    jwks          bytea,
    redirect_uris text[],
    scopes        text[],
    id_token_alg  text        NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE attempts (
    id             text COLLATE "C" PRIMARY KEY,
    client_id      text        NOT NULL,
    dialect        text        NOT NULL,
    state          text        NOT NULL,
    outcome        text        NOT NULL,
    claimed_number text        NOT NULL,
    claimed_hash   text        NOT NULL,
    device_number  text        NOT NULL,
    device_hash    text        NOT NULL,
    identified_by  text        NOT NULL,
    device_addr    text        NOT NULL,
    user_agent     text        NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deadline       timestamptz NOT NULL,
    data           bytea
);

-- DueAttempts: open attempts by deadline. The WHERE must match the query's.
CREATE INDEX attempts_open_deadline ON attempts (deadline, id)
    WHERE state IN ('created', 'device_seen');
-- GarbageCollect.
CREATE INDEX attempts_deadline ON attempts (deadline);

CREATE TABLE grants (
    kind       text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    client_id  text        NOT NULL,
    attempt_id text        NOT NULL,
    data       bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE deliveries (
    id          text COLLATE "C" PRIMARY KEY,
    kind        text        NOT NULL,
    url         text        NOT NULL,
    headers     jsonb,
    body        bytea,
    state       text        NOT NULL,
    tries       integer     NOT NULL,
    next_try_at timestamptz NOT NULL,
    lease_until timestamptz NOT NULL,
    last_error  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- ClaimDeliveries: pending deliveries by due time. The WHERE must match the query's.
CREATE INDEX deliveries_due ON deliveries (next_try_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE deliveries;
DROP TABLE grants;
DROP TABLE attempts;
DROP TABLE clients;
