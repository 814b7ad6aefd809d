package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/sqlstore/mysql"
	"github.com/authkit/authkit/sqlstore/postgres"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

// openStore opens the database that AUTHKIT_DATABASE_URL names, migrates
// it, and returns the Store and a function that closes both.
func openStore(ctx context.Context, databaseURL string) (*sqlstore.Store, func(), error) {
	var (
		open   func(context.Context, string) (*sql.DB, error)
		create func(*sql.DB) (*sqlstore.Store, error)
	)
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		open, create = sqlite.Open, sqlite.New
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		open, create = postgres.Open, postgres.New
	case strings.HasPrefix(databaseURL, "mysql://"):
		open, create = mysql.Open, mysql.New
	default:
		return nil, nil, errors.New("AUTHKIT_DATABASE_URL must start with sqlite:, postgres:// or mysql://")
	}
	db, err := open(ctx, databaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", redact(databaseURL), err)
	}
	store, err := create(db)
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("database %s: %w", redact(databaseURL), err)
	}
	return store, func() { store.Close(); db.Close() }, nil
}

// redact hides the password of a database URL, for logs.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	return u.Redacted()
}
