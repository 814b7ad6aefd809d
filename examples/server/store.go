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
		_ = db.Close() // the error worth reporting is the one above
		return nil, nil, fmt.Errorf("database %s: %w", redact(databaseURL), err)
	}
	// At shutdown a failure to close has nowhere useful to go.
	return store, func() { _ = store.Close(); _ = db.Close() }, nil
}

// safeParams are the database URL parameters whose values redact shows.
var safeParams = map[string]bool{
	"sslmode": true, "parsetime": true, "tls": true, "loc": true, "charset": true,
	"collation": true, "timeout": true, "connect_timeout": true, "_pragma": true,
	"application_name": true, "search_path": true,
}

// redact returns a database URL fit for logs: the password of its user
// info and the value of every query parameter not known to be harmless
// (password, sslpassword, sslkey, …) are replaced by "xxxxx". A URL that
// does not parse is not shown at all.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(unparseable database URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return u.Scheme + ":(unparseable database URL)"
		}
		for k := range q {
			if !safeParams[strings.ToLower(k)] {
				for i := range q[k] {
					q[k][i] = "xxxxx"
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
