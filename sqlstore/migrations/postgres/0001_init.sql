-- authkit schema for PostgreSQL.
--
-- Identifiers and hashes use the "C" collation: they are compared byte by
-- byte. email_lower holds the email lower-cased by the application
-- (strings.ToLower), so that uniqueness and look-ups ignore case the same
-- way on every engine; anything that inserts users directly must fill it.

CREATE TABLE authkit_users (
    id             text COLLATE "C" NOT NULL,
    email          text NOT NULL,
    email_lower    text COLLATE "C" NOT NULL,
    display_name   text NOT NULL,
    password_hash  text COLLATE "C" NOT NULL,
    active         boolean NOT NULL,
    email_verified boolean NOT NULL,
    token_version  bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT authkit_users_pkey PRIMARY KEY (id),
    CONSTRAINT authkit_users_email_lower_key UNIQUE (email_lower)
);

-- One-time tokens (email verification, password reset). Only the SHA-256
-- of the token is kept; used_at is NULL until the token is consumed.
CREATE TABLE authkit_tokens (
    hash       text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    purpose    text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT authkit_tokens_pkey PRIMARY KEY (hash),
    CONSTRAINT authkit_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
);

CREATE INDEX authkit_tokens_user_id_purpose_idx ON authkit_tokens (user_id, purpose);

CREATE INDEX authkit_tokens_expires_at_idx ON authkit_tokens (expires_at);

-- Sessions: the server side of refresh tokens. rotated_at is NULL and
-- previous_hash empty before the first rotation.
CREATE TABLE authkit_sessions (
    id            text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    refresh_hash  text COLLATE "C" NOT NULL,
    previous_hash text COLLATE "C" NOT NULL,
    rotated_at    timestamptz,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    user_agent    text NOT NULL,
    client_addr   text NOT NULL,
    CONSTRAINT authkit_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT authkit_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
);

CREATE INDEX authkit_sessions_user_id_created_at_idx ON authkit_sessions (user_id, created_at);

CREATE INDEX authkit_sessions_expires_at_idx ON authkit_sessions (expires_at);

CREATE INDEX authkit_sessions_last_used_at_idx ON authkit_sessions (last_used_at);
