-- authkit schema for MySQL 8 and MariaDB 10.5+.
--
-- MySQL commits each DDL statement on its own, so every statement here can
-- run again after a failure part way (IF NOT EXISTS, indexes declared inside
-- CREATE TABLE).
--
-- Identifiers, hashes and email_lower are VARBINARY: compared byte by byte,
-- with no collation that would fold accents or ignore trailing spaces.
-- email_lower holds the email lower-cased by the application
-- (strings.ToLower), so that uniqueness and look-ups ignore case the same
-- way on every engine; anything that inserts users directly must fill it.
-- Times are DATETIME(6) holding the UTC wall clock.

CREATE TABLE IF NOT EXISTS authkit_users (
    id             VARBINARY(64) NOT NULL,
    email          VARCHAR(320) NOT NULL,
    email_lower    VARBINARY(1024) NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  VARBINARY(1024) NOT NULL,
    active         BOOLEAN NOT NULL,
    email_verified BOOLEAN NOT NULL,
    token_version  BIGINT NOT NULL,
    created_at     DATETIME(6) NOT NULL,
    updated_at     DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY authkit_users_email_lower_key (email_lower)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One-time tokens (email verification, password reset). Only the SHA-256
-- of the token is kept; used_at is NULL until the token is consumed.
CREATE TABLE IF NOT EXISTS authkit_tokens (
    hash       VARBINARY(128) NOT NULL,
    user_id    VARBINARY(64) NOT NULL,
    purpose    VARBINARY(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6) NULL,
    PRIMARY KEY (hash),
    KEY authkit_tokens_user_id_purpose_idx (user_id, purpose),
    KEY authkit_tokens_expires_at_idx (expires_at),
    CONSTRAINT authkit_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Sessions: the server side of refresh tokens. rotated_at is NULL and
-- previous_hash empty before the first rotation.
CREATE TABLE IF NOT EXISTS authkit_sessions (
    id            VARBINARY(64) NOT NULL,
    user_id       VARBINARY(64) NOT NULL,
    refresh_hash  VARBINARY(128) NOT NULL,
    previous_hash VARBINARY(128) NOT NULL,
    rotated_at    DATETIME(6) NULL,
    created_at    DATETIME(6) NOT NULL,
    last_used_at  DATETIME(6) NOT NULL,
    expires_at    DATETIME(6) NOT NULL,
    user_agent    TEXT NOT NULL,
    client_addr   TEXT NOT NULL,
    PRIMARY KEY (id),
    KEY authkit_sessions_user_id_created_at_idx (user_id, created_at),
    KEY authkit_sessions_expires_at_idx (expires_at),
    KEY authkit_sessions_last_used_at_idx (last_used_at),
    CONSTRAINT authkit_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES authkit_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
