package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore/internal/enginetest"
	"github.com/authkit/authkit/sqlstore/postgres"
)

// dsnVariable names the environment variable with the URL of the
// PostgreSQL server the tests use.
const dsnVariable = "AUTHKIT_TEST_POSTGRES_DSN"

// serverURL returns the server's URL, or skips tb.
func serverURL(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnVariable)
	enginetest.SkipUnless(tb, dsnVariable, dsn)
	return dsn
}

// harness makes every database a schema of its own, reached through
// search_path and dropped when the test ends.
func harness(tb testing.TB) enginetest.Harness {
	base := serverURL(tb)
	return enginetest.Harness{
		Dialect: postgres.Dialect(),
		NewDatabase: func(t testing.TB) func() *sql.DB {
			t.Helper()
			admin, err := postgres.Open(t.Context(), base)
			require.NoError(t, err, "open %s", dsnVariable)
			schema := "authkit_test_" + strings.ToLower(rand.Text())
			_, err = admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema)
			require.NoError(t, err, "CREATE SCHEMA")
			t.Cleanup(func() {
				_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				assert.NoError(t, err, "DROP SCHEMA")
				_ = admin.Close()
			})
			u, err := url.Parse(base)
			require.NoError(t, err, "parse %s", dsnVariable)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return func() *sql.DB {
				t.Helper()
				db, err := postgres.Open(t.Context(), u.String())
				require.NoError(t, err, "open a pool on schema %s", schema)
				db.SetMaxOpenConns(10)
				t.Cleanup(func() { _ = db.Close() })
				return db
			}
		},
		StoredCreatedAt: "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM authkit_users WHERE id = $1",
	}
}

func TestStore(t *testing.T) {
	enginetest.Run(t, harness(t))
}

func BenchmarkStore(b *testing.B) {
	enginetest.Bench(b, harness(b))
}

// TestOpen opens a pool with Open (the harness does, on a schema of the
// test's own) and checks that a store on a database never migrated fails
// rather than reporting users missing, and that Open refuses bad URLs.
func TestOpen(t *testing.T) {
	db := harness(t).NewDatabase(t)()
	s, err := postgres.New(db)
	require.NoError(t, err, "New")
	_, err = s.UserByID(t.Context(), "x")
	assert.Error(t, err, "UserByID before Migrate")
	assert.NotErrorIs(t, err, authkit.ErrNotFound, "UserByID before Migrate")

	for _, bad := range []string{"postgres://127.0.0.1:1/x?connect_timeout=2", "postgres://%zz"} {
		_, err := postgres.Open(t.Context(), bad)
		assert.Error(t, err, "Open(%q)", bad)
	}
}

// TestMigrateSchemas checks that stores in two schemas of one database
// migrate side by side.
func TestMigrateSchemas(t *testing.T) {
	h := harness(t)
	a, b := h.NewDatabase(t)(), h.NewDatabase(t)()
	for _, db := range []*sql.DB{a, b} {
		s, err := postgres.New(db)
		require.NoError(t, err, "New")
		require.NoError(t, s.Migrate(t.Context()), "Migrate")
	}
}
