-- Second factors (authkit.FactorStore).
--
-- authkit_totp holds a user's TOTP factor, at most one: secret is the seed
-- encrypted by the Authenticator (AES-GCM) under the key key_id names, never
-- the seed itself. confirmed_at is NULL while the factor is pending, and
-- last_step is the last time step whose code was accepted (0 before any).
--
-- authkit_recovery_codes holds a user's recovery codes: only a hash of each
-- code is kept; used_at is NULL until the code is used. Times are INTEGER
-- microseconds since the Unix epoch, like the other times.
--
-- Both go with their user (ON DELETE CASCADE, when the connection enforces
-- foreign keys), so that code of the previous version, which does not know
-- them, deletes them with the user as well.
CREATE TABLE authkit_totp (
    user_id      TEXT NOT NULL PRIMARY KEY REFERENCES authkit_users (id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL
);

CREATE TABLE authkit_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES authkit_users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, hash)
);
