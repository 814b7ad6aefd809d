// Package postgres connects sqlstore to PostgreSQL through the pgx driver
// (github.com/jackc/pgx/v5/stdlib). Only programs that import this package
// compile pgx.
//
// With a *sql.DB of the host's own (opened with pgx's stdlib):
//
//	store, err := postgres.New(db)
//
// Or from a URL:
//
//	db, err := postgres.Open(ctx, "postgres://authkit@db.internal:5432/app?sslmode=verify-full")
//	…
//	defer db.Close()
//	store, err := postgres.New(db)
//	…
//	err = store.Migrate(ctx)
//
// The tables are created in the first schema of the connection's
// search_path; add search_path=NAME to the URL to keep them in a schema of
// their own.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/authkit/authkit/sqlstore"
)

// uniqueViolation is the SQLSTATE of unique_violation.
const uniqueViolation = "23505"

// Dialect returns the sqlstore.Dialect of PostgreSQL through pgx: it
// recognizes unique violations by SQLSTATE 23505, and waits for the
// notifications that Store.WatchUsers listens for on pgx's connection.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Engine: sqlstore.PostgreSQL, IsUniqueViolation: isUniqueViolation, WaitForNotification: waitForNotification}
}

// waitForNotification is Dialect.WaitForNotification for a connection of
// pgx's stdlib.
func waitForNotification(ctx context.Context, driverConn any) (channel, payload string, err error) {
	c, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return "", "", fmt.Errorf("sqlstore: postgres: the connection is a %T, not pgx's", driverConn)
	}
	n, err := c.Conn().WaitForNotification(ctx)
	if err != nil {
		return "", "", err
	}
	return n.Channel, n.Payload, nil
}

// isUniqueViolation reports whether err is a PostgreSQL unique_violation.
func isUniqueViolation(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == uniqueViolation
}

// New returns a sqlstore.Store on db, a PostgreSQL database opened with
// pgx's stdlib. The host keeps ownership of db. Call Migrate on the Store
// before its first use.
func New(db *sql.DB) (*sqlstore.Store, error) {
	return sqlstore.New(db, Dialect())
}

// Open opens a pool of connections to the PostgreSQL database at url (a
// postgres:// or postgresql:// URL, or a key=value connection string, as
// pgx accepts them) and checks that it answers. The pool holds up to 20
// connections, idle ones closed after 5 minutes; change that on the returned
// *sql.DB as needed. The caller closes the *sql.DB.
//
// Connection strings carry credentials: take them from the environment or a
// secret store, and require TLS (sslmode=verify-full) across any network.
func Open(ctx context.Context, url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	return db, nil
}
