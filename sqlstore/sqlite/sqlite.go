// Package sqlite connects sqlstore to SQLite through modernc.org/sqlite, a
// pure Go driver (no cgo). Only programs that import this package compile
// it.
//
//	db, err := sqlite.Open(ctx, "sqlite:authkit.db")
//	…
//	defer db.Close()
//	store, err := sqlite.New(db)
//	…
//	err = store.Migrate(ctx)
//
// SQLite suits a service on a single machine. It allows one writer at a
// time: Open configures the connections so that writers wait for each other
// (WAL journal, a busy timeout, IMMEDIATE transactions) instead of failing.
// A host that opens the database itself should do the same.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authkit/authkit/sqlstore"
)

// Dialect returns the sqlstore.Dialect of SQLite through modernc.org/sqlite:
// it recognizes unique violations by the extended result codes
// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Engine: sqlstore.SQLite, IsUniqueViolation: isUniqueViolation}
}

// isUniqueViolation reports whether err is a SQLite unique or primary key
// constraint failure.
func isUniqueViolation(err error) bool {
	liteErr, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return false
	}
	code := liteErr.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// New returns a sqlstore.Store on db, a SQLite database opened with
// modernc.org/sqlite. The host keeps ownership of db. Call Migrate on the
// Store before its first use.
func New(db *sql.DB) (*sqlstore.Store, error) {
	return sqlstore.New(db, Dialect())
}

// Open opens the SQLite database at rawURL, of the form sqlite:PATH (or
// sqlite://PATH), creating the file if needed, and checks that it answers.
// PATH may carry modernc.org/sqlite DSN parameters after a "?"; unless they
// say otherwise, every connection gets a busy timeout of 10 seconds, foreign
// keys on, the WAL journal and IMMEDIATE transactions, so that concurrent
// writers queue for SQLite's single write lock. The pool holds up to
// max(8, GOMAXPROCS) connections: readers run in parallel.
//
// sqlite::memory: opens a database that lives in memory, as long as its
// single connection does: for tests and demonstrations.
//
// The caller closes the *sql.DB.
func Open(ctx context.Context, rawURL string) (*sql.DB, error) {
	dsn, memory, err := parseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	db := sql.OpenDB(connector)
	if memory {
		// Every connection to :memory: is a database of its own.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	} else {
		n := max(8, runtime.GOMAXPROCS(0))
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	return db, nil
}

// parseURL turns a sqlite: URL into a modernc.org/sqlite DSN and reports
// whether it names an in-memory database.
func parseURL(rawURL string) (dsn string, memory bool, err error) {
	rest, ok := strings.CutPrefix(rawURL, "sqlite:")
	if !ok {
		return "", false, errors.New(`URL must start with "sqlite:"`)
	}
	rest = strings.TrimPrefix(rest, "//")
	path, rawQuery, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", false, errors.New("URL has no path")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", false, fmt.Errorf("URL parameters: %w", err)
	}
	memory = path == ":memory:" || q.Get("mode") == "memory"
	setDefault := func(key, value string, aliases ...string) {
		for _, k := range append(aliases, key) {
			if q.Has(k) {
				return
			}
		}
		q.Set(key, value)
	}
	setDefault("_busy_timeout", "10000", "_timeout")
	setDefault("_foreign_keys", "1", "_fk")
	setDefault("_txlock", "immediate")
	if !memory {
		setDefault("_journal_mode", "WAL", "_journal")
	}
	return path + "?" + q.Encode(), memory, nil
}
