-- Second factors (authkit.FactorStore).
--
-- authkit_totp holds a user's TOTP factor, at most one: secret is the seed
-- encrypted by the Authenticator (AES-GCM) under the key key_id names, never
-- the seed itself. confirmed_at is NULL while the factor is pending, and
-- last_step is the last time step whose code was accepted (0 before any).
--
-- authkit_recovery_codes holds a user's recovery codes: only a hash of each
-- code is kept; used_at is NULL until the code is used.
--
-- Both go with their user (ON DELETE CASCADE), so that code of the previous
-- version, which does not know them, deletes them with the user as well.
CREATE TABLE authkit_totp (
    user_id      text COLLATE "C" NOT NULL,
    secret       bytea NOT NULL,
    key_id       text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL,
    CONSTRAINT authkit_totp_pkey PRIMARY KEY (user_id),
    CONSTRAINT authkit_totp_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
);

CREATE TABLE authkit_recovery_codes (
    user_id    text COLLATE "C" NOT NULL,
    hash       text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT authkit_recovery_codes_pkey PRIMARY KEY (user_id, hash),
    CONSTRAINT authkit_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
);
