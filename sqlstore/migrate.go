package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authkit/authkit/sqlstore/internal/sqltext"
)

// migrationFiles holds the schema of every engine, one directory each.
//
//go:embed migrations
var migrationFiles embed.FS

// ErrSchemaTooNew means the database was migrated by a newer version of
// sqlstore than the running one. Migrate refuses to touch it; upgrade the
// code instead.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this code")

// migration is one migration file.
type migration struct {
	version    int64
	name       string
	statements []string
}

// loadMigrations reads the migrations of engine e, ordered by version.
func loadMigrations(e Engine) ([]migration, error) {
	fsys, err := e.Migrations()
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must be NNNN_name.sql", name)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: version, name: name, statements: sqltext.Statements(string(text))})
	}
	slices.SortFunc(out, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s have the same version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

// versionTable creates the table that records the applied migrations.
var versionTable = map[Engine]string{
	PostgreSQL: "CREATE TABLE IF NOT EXISTS authkit_schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL)",
	MySQL:      "CREATE TABLE IF NOT EXISTS authkit_schema_migrations (version BIGINT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
	SQLite:     "CREATE TABLE IF NOT EXISTS authkit_schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
}

// Migrate creates or updates the Store's tables (all prefixed authkit_) by
// applying the embedded migrations the database has not seen yet, and
// records each version it applies in the table authkit_schema_migrations.
// It is safe to call every time the host starts, and from several processes
// at once: the migrators take turns under a lock (a transaction-scoped
// advisory lock on PostgreSQL, GET_LOCK on MySQL, an IMMEDIATE transaction on
// SQLite), and the later ones find nothing left to do. On PostgreSQL and
// SQLite the whole run is one transaction; MySQL commits each DDL statement
// as it goes, so its migrations are written to be re-run after a failure.
//
// Migrate returns an error wrapping ErrSchemaTooNew, and changes nothing,
// when the database has a version newer than the code knows.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, 0)
}

// MigrateTo is Migrate, except that it applies no migration newer than
// version, for upgrades staged one schema version at a time (and tests of
// them). A database already past version is left as it is. It returns an
// error for a version below 1.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	if version < 1 {
		return fmt.Errorf("sqlstore: migrate to version %d: versions start at 1", version)
	}
	return s.migrate(ctx, version)
}

// migrate is Migrate, except that when upTo is positive it applies no
// migration newer than version upTo.
func (s *Store) migrate(ctx context.Context, upTo int64) error {
	ms, err := loadMigrations(s.d.engine)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()
	switch s.d.engine {
	case PostgreSQL:
		err = s.migratePostgres(ctx, conn, ms, upTo)
	case MySQL:
		err = s.migrateMySQL(ctx, conn, ms, upTo)
	default:
		err = s.migrateSQLite(ctx, conn, ms, upTo)
	}
	if err != nil && !errors.Is(err, ErrSchemaTooNew) {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return err
}

// execer is a *sql.Conn or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// applyMigrations applies, through c, which holds the migration lock, the
// migrations of ms newer than the recorded version, recording each. When
// upTo is positive it stops after version upTo.
func (s *Store) applyMigrations(ctx context.Context, c execer, ms []migration, upTo int64) error {
	if _, err := c.ExecContext(ctx, versionTable[s.d.engine]); err != nil {
		return fmt.Errorf("create authkit_schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := c.QueryRowContext(ctx, "SELECT MAX(version) FROM authkit_schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := int64(0)
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if current.Int64 > latest {
		return fmt.Errorf("%w: the database is at version %d, this code knows up to %d", ErrSchemaTooNew, current.Int64, latest)
	}
	record := s.d.bind("INSERT INTO authkit_schema_migrations (version, applied_at) VALUES (?, ?)")
	for _, m := range ms {
		if upTo > 0 && m.version > upTo {
			break
		}
		if m.version <= current.Int64 {
			continue
		}
		for i, stmt := range m.statements {
			if _, err := c.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s, statement %d: %w", m.name, i+1, err)
			}
		}
		if _, err := c.ExecContext(ctx, record, m.version, s.d.timeArg(time.Now())); err != nil {
			return fmt.Errorf("record version %d: %w", m.version, err)
		}
	}
	return nil
}

// migratePostgres migrates in one transaction under an advisory lock scoped
// to the transaction and the current schema, so that migrators of
// different schemas do not wait for each other.
func (s *Store) migratePostgres(ctx context.Context, conn *sql.Conn, ms []migration, upTo int64) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('authkit_schema_migrations'), hashtext(COALESCE(current_schema(), '')))"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if err := s.applyMigrations(ctx, tx, ms, upTo); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateMySQL migrates under a named lock scoped to the current database.
// MySQL commits DDL statements implicitly, so there is no transaction.
func (s *Store) migrateMySQL(ctx context.Context, conn *sql.Conn, ms []migration, upTo int64) (err error) {
	const name = "CONCAT('authkit_schema_migrations.', MD5(COALESCE(DATABASE(), '')))"
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", 1)").Scan(&got); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if !got.Valid {
			return errors.New("lock: GET_LOCK failed")
		}
		// Timed out after a second: another migrator holds the lock.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+name+")"); uerr != nil {
			// The lock lives as long as the session: end the session
			// rather than return it to the pool still holding it.
			discard(conn)
			if err == nil {
				err = fmt.Errorf("unlock: %w", uerr)
			}
		}
	}()
	return s.applyMigrations(ctx, conn, ms, upTo)
}

// migrateSQLite migrates in one IMMEDIATE transaction, which takes the
// database's write lock from the start. It is begun by hand so that it does
// not depend on how the host opened the database.
func (s *Store) migrateSQLite(ctx context.Context, conn *sql.Conn, ms []migration, upTo int64) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if err := s.applyMigrations(ctx, conn, ms, upTo); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			discard(conn)
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			discard(conn)
		}
		return err
	}
	return nil
}

// discard makes the pool close conn instead of reusing it, for a connection
// left in a state (a lock, an open transaction) that must not leak.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
