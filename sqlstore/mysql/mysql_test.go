package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/sqlstore/internal/enginetest"
	"github.com/authkit/authkit/sqlstore/mysql"
)

// serverConfig returns the configuration of the server the tests use
// (testkit.MySQLURL), or skips tb.
func serverConfig(tb testing.TB) *gomysql.Config {
	tb.Helper()
	cfg, err := mysql.ParseURL(testkit.MySQLURL(tb))
	require.NoError(tb, err, "parse %s", testkit.MySQLVariable)
	return cfg
}

// openConfig opens a pool of at least 8 connections with cfg, closed when
// t ends.
func openConfig(t testing.TB, cfg *gomysql.Config) *sql.DB {
	t.Helper()
	connector, err := gomysql.NewConnector(cfg)
	require.NoError(t, err, "NewConnector")
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// ownDatabase creates an empty database on the server of base, dropped
// when t ends, and returns its name: no test depends on what the shared
// database holds.
func ownDatabase(t testing.TB, base *gomysql.Config) string {
	t.Helper()
	admin := openConfig(t, base)
	name := "authkit_test_" + strings.ToLower(rand.Text())
	_, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name)
	require.NoError(t, err, "CREATE DATABASE")
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name)
		assert.NoError(t, err, "DROP DATABASE")
	})
	return name
}

// harness makes every database a database of its own, dropped when the
// test ends. adjust, when not nil, changes the configuration of the pools.
func harness(tb testing.TB, adjust func(*gomysql.Config)) enginetest.Harness {
	base := serverConfig(tb)
	return enginetest.Harness{
		Dialect: mysql.Dialect(),
		NewDatabase: func(t testing.TB) func() *sql.DB {
			t.Helper()
			name := ownDatabase(t, base)
			return func() *sql.DB {
				t.Helper()
				cfg := base.Clone()
				cfg.DBName = name
				if adjust != nil {
					adjust(cfg)
				}
				return openConfig(t, cfg)
			}
		},
		StoredCreatedAt: "SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') FROM authkit_users WHERE id = ?",
	}
}

func TestStore(t *testing.T) {
	enginetest.Run(t, harness(t, nil))
}

// TestStoreConnectionSettings runs the suite over connections whose
// settings a host might have chosen: times in another location, not parsed,
// or with the session in another time zone. Times must still be stored and
// read as UTC.
func TestStoreConnectionSettings(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		tokyo = time.FixedZone("JST", 9*3600)
	}
	for name, adjust := range map[string]func(*gomysql.Config){
		"LocTokyo":     func(c *gomysql.Config) { c.Loc = tokyo; c.ParseTime = true },
		"NoParseTime":  func(c *gomysql.Config) { c.ParseTime = false },
		"SessionZone":  func(c *gomysql.Config) { c.Params = map[string]string{"time_zone": "'-07:00'"} },
		"Interpolated": func(c *gomysql.Config) { c.InterpolateParams = true },
	} {
		t.Run(name, func(t *testing.T) {
			enginetest.Run(t, harness(t, adjust))
		})
	}
}

func BenchmarkStore(b *testing.B) {
	enginetest.Bench(b, harness(b, nil))
}

func TestOpen(t *testing.T) {
	cfg := serverConfig(t)
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + ownDatabase(t, cfg), RawQuery: "timeout=5s"}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else {
		u.User = url.User(cfg.User)
	}
	db, err := mysql.Open(t.Context(), u.String())
	require.NoError(t, err, "Open(mysql://…)")
	defer db.Close()
	var one int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one), "SELECT 1")

	s, err := mysql.New(db)
	require.NoError(t, err, "New")
	_, err = s.UserByEmail(t.Context(), "x@example.com")
	assert.Error(t, err, "UserByEmail before Migrate")
	assert.NotErrorIs(t, err, authkit.ErrNotFound, "UserByEmail before Migrate")

	for _, bad := range []string{
		"postgres://127.0.0.1/x",
		"mysql:///nohost",
		"mysql://root@127.0.0.1:1/x?timeout=2s",
		"mysql://root@127.0.0.1/x?notaparam=1",
		"mysql://root:s3cret%zz@127.0.0.1/x",
	} {
		_, err := mysql.Open(t.Context(), bad)
		if assert.Error(t, err, "Open(%q)", bad) {
			assert.NotContains(t, err.Error(), "s3cret", "the error of Open(%q) shows the password", bad)
		}
	}
}
