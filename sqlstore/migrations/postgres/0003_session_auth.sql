-- How each session began: auth_methods holds the RFC 8176 "amr" values
-- (authkit.Session.AuthMethods) joined by single spaces, in the order they
-- were used, and is empty when there are none; auth_time is when the user
-- proved who they are.
--
-- Sessions that exist when this runs were all password sign-ins, so they
-- get 'pwd' and their created_at. The whole migration runs in one
-- transaction, and ALTER TABLE locks the table until it commits, so the
-- UPDATE sees every row and nothing else inserts meanwhile.
--
-- The defaults are what the Store writes for a session without methods and
-- with the zero time (Go's time.Time{}), so that code of the previous
-- version, which names neither column, can go on creating sessions while
-- hosts are upgraded one by one.
ALTER TABLE authkit_sessions
    ADD COLUMN auth_methods text NOT NULL DEFAULT '',
    ADD COLUMN auth_time    timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00';

UPDATE authkit_sessions SET auth_methods = 'pwd', auth_time = created_at;
