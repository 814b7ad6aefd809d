// Package enginetest holds the tests and benchmarks that every sqlstore
// engine runs: the storetest conformance suite, migrations, time round trips
// and error mapping. The engine packages call it from their own tests with
// a Harness that makes fresh databases.
package enginetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// Harness describes one engine under test.
type Harness struct {
	// Dialect is the engine's dialect.
	Dialect sqlstore.Dialect

	// NewDatabase creates a fresh, empty database (a schema or database of
	// its own, dropped when t ends) and returns a function that opens a new
	// pool of at least 8 connections to it, closed when t ends.
	NewDatabase func(t testing.TB) (open func() *sql.DB)

	// StoredCreatedAt is a query, with the user's id as its one parameter,
	// that returns the created_at column of authkit_users as the database
	// holds it, formatted as "2006-01-02 15:04:05.000000".
	StoredCreatedAt string
}

// newStore returns a Store on a fresh, migrated database.
func (h Harness) newStore(t testing.TB) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := h.NewDatabase(t)()
	s, err := sqlstore.New(db, h.Dialect)
	require.NoError(t, err, "sqlstore.New")
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(t.Context()), "Migrate")
	return s, db
}

// storeOn returns a Store on db, whose schema is in place.
func (h Harness) storeOn(t testing.TB, db *sql.DB) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, h.Dialect)
	require.NoError(t, err, "sqlstore.New")
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Run runs the storetest conformance suite and the engine tests.
func Run(t *testing.T, h Harness) {
	t.Run("Conformance", func(t *testing.T) {
		newStore := func(t testing.TB) authkit.Store {
			s, _ := h.newStore(t)
			return s
		}
		// The Store keeps second factors: the suite runs their tests too.
		require.Implements(t, (*authkit.FactorStore)(nil), newStore(t), "the Store given to storetest.Run")
		storetest.Run(t, newStore)
	})
	t.Run("Limiter", func(t *testing.T) {
		storetest.RunLimiter(t, func(t testing.TB) authkit.Limiter {
			s, _ := h.newStore(t)
			return s
		})
	})
	t.Run("UserWatcher", func(t *testing.T) {
		storetest.RunUserWatcher(t, func(t testing.TB) (authkit.Store, authkit.Store) {
			open := h.migrated(t)
			return h.storeOn(t, open()), h.storeOn(t, open())
		})
	})
	t.Run("Watch", func(t *testing.T) { testWatch(t, h) })
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, h) })
	t.Run("Upgrade", func(t *testing.T) { testUpgrade(t, h) })
	t.Run("Times", func(t *testing.T) { testTimes(t, h) })
	t.Run("AuthMethods", func(t *testing.T) { testAuthMethods(t, h) })
	t.Run("Factors", func(t *testing.T) { testFactors(t, h) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, h) })
	t.Run("UpdateUserUnchanged", func(t *testing.T) { testUpdateUserUnchanged(t, h) })
	t.Run("Close", func(t *testing.T) { testClose(t, h) })
	t.Run("OneService", func(t *testing.T) { testOneService(t, h) })
	t.Run("BrokenConnection", func(t *testing.T) { testBrokenConnection(t, h) })
	t.Run("QueriesPerRequest", func(t *testing.T) { testQueriesPerRequest(t, h) })
	t.Run("HostileBytes", func(t *testing.T) { testHostileBytes(t, h) })
}

// latestVersion returns the highest migration version of the engine.
func latestVersion(t testing.TB, e sqlstore.Engine) int64 {
	t.Helper()
	fsys, err := e.Migrations()
	require.NoError(t, err, "Migrations")
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err, "Glob")
	require.NotEmpty(t, names, "migration files")
	var latest int64
	for _, name := range names {
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		require.NoError(t, err, "version of %s", name)
		latest = max(latest, v)
	}
	return latest
}

// versions returns the versions recorded in authkit_schema_migrations.
func versions(t testing.TB, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM authkit_schema_migrations ORDER BY version")
	require.NoError(t, err, "select versions")
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v), "scan version")
		out = append(out, v)
	}
	require.NoError(t, rows.Err(), "versions")
	return out
}

// wantVersions returns 1 … latest.
func wantVersions(latest int64) []int64 {
	var out []int64
	for v := int64(1); v <= latest; v++ {
		out = append(out, v)
	}
	return out
}

// randomText returns 26 random lower-case letters and digits.
func randomText() string {
	return strings.ToLower(rand.Text())
}

// testUser returns a user with random id and email.
func testUser(t testing.TB) authkit.User {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	return authkit.User{
		ID: randomText(), Email: "u-" + randomText() + "@example.com", DisplayName: "U",
		PasswordHash: "$2a$12$" + randomText(), Active: true, CreatedAt: now, UpdatedAt: now,
	}
}

// randomHash returns a random SHA-256-shaped hex string.
func randomHash() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testMigrate checks that Migrate records its version, can run again, runs
// safely from several pools at once and refuses a newer database.
func testMigrate(t *testing.T, h Harness) {
	latest := latestVersion(t, h.Dialect.Engine)

	t.Run("Twice", func(t *testing.T) {
		s, db := h.newStore(t)
		require.NoError(t, s.Migrate(t.Context()), "second Migrate")
		assert.Equal(t, wantVersions(latest), versions(t, db), "recorded versions")
		u := testUser(t)
		require.NoError(t, s.CreateUser(t.Context(), u), "CreateUser after two migrations")
	})

	t.Run("Concurrent", func(t *testing.T) {
		open := h.NewDatabase(t)
		dbs := []*sql.DB{open(), open(), open()}
		var wg sync.WaitGroup
		errs := make([]error, 2*len(dbs))
		for i := range errs {
			wg.Go(func() {
				s, err := sqlstore.New(dbs[i%len(dbs)], h.Dialect)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = s.Migrate(t.Context())
			})
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "Migrate %d of %d at once", i+1, len(errs))
		}
		assert.Equal(t, wantVersions(latest), versions(t, dbs[0]), "recorded versions")
	})

	t.Run("RefusesNewerSchema", func(t *testing.T) {
		s, db := h.newStore(t)
		u := testUser(t)
		require.NoError(t, s.CreateUser(t.Context(), u), "CreateUser")
		insert := "INSERT INTO authkit_schema_migrations (version, applied_at) VALUES (?, ?)"
		var at any = time.Now().UTC().Format("2006-01-02 15:04:05")
		switch h.Dialect.Engine {
		case sqlstore.PostgreSQL:
			insert = "INSERT INTO authkit_schema_migrations (version, applied_at) VALUES ($1, $2)"
			at = time.Now()
		case sqlstore.SQLite:
			at = time.Now().UnixMicro()
		}
		_, err := db.ExecContext(t.Context(), insert, latest+1, at)
		require.NoError(t, err, "record a future version")

		err = s.Migrate(t.Context())
		require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew, "Migrate on a newer database")
		assert.Contains(t, err.Error(), strconv.FormatInt(latest+1, 10), "the error names the database's version")
		got, err := s.UserByID(t.Context(), u.ID)
		require.NoError(t, err, "UserByID after the refused Migrate")
		assert.Equal(t, u.ID, got.ID, "the data is left alone")
	})

	t.Run("MigrateTo", func(t *testing.T) {
		s, db := h.newStore(t)
		assert.Error(t, s.MigrateTo(t.Context(), 0), "MigrateTo(0)")
		require.NoError(t, s.MigrateTo(t.Context(), 1), "MigrateTo(1) of a database past it")
		assert.Equal(t, wantVersions(latest), versions(t, db), "a database past the version is left as it is")
	})

	t.Run("Files", func(t *testing.T) {
		fsys, err := h.Dialect.Engine.Migrations()
		require.NoError(t, err, "Migrations")
		text, err := fs.ReadFile(fsys, "0001_init.sql")
		require.NoError(t, err, "read 0001_init.sql")
		for _, table := range []string{"authkit_users", "authkit_tokens", "authkit_sessions"} {
			assert.Contains(t, string(text), "CREATE TABLE", "0001_init.sql")
			assert.Contains(t, string(text), table, "0001_init.sql creates %s", table)
		}
		_, err = sqlstore.Engine("oracle").Migrations()
		assert.Error(t, err, "Migrations of an unknown engine")
	})
}

// testTimes checks that times come back as the same instant in UTC, to the
// microsecond, whatever location they were given in, and are stored as UTC.
func testTimes(t *testing.T, h Harness) {
	s, db := h.newStore(t)
	ctx := t.Context()
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+30*60), time.FixedZone("west", -8*3600)}
	instants := []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC),
		time.Date(1999, 12, 31, 12, 0, 0, 1000, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 123456000, time.UTC),
		time.Date(9999, 12, 31, 22, 0, 0, 999999000, time.UTC),
		time.Now().UTC().Truncate(time.Microsecond),
	}
	for _, at := range instants {
		for _, zone := range zones {
			u := testUser(t)
			u.CreatedAt, u.UpdatedAt = at.In(zone), at.Add(time.Microsecond).In(zone)
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err, "UserByID")
			assert.True(t, got.CreatedAt.Equal(at), "CreatedAt: got %v, want %v", got.CreatedAt, at)
			assert.True(t, got.UpdatedAt.Equal(at.Add(time.Microsecond)), "UpdatedAt: got %v, want %v", got.UpdatedAt, at.Add(time.Microsecond))
			assert.Equal(t, time.UTC, got.CreatedAt.Location(), "CreatedAt location")

			var stored string
			require.NoError(t, db.QueryRowContext(ctx, h.StoredCreatedAt, u.ID).Scan(&stored), "stored created_at")
			assert.Equal(t, at.UTC().Format("2006-01-02 15:04:05.000000"), stored, "created_at as stored, given in %s", zone)

			// Below the microsecond the kit does not go; the store
			// truncates rather than failing.
			tok := authkit.OneTimeToken{
				Hash: randomHash(), UserID: u.ID, Purpose: authkit.PurposeVerifyEmail,
				CreatedAt: at.Add(999 * time.Nanosecond).In(zone), ExpiresAt: at.Add(time.Hour).In(zone),
			}
			require.NoError(t, s.CreateToken(ctx, tok), "CreateToken")
			gotTok, err := s.Token(ctx, tok.Hash)
			require.NoError(t, err, "Token")
			assert.True(t, gotTok.CreatedAt.Equal(at), "token CreatedAt: got %v, want %v", gotTok.CreatedAt, at)
			assert.True(t, gotTok.UsedAt.IsZero(), "UsedAt of an unused token: %v", gotTok.UsedAt)
			used, err := s.ConsumeToken(ctx, tok.Hash, tok.Purpose, at.In(zone))
			require.NoError(t, err, "ConsumeToken")
			assert.True(t, used.UsedAt.Equal(at), "UsedAt: got %v, want %v", used.UsedAt, at)
			assert.Equal(t, time.UTC, used.UsedAt.Location(), "UsedAt location")

			sess := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
			sess.AuthTime = at.In(zone)
			require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
			gotSess, err := s.Session(ctx, sess.ID)
			require.NoError(t, err, "Session")
			assert.True(t, gotSess.AuthTime.Equal(at), "AuthTime: got %v, want %v", gotSess.AuthTime, at)
			assert.Equal(t, time.UTC, gotSess.AuthTime.Location(), "AuthTime location")
		}
	}

	t.Run("Zero", func(t *testing.T) {
		u := testUser(t)
		u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser with zero times")
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assert.True(t, got.CreatedAt.IsZero(), "CreatedAt: got %v, want the zero time", got.CreatedAt)
		assert.True(t, got.UpdatedAt.IsZero(), "UpdatedAt: got %v, want the zero time", got.UpdatedAt)

		// auth_time is NOT NULL: a zero AuthTime is stored as the zero time
		// and comes back zero, not as NULL and not as the Unix epoch.
		sess := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
		sess.AuthTime = time.Time{}
		require.NoError(t, s.CreateSession(ctx, sess), "CreateSession with a zero AuthTime")
		gotSess, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assert.True(t, gotSess.AuthTime.IsZero(), "AuthTime: got %v, want the zero time", gotSess.AuthTime)
	})
}

// testErrors checks how errors reach the caller: store errors by
// errors.Is, driver errors wrapped with the operation and without SQL text.
func testErrors(t *testing.T, h Harness) {
	t.Run("StoreErrors", func(t *testing.T) {
		s, _ := h.newStore(t)
		ctx := t.Context()
		u := testUser(t)
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")

		dup := testUser(t)
		dup.Email = strings.ToUpper(u.Email)
		err := s.CreateUser(ctx, dup)
		require.ErrorIs(t, err, authkit.ErrAlreadyExists, "CreateUser with a taken email")
		assert.Equal(t, "sqlstore: create user: authkit: already exists", err.Error(), "the message names the operation only")

		_, err = s.UserByID(ctx, dup.ID)
		require.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of an unknown id")
		assert.Equal(t, "sqlstore: user by id: authkit: not found", err.Error(), "the message names the operation only")

		_, err = s.UserByID(ctx, "not a uuid ' OR 1=1 --")
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of a malformed id")
		_, err = s.UserByEmail(ctx, "ä' OR ''='@example.com")
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByEmail of a hostile email")
	})

	t.Run("DriverErrors", func(t *testing.T) {
		s, db := h.newStore(t)
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "DROP TABLE authkit_tokens")
		require.NoError(t, err, "drop a table under the store")

		_, err = s.Token(ctx, "00")
		require.Error(t, err, "Token without its table")
		assert.NotErrorIs(t, err, authkit.ErrNotFound, "a driver error is not ErrNotFound")
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: token: "), "the operation prefixes the error: %v", err)
		assert.NotContains(t, err.Error(), "SELECT", "no SQL text in the error")

		_, err = s.ConsumeToken(ctx, "00", authkit.PurposeResetPassword, time.Now())
		require.Error(t, err, "ConsumeToken without its table")
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: consume token: "), "the operation prefixes the error: %v", err)
		assert.NotContains(t, err.Error(), "UPDATE", "no SQL text in the error")

		require.NoError(t, db.Close(), "close the pool")
		_, err = s.UserByID(ctx, "x")
		require.Error(t, err, "UserByID on a closed pool")
		assert.NotErrorIs(t, err, authkit.ErrNotFound, "a closed pool is not ErrNotFound")
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: user by id: "), "the operation prefixes the error: %v", err)
	})

	t.Run("New", func(t *testing.T) {
		_, err := sqlstore.New(nil, h.Dialect)
		assert.Error(t, err, "New with a nil *sql.DB")
		db := h.NewDatabase(t)()
		_, err = sqlstore.New(db, sqlstore.Dialect{Engine: h.Dialect.Engine})
		assert.Error(t, err, "New without IsUniqueViolation")
		_, err = sqlstore.New(db, sqlstore.Dialect{Engine: "oracle", IsUniqueViolation: h.Dialect.IsUniqueViolation})
		assert.Error(t, err, "New with an unknown engine")
	})
}

// testUpdateUserUnchanged checks an update that changes no value: MySQL
// reports no affected row for it, which must not read as a missing user.
func testUpdateUserUnchanged(t *testing.T, h Harness) {
	s, _ := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
	got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{
		DisplayName: &u.DisplayName, IfPasswordHash: u.PasswordHash, UpdatedAt: u.UpdatedAt,
	})
	require.NoError(t, err, "UpdateUser that changes nothing")
	assert.Equal(t, u.ID, got.ID, "UpdateUser's result")

	_, err = s.UpdateUser(ctx, u.ID, authkit.UserUpdate{IfPasswordHash: "other", UpdatedAt: u.UpdatedAt})
	assert.ErrorIs(t, err, authkit.ErrConflict, "UpdateUser that changes nothing, with a wrong IfPasswordHash")
}

// testClose checks that the Store keeps working after Close.
func testClose(t *testing.T, h Harness) {
	s, _ := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
	_, err := s.UserByID(ctx, u.ID)
	require.NoError(t, err, "UserByID")
	require.NoError(t, s.Close(), "Close")
	_, err = s.UserByID(ctx, u.ID)
	assert.NoError(t, err, "UserByID after Close")
	assert.NoError(t, s.Close(), "Close again")
}

// Bench runs the benchmarks of the hot Store calls and of an authenticated
// request through httpauth.RequireUser.
func Bench(b *testing.B, h Harness) {
	b.Run("RequireUser", func(b *testing.B) { benchRequireUser(b, h) })
	b.Run("UserByID", func(b *testing.B) {
		s, _ := h.newStore(b)
		u := testUser(b)
		require.NoError(b, s.CreateUser(b.Context(), u), "CreateUser")
		ctx := b.Context()
		for b.Loop() {
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UserByIDParallel", func(b *testing.B) {
		s, _ := h.newStore(b)
		u := testUser(b)
		require.NoError(b, s.CreateUser(b.Context(), u), "CreateUser")
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.UserByID(ctx, u.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("UserByEmail", func(b *testing.B) {
		s, _ := h.newStore(b)
		u := testUser(b)
		require.NoError(b, s.CreateUser(b.Context(), u), "CreateUser")
		email := strings.ToUpper(u.Email)
		ctx := b.Context()
		for b.Loop() {
			if _, err := s.UserByEmail(ctx, email); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ConsumeToken", func(b *testing.B) {
		s, _ := h.newStore(b)
		ctx := b.Context()
		u := testUser(b)
		require.NoError(b, s.CreateUser(ctx, u), "CreateUser")
		now := time.Now().UTC().Truncate(time.Microsecond)
		hashes := make([]string, b.N)
		for i := range hashes {
			hashes[i] = randomHash()
			tok := authkit.OneTimeToken{Hash: hashes[i], UserID: u.ID, Purpose: authkit.PurposeResetPassword, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateToken(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.ConsumeToken(ctx, hashes[i], authkit.PurposeResetPassword, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// SkipUnless skips tb with a message naming the environment variable when
// dsn, its value, is empty.
func SkipUnless(tb testing.TB, variable, dsn string) {
	tb.Helper()
	if dsn == "" {
		tb.Skipf("%s is not set; set it to run these tests against a real server", variable)
	}
}
