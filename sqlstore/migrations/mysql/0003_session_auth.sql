-- How each session began: auth_methods holds the RFC 8176 "amr" values
-- (authkit.Session.AuthMethods) joined by single spaces, in the order they
-- were used, and is empty when there are none; auth_time is when the user
-- proved who they are, as the UTC wall clock like the other times.
--
-- Sessions that exist when this runs were all password sign-ins, so they
-- get 'pwd' and their created_at. MySQL commits each statement on its own,
-- so the steps can each run again after a failure part way:
--
--  1. Add the columns, auth_time nullable, unless they exist. MySQL has no
--     ADD COLUMN IF NOT EXISTS (MariaDB has), so the ALTER TABLE is
--     prepared from what information_schema says. A TEXT column takes a
--     default only as an expression, hence ('').
--  2. Fill the rows whose auth_time is NULL: those that existed, and any
--     that code of the previous version inserted in the meantime, which were
--     password sign-ins as well.
--  3. Make auth_time NOT NULL.
--
-- The defaults are what the Store writes for a session without methods and
-- with the zero time (Go's time.Time{}), so that code of the previous
-- version, which names neither column, can go on creating sessions while
-- hosts are upgraded one by one.
SET @authkit_0003 = IF(
    EXISTS (SELECT 1 FROM information_schema.columns
            WHERE table_schema = DATABASE() AND table_name = 'authkit_sessions' AND column_name = 'auth_time'),
    'DO 0',
    'ALTER TABLE authkit_sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT (''''), ADD COLUMN auth_time DATETIME(6) NULL');

PREPARE authkit_0003 FROM @authkit_0003;

EXECUTE authkit_0003;

DEALLOCATE PREPARE authkit_0003;

SET @authkit_0003 = NULL;

UPDATE authkit_sessions SET auth_methods = 'pwd', auth_time = created_at WHERE auth_time IS NULL;

ALTER TABLE authkit_sessions MODIFY auth_time DATETIME(6) NOT NULL DEFAULT '0001-01-01 00:00:00.000000';
