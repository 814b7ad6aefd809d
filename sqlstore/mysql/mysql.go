// Package mysql connects sqlstore to MySQL and MariaDB through
// github.com/go-sql-driver/mysql. Only programs that import this package
// compile that driver.
//
// With a *sql.DB of the host's own (any DSN settings; parseTime and loc do
// not matter, times are written and read as UTC either way):
//
//	store, err := mysql.New(db)
//
// Or from a URL:
//
//	db, err := mysql.Open(ctx, "mysql://authkit:secret@db.internal:3306/app?tls=true")
//	…
//	defer db.Close()
//	store, err := mysql.New(db)
//	…
//	err = store.Migrate(ctx)
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/authkit/authkit/sqlstore"
)

// The error numbers of duplicate keys: ER_DUP_ENTRY and
// ER_DUP_ENTRY_WITH_KEY_NAME.
const (
	errDupEntry            = 1062
	errDupEntryWithKeyName = 1586
)

// Dialect returns the sqlstore.Dialect of MySQL and MariaDB through
// go-sql-driver: it recognizes unique violations by error numbers 1062 and
// 1586.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{Engine: sqlstore.MySQL, IsUniqueViolation: isUniqueViolation}
}

// isUniqueViolation reports whether err is a MySQL duplicate key error.
func isUniqueViolation(err error) bool {
	myErr, ok := errors.AsType[*gomysql.MySQLError](err)
	return ok && (myErr.Number == errDupEntry || myErr.Number == errDupEntryWithKeyName)
}

// New returns a sqlstore.Store on db, a MySQL or MariaDB database opened
// with go-sql-driver/mysql. The host keeps ownership of db. Call Migrate on
// the Store before its first use.
func New(db *sql.DB) (*sqlstore.Store, error) {
	return sqlstore.New(db, Dialect())
}

// Open opens a pool of connections to the MySQL or MariaDB database at
// rawURL, of the form mysql://user:password@host:port/database?params, and
// checks that it answers. The port defaults to 3306; params are
// go-sql-driver's DSN parameters (tls=true, timeout=5s, …), and parseTime is
// always on. The pool holds up to 20 connections, each closed after 3
// minutes (under MySQL's usual wait_timeout); change that on the returned
// *sql.DB as needed. The caller closes the *sql.DB.
//
// URLs carry credentials: take them from the environment or a secret store,
// and use tls=true (or a registered TLS config) across any network.
func Open(ctx context.Context, rawURL string) (*sql.DB, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open mysql: %w", err)
	}
	connector, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxLifetime(3 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: open mysql: %w", err)
	}
	return db, nil
}

// ParseURL turns a URL of the form Open takes,
// mysql://user:password@host:port/database?params, into a go-sql-driver
// configuration, for a host that opens its own pool (gomysql.NewConnector)
// from the same URL as the rest of its settings. Errors never quote the
// URL, which holds the password.
func ParseURL(rawURL string) (*gomysql.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's errors quote the URL, password included.
		return nil, errors.New("malformed URL")
	}
	if u.Scheme != "mysql" {
		return nil, fmt.Errorf("URL scheme %q, want mysql", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("URL has no host")
	}
	cfg, err := gomysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("URL parameters: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(u.Hostname(), port)
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime = true
	return cfg, nil
}
