package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Engine names the SQL database a Store talks to. It decides the migrations
// Migrate applies and the few places where the engines' SQL differs.
type Engine string

// The engines sqlstore supports.
const (
	// PostgreSQL is PostgreSQL 12 or later.
	PostgreSQL Engine = "postgres"
	// MySQL is MySQL 8 or MariaDB 10.5 or later.
	MySQL Engine = "mysql"
	// SQLite is SQLite 3.35 or later (for RETURNING).
	SQLite Engine = "sqlite"
)

// valid reports whether e is one of the supported engines.
func (e Engine) valid() bool {
	return e == PostgreSQL || e == MySQL || e == SQLite
}

// Migrations returns the embedded migration files of e: plain SQL files
// named NNNN_name.sql, applied in the order of their number. Hosts that run
// their own migration tool can apply them as they are; Migrate records the
// versions it applied in the table authkit_schema_migrations, which such a
// tool does not need. It returns an error for an unknown engine.
func (e Engine) Migrations() (fs.FS, error) {
	if !e.valid() {
		return nil, fmt.Errorf("sqlstore: unknown engine %q", string(e))
	}
	return fs.Sub(migrationFiles, "migrations/"+string(e))
}

// Dialect tells a Store which engine it talks to and how to recognize the
// driver's errors. The subpackages postgres, mysql and sqlite each return the
// Dialect for their driver; a host that uses another driver for one of the
// supported engines can describe it with a Dialect of its own.
type Dialect struct {
	// Engine is the database engine behind the *sql.DB.
	Engine Engine

	// IsUniqueViolation reports whether err, as returned by the driver,
	// means that an INSERT broke a primary key or unique constraint. The
	// Store turns such errors into authkit.ErrAlreadyExists. It must
	// recognize errors by their code, never by message text. It is required.
	IsUniqueViolation func(err error) bool

	// WaitForNotification waits on driverConn, a connection of the driver
	// as sql.Conn.Raw hands it, for the next PostgreSQL notification on a
	// channel the connection listens to, and returns the notification's
	// channel and payload. It returns an error when ctx ends first or the
	// connection fails. Store.WatchUsers needs it on PostgreSQL (without it,
	// WatchUsers returns an error and the Authenticator reads users on
	// every request); postgres.Dialect sets it for pgx. The other engines
	// ignore it.
	WaitForNotification func(ctx context.Context, driverConn any) (channel, payload string, err error)
}

// sqlDialect holds what the Store derives from a Dialect: the statements in
// the engine's placeholder style and the engine's capabilities.
type sqlDialect struct {
	engine            Engine
	isUniqueViolation func(error) bool
	// waitForNotification is Dialect.WaitForNotification.
	waitForNotification func(ctx context.Context, driverConn any) (channel, payload string, err error)
	// returning is true when UPDATE … RETURNING is supported.
	returning bool
	// lockSuffix is appended to a SELECT inside a transaction to lock the
	// rows it reads, or empty where the engine locks the whole database.
	lockSuffix string
	// wallClockTimes is true when the driver hands back DATETIME values as
	// a wall clock in a location of the connection's choosing, which must be
	// read as UTC.
	wallClockTimes bool
	// positional is true when placeholders are $1, $2, … instead of ?.
	positional bool
}

// newSQLDialect checks d and derives the sqlDialect.
func newSQLDialect(d Dialect) (sqlDialect, error) {
	if !d.Engine.valid() {
		return sqlDialect{}, fmt.Errorf("sqlstore: unknown engine %q", string(d.Engine))
	}
	if d.IsUniqueViolation == nil {
		return sqlDialect{}, fmt.Errorf("sqlstore: Dialect.IsUniqueViolation is nil")
	}
	sd := sqlDialect{engine: d.Engine, isUniqueViolation: d.IsUniqueViolation, waitForNotification: d.WaitForNotification}
	switch d.Engine {
	case PostgreSQL:
		sd.returning, sd.lockSuffix, sd.positional = true, " FOR UPDATE", true
	case MySQL:
		sd.lockSuffix, sd.wallClockTimes = " FOR UPDATE", true
	case SQLite:
		sd.returning = true
	}
	return sd, nil
}

// bind rewrites the ? placeholders of query into the engine's style. The
// statements of this package contain no other question marks.
func (d sqlDialect) bind(query string) string {
	if !d.positional {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
