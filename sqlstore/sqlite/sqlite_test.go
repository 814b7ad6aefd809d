package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore/internal/enginetest"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

// harness makes every database a file of its own in a temporary directory.
func harness() enginetest.Harness {
	return enginetest.Harness{
		Dialect: sqlite.Dialect(),
		NewDatabase: func(t testing.TB) func() *sql.DB {
			t.Helper()
			url := "sqlite:" + filepath.Join(t.TempDir(), "authkit.db")
			return func() *sql.DB {
				t.Helper()
				db, err := sqlite.Open(t.Context(), url)
				require.NoError(t, err, "sqlite.Open(%q)", url)
				t.Cleanup(func() { _ = db.Close() })
				return db
			}
		},
		StoredCreatedAt: "SELECT strftime('%Y-%m-%d %H:%M:%S', created_at / 1000000, 'unixepoch') || printf('.%06d', created_at % 1000000) FROM authkit_users WHERE id = ?",
	}
}

func TestStore(t *testing.T) {
	enginetest.Run(t, harness())
}

func BenchmarkStore(b *testing.B) {
	enginetest.Bench(b, harness())
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		url, journal string
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), "wal"},
		{"sqlite://" + filepath.Join(dir, "b.db"), "wal"},
		{"sqlite:" + filepath.Join(dir, "c.db") + "?_journal_mode=DELETE", "delete"},
		{"sqlite::memory:", "memory"},
	} {
		db, err := sqlite.Open(t.Context(), tc.url)
		require.NoError(t, err, "Open(%q)", tc.url)
		var journal string
		var fk, busy int
		require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&journal), "journal_mode")
		require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk), "foreign_keys")
		require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&busy), "busy_timeout")
		assert.Equal(t, tc.journal, journal, "journal_mode of %q", tc.url)
		assert.Equal(t, 1, fk, "foreign_keys of %q", tc.url)
		assert.Positive(t, busy, "busy_timeout of %q", tc.url)

		s, err := sqlite.New(db)
		require.NoError(t, err, "New")
		require.NoError(t, s.Migrate(t.Context()), "Migrate on %q", tc.url)
		_, err = s.UserByID(t.Context(), "nobody")
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID on %q", tc.url)
		require.NoError(t, db.Close(), "Close")
	}

	for _, url := range []string{"", "sqlite:", "postgres://localhost/x", "file:x.db", "sqlite:x.db?%zz"} {
		_, err := sqlite.Open(t.Context(), url)
		assert.Error(t, err, "Open(%q)", url)
	}
}
