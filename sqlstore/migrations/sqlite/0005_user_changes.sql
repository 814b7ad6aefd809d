-- The change log that Store.WatchUsers polls (authkit.UserWatcher), so that
-- every instance of a service drops a user from its cache when another
-- instance, or the host through the Store, changes or deletes the user.
--
-- UpdateUser (but an update of updated_at alone) and DeleteUser add a row in
-- the transaction of the change, so a row exists exactly when the change was
-- committed. seq numbers the changes in the order of their commits (SQLite
-- has one writer at a time) and, being AUTOINCREMENT, never reuses a number
-- after rows are deleted. changed_at, in microseconds since the Unix epoch
-- like the other times, lets the Store delete rows older than a minute; the
-- newest row is always kept.
--
-- Code of version 4 writes no rows: the changes it makes reach other
-- instances' caches only through their TTL.
CREATE TABLE authkit_user_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL,
    changed_at INTEGER NOT NULL
);
