package sqlstore

import (
	"strconv"
	"strings"
)

// The statements of the Store, with ? placeholders that sqlDialect.bind
// turns into the engine's style. They are the same text on every engine
// apart from the placeholders, RETURNING (only used where supported) and the
// row locks of lockSuffix.

const (
	userColumns = "id, email, display_name, password_hash, active, email_verified, token_version, created_at, updated_at"
	// #nosec G101 -- column lists, not credentials
	tokenColumns   = "hash, user_id, purpose, created_at, expires_at, used_at"
	sessionColumns = "id, user_id, refresh_hash, previous_hash, rotated_at, created_at, last_used_at, expires_at, user_agent, client_addr, auth_methods, auth_time"
	totpColumns    = "user_id, secret, key_id, created_at, confirmed_at, last_step"
	// recoveryCodeRow is the VALUES row of one new recovery code: its user
	// id, hash and creation time, unused.
	recoveryCodeRow = "(?, ?, ?, NULL)"
)

// queries holds the statements bound for one engine.
type queries struct {
	createUser, userByID, userByEmail                string
	deleteUser, deleteUserSessions, deleteAllTokens  string
	updateUser, updateUserIf, userPasswordHash       string
	endSessions                                      string
	createToken, consumeToken, consumeTokenReturning string
	token, deleteUserTokens, deleteExpiredTokens     string
	createSession, session, userSessions             string
	rotateSession, rotateSessionReturning            string
	sessionRefreshHash, sessionRefreshHashLocked     string
	deleteSession, deleteExpiredSessions, deleteIdle string
	allowLimit, insertLimit, limitTAT                string
	deleteLimit, deleteStaleLimits                   string
	lockUser                                         string
	putTOTP, totp, totpConfirmedAt                   string
	deletePendingTOTP, deleteTOTP                    string
	confirmTOTP, useTOTPStep                         string
	deleteRecoveryCodes, useRecoveryCode             string
	recoveryCodesLeft                                string
	notifyUser, userChannel                          string
	nextChangeSeq, insertChange, trimChanges         string
	lastChange, changesAfter                         string
}

// newQueries binds the statements for d.
func newQueries(d sqlDialect) queries {
	const updateUser = "UPDATE authkit_users SET" +
		" password_hash = COALESCE(?, password_hash)," +
		" display_name = COALESCE(?, display_name)," +
		" active = COALESCE(?, active)," +
		" email_verified = COALESCE(?, email_verified)," +
		" token_version = token_version + ?," +
		" updated_at = ?" +
		" WHERE id = ?"
	// #nosec G101 -- an SQL statement that names a column, not a credential
	const consumeToken = "UPDATE authkit_tokens SET used_at = ? WHERE hash = ? AND purpose = ? AND used_at IS NULL"
	const rotateSession = "UPDATE authkit_sessions SET" +
		" previous_hash = ?, refresh_hash = ?, rotated_at = ?, last_used_at = ?, expires_at = ?" +
		" WHERE id = ? AND refresh_hash = ?"
	return queries{
		createUser: d.bind("INSERT INTO authkit_users (id, email, email_lower, display_name, password_hash, active, email_verified, token_version, created_at, updated_at)" +
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		userByID:           d.bind("SELECT " + userColumns + " FROM authkit_users WHERE id = ?"),
		userByEmail:        d.bind("SELECT " + userColumns + " FROM authkit_users WHERE email_lower = ?"),
		deleteUser:         d.bind("DELETE FROM authkit_users WHERE id = ?"),
		deleteUserSessions: d.bind("DELETE FROM authkit_sessions WHERE user_id = ?"),
		deleteAllTokens:    d.bind("DELETE FROM authkit_tokens WHERE user_id = ?"),
		updateUser:         d.bind(updateUser),
		updateUserIf:       d.bind(updateUser + " AND password_hash = ?"),
		userPasswordHash:   d.bind("SELECT password_hash FROM authkit_users WHERE id = ?" + d.lockSuffix),
		endSessions:        d.bind("DELETE FROM authkit_sessions WHERE user_id = ? AND id <> ?"),

		createToken:           d.bind("INSERT INTO authkit_tokens (" + tokenColumns + ") VALUES (?, ?, ?, ?, ?, ?)"),
		consumeToken:          d.bind(consumeToken),
		consumeTokenReturning: d.bind(consumeToken + " RETURNING " + tokenColumns),
		token:                 d.bind("SELECT " + tokenColumns + " FROM authkit_tokens WHERE hash = ?"),
		deleteUserTokens:      d.bind("DELETE FROM authkit_tokens WHERE user_id = ? AND purpose = ?"),
		deleteExpiredTokens:   d.bind("DELETE FROM authkit_tokens WHERE expires_at < ?"),

		createSession:            d.bind("INSERT INTO authkit_sessions (" + sessionColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		session:                  d.bind("SELECT " + sessionColumns + " FROM authkit_sessions WHERE id = ?"),
		userSessions:             d.bind("SELECT " + sessionColumns + " FROM authkit_sessions WHERE user_id = ? ORDER BY created_at, id"),
		rotateSession:            d.bind(rotateSession),
		rotateSessionReturning:   d.bind(rotateSession + " RETURNING " + sessionColumns),
		sessionRefreshHash:       d.bind("SELECT refresh_hash FROM authkit_sessions WHERE id = ?"),
		sessionRefreshHashLocked: d.bind("SELECT refresh_hash FROM authkit_sessions WHERE id = ?" + d.lockSuffix),
		deleteSession:            d.bind("DELETE FROM authkit_sessions WHERE id = ? AND user_id = ?"),
		deleteExpiredSessions:    d.bind("DELETE FROM authkit_sessions WHERE expires_at < ?"),
		deleteIdle:               d.bind("DELETE FROM authkit_sessions WHERE expires_at < ? OR last_used_at < ?"),

		// allowLimit takes one event if the budget allows it (the GCRA of
		// authkit.Limit.Decide in SQL): parameters now, now+every, every,
		// key and now+tolerance, all in microseconds.
		allowLimit: d.bind("UPDATE authkit_rate_limits" +
			" SET tat = CASE WHEN tat < ? THEN ? ELSE tat + ? END" +
			" WHERE limit_key = ? AND tat <= ?"),
		insertLimit:       d.bind(insertLimit(d.engine)),
		limitTAT:          d.bind("SELECT tat FROM authkit_rate_limits WHERE limit_key = ?"),
		deleteLimit:       d.bind("DELETE FROM authkit_rate_limits WHERE limit_key = ?"),
		deleteStaleLimits: d.bind("DELETE FROM authkit_rate_limits WHERE tat <= ?"),

		// lockUser locks the user's row, where the engine locks rows, for
		// the rest of the transaction; see Store.txUserWrite.
		lockUser: d.bind("SELECT id FROM authkit_users WHERE id = ?" + d.lockSuffix),

		putTOTP:           d.bind("INSERT INTO authkit_totp (" + totpColumns + ") VALUES (?, ?, ?, ?, NULL, 0)"),
		totp:              d.bind("SELECT " + totpColumns + " FROM authkit_totp WHERE user_id = ?"),
		totpConfirmedAt:   d.bind("SELECT confirmed_at FROM authkit_totp WHERE user_id = ?"),
		deletePendingTOTP: d.bind("DELETE FROM authkit_totp WHERE user_id = ? AND confirmed_at IS NULL"),
		deleteTOTP:        d.bind("DELETE FROM authkit_totp WHERE user_id = ?"),
		confirmTOTP:       d.bind("UPDATE authkit_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL"),
		useTOTPStep:       d.bind("UPDATE authkit_totp SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?"),

		deleteRecoveryCodes: d.bind("DELETE FROM authkit_recovery_codes WHERE user_id = ?"),
		useRecoveryCode:     d.bind("UPDATE authkit_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL"),
		recoveryCodesLeft:   d.bind("SELECT COUNT(*) FROM authkit_recovery_codes WHERE user_id = ? AND used_at IS NULL"),

		// The changes WatchUsers reports; see watch.go. On PostgreSQL a
		// notification on a channel of the current schema's own.
		notifyUser:    d.bind("SELECT pg_notify(" + userChannel + ", ?)"),
		userChannel:   "SELECT " + userChannel,
		nextChangeSeq: "UPDATE authkit_user_change_seq SET seq = LAST_INSERT_ID(seq + 1) WHERE id = 1",
		insertChange:  d.bind(insertChange(d.engine)),
		trimChanges:   d.bind("DELETE FROM authkit_user_changes WHERE seq < ? AND changed_at < ?"),
		lastChange:    "SELECT COALESCE(MAX(seq), 0) FROM authkit_user_changes",
		changesAfter:  d.bind("SELECT seq, user_id FROM authkit_user_changes WHERE seq > ? ORDER BY seq LIMIT " + strconv.Itoa(changesPerPoll)),
	}
}

// userChannel is the SQL expression of the PostgreSQL channel on which
// user changes are told: authkit_users_ and the MD5 of the current schema
// (the schema of the tables), which keeps it within the 63 bytes of a
// channel name.
const userChannel = "'authkit_users_' || md5(COALESCE(current_schema(), ''))"

// insertChange returns the statement that adds a row to
// authkit_user_changes: with the number taken from the counter on MySQL,
// numbered by SQLite itself elsewhere.
func insertChange(e Engine) string {
	if e == MySQL {
		return "INSERT INTO authkit_user_changes (seq, user_id, changed_at) VALUES (?, ?, ?)"
	}
	return "INSERT INTO authkit_user_changes (user_id, changed_at) VALUES (?, ?)"
}

// insertRecoveryCodes returns the statement that inserts n new recovery
// codes, n rows of recoveryCodeRow.
func (d sqlDialect) insertRecoveryCodes(n int) string {
	rows := strings.TrimSuffix(strings.Repeat(recoveryCodeRow+", ", n), ", ")
	return d.bind("INSERT INTO authkit_recovery_codes (user_id, hash, created_at, used_at) VALUES " + rows)
}

// insertLimit returns the statement that inserts a new rate-limit key and
// does nothing (affecting no row, raising no error that would fill the
// server's log) when the key exists.
func insertLimit(e Engine) string {
	if e == MySQL {
		return "INSERT IGNORE INTO authkit_rate_limits (limit_key, tat) VALUES (?, ?)"
	}
	return "INSERT INTO authkit_rate_limits (limit_key, tat) VALUES (?, ?) ON CONFLICT (limit_key) DO NOTHING"
}
