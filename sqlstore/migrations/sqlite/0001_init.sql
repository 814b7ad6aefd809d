-- authkit schema for SQLite.
--
-- Text is compared byte by byte (the BINARY collation). email_lower holds
-- the email lower-cased by the application (strings.ToLower), so that
-- uniqueness and look-ups ignore case the same way on every engine;
-- anything that inserts users directly must fill it. Times are INTEGER
-- microseconds since the Unix epoch (UTC); booleans are 0 or 1.

CREATE TABLE authkit_users (
    id             TEXT NOT NULL PRIMARY KEY,
    email          TEXT NOT NULL,
    email_lower    TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    active         INTEGER NOT NULL,
    email_verified INTEGER NOT NULL,
    token_version  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- One-time tokens (email verification, password reset). Only the SHA-256
-- of the token is kept; used_at is NULL until the token is consumed.
CREATE TABLE authkit_tokens (
    hash       TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE INDEX authkit_tokens_user_id_purpose_idx ON authkit_tokens (user_id, purpose);

CREATE INDEX authkit_tokens_expires_at_idx ON authkit_tokens (expires_at);

-- Sessions: the server side of refresh tokens. rotated_at is NULL and
-- previous_hash empty before the first rotation.
CREATE TABLE authkit_sessions (
    id            TEXT NOT NULL PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
    refresh_hash  TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    rotated_at    INTEGER,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    user_agent    TEXT NOT NULL,
    client_addr   TEXT NOT NULL
);

CREATE INDEX authkit_sessions_user_id_created_at_idx ON authkit_sessions (user_id, created_at);

CREATE INDEX authkit_sessions_expires_at_idx ON authkit_sessions (expires_at);

CREATE INDEX authkit_sessions_last_used_at_idx ON authkit_sessions (last_used_at);
