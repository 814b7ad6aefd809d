-- How each session began: auth_methods holds the RFC 8176 "amr" values
-- (authkit.Session.AuthMethods) joined by single spaces, in the order they
-- were used, and is empty when there are none; auth_time is when the user
-- proved who they are, in microseconds since the Unix epoch like the other
-- times.
--
-- Sessions that exist when this runs were all password sign-ins, so they
-- get 'pwd' and their created_at. The whole migration runs in one
-- transaction that holds the database's write lock, so the UPDATE sees every
-- row and nothing else inserts meanwhile.
--
-- SQLite adds a NOT NULL column only with a constant default. The defaults
-- are what the Store writes for a session without methods and with the zero
-- time (Go's time.Time{}, -62135596800000000 microseconds), so that code of
-- the previous version, which names neither column, can go on creating
-- sessions.
ALTER TABLE authkit_sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';

ALTER TABLE authkit_sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT -62135596800000000;

UPDATE authkit_sessions SET auth_methods = 'pwd', auth_time = created_at;
