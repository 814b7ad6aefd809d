// Package sqlstore is an authkit.Store over database/sql for PostgreSQL,
// MySQL/MariaDB and SQLite.
//
// This package holds the Store and its SQL and imports no driver. The
// subpackages postgres (pgx), mysql (go-sql-driver/mysql) and sqlite
// (modernc.org/sqlite, pure Go) each bring one driver, its Dialect, and an
// Open that makes a *sql.DB from a URL, so a program compiles only the
// driver it uses.
//
// # Quick start
//
//	db, err := sqlite.Open(ctx, "sqlite:authkit.db") // or postgres.Open, mysql.Open
//	if err != nil { … }
//	defer db.Close()
//	store, err := sqlite.New(db) // or sqlstore.New(db, sqlite.Dialect())
//	if err != nil { … }
//	if err := store.Migrate(ctx); err != nil { … }
//	auth, err := authkit.New(authkit.Config{Store: store, …})
//
// A host that already has a *sql.DB passes it to New and keeps its own pool
// settings; closing it stays the host's business. For the concurrency
// promises to hold under load, give PostgreSQL and MySQL pools a handful of
// connections or more; SQLite connections need a busy timeout and the WAL
// journal (sqlite.Open sets both).
//
// # Schema and migrations
//
// The tables are authkit_users, authkit_tokens, authkit_sessions,
// authkit_rate_limits, authkit_totp and authkit_recovery_codes, and on
// MySQL and SQLite authkit_user_changes (and on MySQL its one-row counter,
// authkit_user_change_seq), beside the host's own. Their schema is plain SQL, one directory of numbered files
// per engine, embedded in the package (Engine.Migrations returns them).
// Store.Migrate applies the files the database has not seen, records each
// version in authkit_schema_migrations, is safe to run at every start and
// from several processes at once, and refuses (ErrSchemaTooNew) a database
// migrated by newer code. Hosts that use their own migration tool can apply
// the files as they are instead.
//
// Emails are unique ignoring case by a unique constraint on the column
// email_lower, which the Store fills with the lower-cased email. The
// lowering is done in Go rather than by a database collation, so that every
// engine (and memstore) agrees on which emails are equal: SQLite's NOCASE
// folds only ASCII, and MySQL's case-insensitive collations also ignore
// accents, which would let "josé@…" sign in as "jose@…".
//
// Times are stored in UTC, to the microsecond: timestamptz on PostgreSQL,
// DATETIME(6) holding the UTC wall clock on MySQL (independent of the
// connection's loc and time_zone settings) and integer microseconds since
// the Unix epoch on SQLite. Unset times (a token's UsedAt, a session's
// RotatedAt) are NULL.
//
// A session's AuthMethods are one text column, auth_methods, holding the
// methods joined by single spaces. CreateSession refuses, with an error
// wrapping authkit.ErrInvalidInput, a method that would not read back as
// given (empty, or holding white space) or that not every engine stores.
//
// Second factors (authkit.FactorStore) are one row per user in
// authkit_totp, holding the encrypted seed as bytes, and one row per code in
// authkit_recovery_codes, keyed by user and hash. Both go with their user
// (ON DELETE CASCADE, and DeleteUser deletes them itself). Their columns have
// the same limits on every engine: the Store refuses, with an error wrapping
// authkit.ErrInvalidInput, a Secret over 512 bytes, a KeyID over 64 bytes, a
// recovery code hash that is empty or over 128 bytes, a KeyID or hash that is
// not valid UTF-8 or holds NUL, and a hash repeated in one set.
//
// # Atomicity
//
// Each promise of the authkit.Store contract is kept by the database:
// unique emails, ids and token hashes by constraints; single-use tokens and
// refresh rotation by one conditional UPDATE each (… WHERE used_at IS NULL,
// … WHERE refresh_hash = ?), so that of concurrent callers exactly one
// changes the row; UpdateUser, with its compare-and-swap on the password
// hash and the sessions it ends, by one transaction. Second factors likewise:
// a time step, a recovery code and a confirmation are each spent by one
// conditional UPDATE (… AND last_step < ?, … AND used_at IS NULL, … AND
// confirmed_at IS NULL); enrolment, replacing recovery codes, removing a
// factor and DeleteUser are transactions that first lock the user's row (on
// SQLite, whose writers take turns on the whole database, they begin with a
// write), so that they take turns rather than interleave or deadlock.
//
// # Watching users
//
// The Store is an authkit.UserWatcher, so the user cache of every
// Authenticator on the database stays true (see Store.WatchUsers): UpdateUser
// (but an update of UpdatedAt alone) and DeleteUser note the change in their
// own transaction, so a change is reported exactly when it commits, whoever
// made it through a Store. Changes made to the tables by other means are not
// reported; such writers should go through the Store.
//
// On PostgreSQL the note is a notification, pg_notify on the channel
// authkit_users_ followed by the MD5 of the current schema, so that stores in
// different schemas of one database do not hear each other. Each watching
// Authenticator holds one connection of its pool for as long as it watches:
// size the pool one larger. Connection poolers in transaction mode
// (PgBouncer) do not carry LISTEN; give the *sql.DB a direct or
// session-mode connection.
//
// On MySQL and SQLite the note is a row of authkit_user_changes, numbered in
// commit order, which each watcher polls for every 250 milliseconds
// (Store.SetWatchInterval) with one indexed query. The Store deletes rows
// older than a minute, at most every 30 seconds, after a change it writes, so
// the table holds about a minute of changes. A watcher that finds rows it
// had not read deleted reports that any user may have changed.
//
// # Errors
//
// Store errors are authkit.ErrNotFound, authkit.ErrAlreadyExists and
// authkit.ErrConflict, wrapped with the operation's name ("sqlstore: create
// user: authkit: already exists"); test for them with errors.Is. Other
// errors are the driver's, wrapped the same way. They carry no SQL text, but
// a driver's message may name tables, constraints or values: log them, and
// never show them to end users.
//
// # Security
//
// The Store never builds SQL from its inputs: every value is a bound
// parameter. It keeps only what the Authenticator hands it, which for
// one-time and refresh tokens is their SHA-256, never the token itself, for
// recovery codes a hash and for TOTP seeds their ciphertext.
// Database URLs carry credentials; take them from the environment or a
// secret store, and require TLS on any network (sslmode=verify-full for
// PostgreSQL, tls=true for MySQL).
package sqlstore
