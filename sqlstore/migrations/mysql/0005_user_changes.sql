-- The change log that Store.WatchUsers polls (authkit.UserWatcher), so that
-- every instance of a service drops a user from its cache when another
-- instance, or the host through the Store, changes or deletes the user.
--
-- UpdateUser (but an update of updated_at alone) and DeleteUser add a row in
-- the transaction of the change, so a row exists exactly when the change was
-- committed. seq numbers the changes without gaps, in the order of their
-- commits: each change takes the next number from the single row of
-- authkit_user_change_seq, whose row lock it holds until it commits. (An
-- AUTO_INCREMENT value is taken at insert time, so a watcher could see a
-- later number commit before an earlier one and skip it.) changed_at lets
-- the Store delete rows older than a minute; the newest row is always kept.
--
-- Code of version 4 writes no rows: the changes it makes reach other
-- instances' caches only through their TTL.
-- Each statement can run again after a failure part way.
CREATE TABLE IF NOT EXISTS authkit_user_changes (
    seq        BIGINT NOT NULL,
    user_id    VARBINARY(64) NOT NULL,
    changed_at DATETIME(6) NOT NULL,
    PRIMARY KEY (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS authkit_user_change_seq (
    id  TINYINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB;

INSERT IGNORE INTO authkit_user_change_seq (id, seq) VALUES (1, 0);
