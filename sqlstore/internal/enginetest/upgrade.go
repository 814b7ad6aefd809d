package enginetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/sqlstore/internal/sqltext"
)

// oldSessionColumns are the columns of authkit_sessions before migration
// 0003 added auth_methods and auth_time.
const oldSessionColumns = "id, user_id, refresh_hash, previous_hash, rotated_at, created_at, last_used_at, expires_at, user_agent, client_addr"

// execer is a *sql.DB or a *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// bind rewrites the ? placeholders of query into the engine's style.
func (h Harness) bind(query string) string {
	if h.Dialect.Engine != sqlstore.PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

// timeValue returns t as the engine's time columns hold it, for plain SQL:
// see sqlstore's times.go. The zero time is NULL.
func (h Harness) timeValue(t time.Time) any {
	switch {
	case t.IsZero():
		return nil
	case h.Dialect.Engine == sqlstore.PostgreSQL:
		return t.UTC()
	case h.Dialect.Engine == sqlstore.SQLite:
		return t.UnixMicro()
	default:
		return t.UTC().Format("2006-01-02 15:04:05.000000")
	}
}

// insertOldSession inserts sess with plain SQL that names only the columns
// authkit_sessions had before migration 0003, as code of that version did.
func (h Harness) insertOldSession(t testing.TB, db execer, sess authkit.Session) {
	t.Helper()
	_, err := db.ExecContext(t.Context(),
		h.bind("INSERT INTO authkit_sessions ("+oldSessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		sess.ID, sess.UserID, sess.RefreshHash, sess.PreviousHash, h.timeValue(sess.RotatedAt),
		h.timeValue(sess.CreatedAt), h.timeValue(sess.LastUsedAt), h.timeValue(sess.ExpiresAt),
		sess.UserAgent, sess.ClientAddr)
	require.NoError(t, err, "insert a session in the shape of schema version 2")
}

// storeAt returns a Store on a fresh database migrated up to version only.
func (h Harness) storeAt(t testing.TB, version int64) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := h.NewDatabase(t)()
	s, err := sqlstore.New(db, h.Dialect)
	require.NoError(t, err, "sqlstore.New")
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.MigrateTo(t.Context(), version), "migrate up to version %d", version)
	require.Equal(t, wantVersions(version), versions(t, db), "recorded versions")
	return s, db
}

// testSession returns a never rotated session of the user, created and last
// used at created, begun by a password and a one-time code a second before.
func testSession(userID string, created time.Time) authkit.Session {
	return authkit.Session{
		ID: randomText(), UserID: userID, RefreshHash: randomHash(),
		CreatedAt: created, LastUsedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour),
		UserAgent: "enginetest/1.0", ClientAddr: "198.51.100.4",
		AuthMethods: []string{"pwd", "otp"}, AuthTime: created.Add(-time.Second),
	}
}

// assertSession checks that got equals want field by field, times by
// instant and in UTC.
func assertSession(t testing.TB, want, got authkit.Session, call string) {
	t.Helper()
	for _, tm := range []struct {
		name      string
		want, got time.Time
	}{
		{"RotatedAt", want.RotatedAt, got.RotatedAt},
		{"CreatedAt", want.CreatedAt, got.CreatedAt},
		{"LastUsedAt", want.LastUsedAt, got.LastUsedAt},
		{"ExpiresAt", want.ExpiresAt, got.ExpiresAt},
		{"AuthTime", want.AuthTime, got.AuthTime},
	} {
		assert.True(t, tm.got.Equal(tm.want), "%s: %s: got %v, want %v", call, tm.name, tm.got, tm.want)
		assert.Equal(t, time.UTC, tm.got.Location(), "%s: location of %s", call, tm.name)
	}
	want.RotatedAt, want.CreatedAt, want.LastUsedAt, want.ExpiresAt, want.AuthTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	got.RotatedAt, got.CreatedAt, got.LastUsedAt, got.ExpiresAt, got.AuthTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	assert.Equal(t, want, got, call)
}

// oldSessions returns two sessions of the user as code before migration
// 0003 made them: one fresh, one rotated once.
func oldSessions(userID string) (fresh, rotated authkit.Session) {
	base := time.Now().UTC().Truncate(time.Microsecond)
	fresh = testSession(userID, base.Add(-2*time.Hour))
	fresh.AuthMethods, fresh.AuthTime = nil, time.Time{}
	rotated = testSession(userID, base.Add(-3*time.Hour))
	rotated.AuthMethods, rotated.AuthTime = nil, time.Time{}
	rotated.PreviousHash, rotated.RotatedAt = randomHash(), base.Add(-time.Hour)
	rotated.LastUsedAt, rotated.UserAgent, rotated.ClientAddr = rotated.RotatedAt, "", ""
	return fresh, rotated
}

// signedInByPassword returns sess as migration 0003 fills it: a password
// sign-in at the time the session was created.
func signedInByPassword(sess authkit.Session) authkit.Session {
	sess.AuthMethods, sess.AuthTime = []string{"pwd"}, sess.CreatedAt
	return sess
}

// testUpgrade checks migration 0003 on a database of schema version 2 that
// holds sessions: they read back as password sign-ins at their creation,
// new sessions keep their AuthMethods and AuthTime, and code of version 2
// can still create sessions.
func testUpgrade(t *testing.T, h Harness) {
	t.Run("SessionAuth", func(t *testing.T) {
		s, db := h.storeAt(t, 2)
		ctx := t.Context()
		u := testUser(t)
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser on schema version 2")
		fresh, rotated := oldSessions(u.ID)
		h.insertOldSession(t, db, fresh)
		h.insertOldSession(t, db, rotated)

		require.NoError(t, s.Migrate(ctx), "Migrate from version 2")
		assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")

		for _, old := range []authkit.Session{fresh, rotated} {
			got, err := s.Session(ctx, old.ID)
			require.NoError(t, err, "Session of a session from before the migration")
			assertSession(t, signedInByPassword(old), got, "Session of a session from before the migration")
		}

		// Sessions made after the migration keep what they are given.
		made := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
		made.AuthMethods = []string{"pwd", "otp"}
		require.NoError(t, s.CreateSession(ctx, made), "CreateSession after the migration")
		got, err := s.Session(ctx, made.ID)
		require.NoError(t, err, "Session")
		assertSession(t, made, got, "Session of a session made after the migration")

		list, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Len(t, list, 3, "UserSessions")
		for i, want := range []authkit.Session{signedInByPassword(rotated), signedInByPassword(fresh), made} {
			assertSession(t, want, list[i], "UserSessions after the migration")
		}

		// Rotation keeps both the backfilled values and new ones.
		for _, want := range []authkit.Session{signedInByPassword(fresh), made} {
			next, at := randomHash(), time.Now().UTC().Truncate(time.Microsecond)
			got, err := s.RotateSession(ctx, want.ID, want.RefreshHash, next, at, at.Add(time.Hour))
			require.NoError(t, err, "RotateSession")
			want.PreviousHash, want.RefreshHash = want.RefreshHash, next
			want.RotatedAt, want.LastUsedAt, want.ExpiresAt = at, at, at.Add(time.Hour)
			assertSession(t, want, got, "RotateSession's result")
			got, err = s.Session(ctx, want.ID)
			require.NoError(t, err, "Session")
			assertSession(t, want, got, "Session after RotateSession")
		}
	})

	t.Run("PreviousCode", func(t *testing.T) {
		// While hosts are upgraded one by one, code of version 2 inserts
		// sessions without the new columns; they read back without
		// methods and with the zero AuthTime.
		s, db := h.newStore(t)
		ctx := t.Context()
		u := testUser(t)
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		old, _ := oldSessions(u.ID)
		h.insertOldSession(t, db, old)
		got, err := s.Session(ctx, old.ID)
		require.NoError(t, err, "Session")
		assertSession(t, old, got, "Session inserted by code of version 2")
		assert.Nil(t, got.AuthMethods, "AuthMethods of a session inserted by code of version 2")
		assert.True(t, got.AuthTime.IsZero(), "AuthTime of a session inserted by code of version 2: %v", got.AuthTime)

		// The new columns refuse NULL.
		for _, column := range []string{"auth_methods", "auth_time"} {
			sess := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
			_, err := db.ExecContext(ctx,
				h.bind("INSERT INTO authkit_sessions ("+oldSessionColumns+", "+column+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"),
				sess.ID, sess.UserID, sess.RefreshHash, sess.PreviousHash, nil,
				h.timeValue(sess.CreatedAt), h.timeValue(sess.LastUsedAt), h.timeValue(sess.ExpiresAt),
				sess.UserAgent, sess.ClientAddr)
			assert.Error(t, err, "insert a session with %s NULL", column)
		}
	})

	t.Run("Factors", func(t *testing.T) { testUpgradeFactors(t, h) })

	if h.Dialect.Engine == sqlstore.MySQL {
		t.Run("Resume", func(t *testing.T) { testUpgradeResume(t, h) })
		t.Run("FactorsResume", func(t *testing.T) { testUpgradeFactorsResume(t, h) })
	}
}

// migrationStatements returns the statements of the engine's migration
// file name.
func (h Harness) migrationStatements(t testing.TB, name string) []string {
	t.Helper()
	fsys, err := h.Dialect.Engine.Migrations()
	require.NoError(t, err, "Migrations")
	text, err := fs.ReadFile(fsys, name)
	require.NoError(t, err, "read %s", name)
	statements := sqltext.Statements(string(text))
	require.NotEmpty(t, statements, "statements of %s", name)
	return statements
}

// deleteUserAsVersion3 deletes the user with plain SQL as DeleteUser of
// schema version 3 did, naming only the tables it knew.
func (h Harness) deleteUserAsVersion3(t testing.TB, db execer, id string) {
	t.Helper()
	for _, q := range []string{
		"DELETE FROM authkit_sessions WHERE user_id = ?",
		"DELETE FROM authkit_tokens WHERE user_id = ?",
		"DELETE FROM authkit_users WHERE id = ?",
	} {
		_, err := db.ExecContext(t.Context(), h.bind(q), id)
		require.NoError(t, err, "delete a user as code of schema version 3: %s", q)
	}
}

// factorRows returns how many rows of the user authkit_totp and
// authkit_recovery_codes hold.
func (h Harness) factorRows(t testing.TB, db *sql.DB, userID string) (totp, codes int) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, db.QueryRowContext(ctx, h.bind("SELECT COUNT(*) FROM authkit_totp WHERE user_id = ?"), userID).Scan(&totp), "count authkit_totp")
	require.NoError(t, db.QueryRowContext(ctx, h.bind("SELECT COUNT(*) FROM authkit_recovery_codes WHERE user_id = ?"), userID).Scan(&codes), "count authkit_recovery_codes")
	return totp, codes
}

// enrol gives the user a TOTP factor confirmed at step and n recovery
// codes, and returns the factor as stored and the codes' hashes.
func enrol(t testing.TB, s *sqlstore.Store, userID string, step int64, n int) (authkit.TOTPFactor, []string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := authkit.TOTPFactor{UserID: userID, Secret: []byte("\x00sealed\xff seed"), KeyID: "k1", CreatedAt: now.Add(-time.Minute)}
	require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP")
	require.NoError(t, s.ConfirmTOTP(ctx, userID, now, step), "ConfirmTOTP")
	f.ConfirmedAt, f.LastStep = now, step
	hashes := make([]string, n)
	for i := range hashes {
		hashes[i] = randomHash()
	}
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, userID, hashes, now), "ReplaceRecoveryCodes")
	return f, hashes
}

// assertFactor checks that got equals want field by field, times by
// instant and in UTC.
func assertFactor(t testing.TB, want, got authkit.TOTPFactor, call string) {
	t.Helper()
	for _, tm := range []struct {
		name      string
		want, got time.Time
	}{
		{"CreatedAt", want.CreatedAt, got.CreatedAt},
		{"ConfirmedAt", want.ConfirmedAt, got.ConfirmedAt},
	} {
		assert.True(t, tm.got.Equal(tm.want), "%s: %s: got %v, want %v", call, tm.name, tm.got, tm.want)
		if !tm.want.IsZero() {
			assert.Equal(t, time.UTC, tm.got.Location(), "%s: location of %s", call, tm.name)
		}
	}
	want.CreatedAt, want.ConfirmedAt = time.Time{}, time.Time{}
	got.CreatedAt, got.ConfirmedAt = time.Time{}, time.Time{}
	assert.Equal(t, want, got, call)
}

// testUpgradeFactors checks migration 0004 on a database of schema version
// 3 that holds an account: the account is left as it was, second factors
// work afterwards, and code of version 3, which deletes users without
// knowing of second factors, takes them with the user through the foreign
// keys.
func testUpgradeFactors(t *testing.T, h Harness) {
	s, db := h.storeAt(t, 3)
	ctx := t.Context()
	u, other := testUser(t), testUser(t)
	for _, x := range []authkit.User{u, other} {
		require.NoError(t, s.CreateUser(ctx, x), "CreateUser on schema version 3")
	}
	sess := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
	require.NoError(t, s.CreateSession(ctx, sess), "CreateSession on schema version 3")

	// Before the migration the tables are missing: an error, never a
	// store error that would read as "no factor".
	_, err := s.TOTP(ctx, u.ID)
	require.Error(t, err, "TOTP on schema version 3")
	assert.NotErrorIs(t, err, authkit.ErrNotFound, "TOTP on schema version 3")

	require.NoError(t, s.Migrate(ctx), "Migrate from version 3")
	assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")

	got, err := s.UserByID(ctx, u.ID)
	require.NoError(t, err, "UserByID after the migration")
	assert.Equal(t, u.ID, got.ID, "UserByID after the migration")
	gotSess, err := s.Session(ctx, sess.ID)
	require.NoError(t, err, "Session after the migration")
	assertSession(t, sess, gotSess, "Session of a session from before the migration")
	_, err = s.TOTP(ctx, u.ID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "TOTP of a user from before the migration")

	f, hashes := enrol(t, s, u.ID, 1000, 3)
	gotF, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	assertFactor(t, f, gotF, "TOTP after the migration")
	require.NoError(t, s.UseTOTPStep(ctx, u.ID, 1001), "UseTOTPStep")
	require.NoError(t, s.UseRecoveryCode(ctx, u.ID, hashes[0], time.Now()), "UseRecoveryCode")
	left, err := s.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err, "RecoveryCodesLeft")
	assert.Equal(t, 2, left, "RecoveryCodesLeft")

	enrol(t, s, other.ID, 5, 2)
	h.deleteUserAsVersion3(t, db, u.ID)
	totp, codes := h.factorRows(t, db, u.ID)
	assert.Zero(t, totp, "authkit_totp rows of a user deleted by code of version 3")
	assert.Zero(t, codes, "authkit_recovery_codes rows of a user deleted by code of version 3")
	totp, codes = h.factorRows(t, db, other.ID)
	assert.Equal(t, 1, totp, "authkit_totp rows of another user")
	assert.Equal(t, 2, codes, "authkit_recovery_codes rows of another user")
}

// testUpgradeFactorsResume checks that on MySQL, which commits each
// statement of a migration on its own, Migrate completes migration 0004
// after it stopped after any of its statements.
func testUpgradeFactorsResume(t *testing.T, h Harness) {
	statements := h.migrationStatements(t, "0004_factors.sql")
	for done := 1; done <= len(statements); done++ {
		t.Run(fmt.Sprintf("After%d", done), func(t *testing.T) {
			s, db := h.storeAt(t, 3)
			ctx := t.Context()
			for i, stmt := range statements[:done] {
				_, err := db.ExecContext(ctx, stmt)
				require.NoError(t, err, "statement %d of 0004_factors.sql", i+1)
			}
			require.NoError(t, s.Migrate(ctx), "Migrate after %d statements of 0004_factors.sql", done)
			assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")
			u := testUser(t)
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
			enrol(t, s, u.ID, 1, 2)
		})
	}
}

// testUpgradeResume checks that on MySQL, which commits each statement of a
// migration on its own, Migrate completes migration 0003 after it stopped
// after any of its statements.
func testUpgradeResume(t *testing.T, h Harness) {
	statements := h.migrationStatements(t, "0003_session_auth.sql")

	for done := 1; done <= len(statements); done++ {
		t.Run(fmt.Sprintf("After%d", done), func(t *testing.T) {
			s, db := h.storeAt(t, 2)
			ctx := t.Context()
			u := testUser(t)
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
			fresh, rotated := oldSessions(u.ID)
			h.insertOldSession(t, db, fresh)

			// The prepared statement of the migration lives in its
			// session: run the statements on one connection.
			conn, err := db.Conn(ctx)
			require.NoError(t, err, "Conn")
			for i, stmt := range statements[:done] {
				_, err := conn.ExecContext(ctx, stmt)
				require.NoError(t, err, "statement %d of 0003_session_auth.sql", i+1)
			}
			require.NoError(t, conn.Close(), "close the connection")

			// Code of version 2 may insert sessions while the migration is
			// stopped. Until auth_time is NOT NULL, their sessions are
			// filled like the older ones; afterwards they take the defaults.
			var nullable sql.NullString
			require.NoError(t, db.QueryRowContext(ctx, "SELECT MAX(is_nullable) FROM information_schema.columns"+
				" WHERE table_schema = DATABASE() AND table_name = 'authkit_sessions' AND column_name = 'auth_time'").Scan(&nullable),
				"is auth_time nullable")
			h.insertOldSession(t, db, rotated)
			wantRotated := signedInByPassword(rotated)
			if nullable.String == "NO" {
				wantRotated = rotated
			}

			require.NoError(t, s.Migrate(ctx), "Migrate after %d statements of 0003_session_auth.sql", done)
			assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")
			got, err := s.Session(ctx, fresh.ID)
			require.NoError(t, err, "Session")
			assertSession(t, signedInByPassword(fresh), got, "Session from before the migration")
			got, err = s.Session(ctx, rotated.ID)
			require.NoError(t, err, "Session")
			assertSession(t, wantRotated, got, "Session inserted while the migration was stopped")
		})
	}
}

// testAuthMethods checks how the column auth_methods holds a session's
// methods, and that CreateSession refuses methods it could not give back as
// they were given.
func testAuthMethods(t *testing.T, h Harness) {
	s, db := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
	created := time.Now().UTC().Truncate(time.Microsecond)
	stored := func(id string) string {
		t.Helper()
		var v string
		require.NoError(t, db.QueryRowContext(ctx, h.bind("SELECT auth_methods FROM authkit_sessions WHERE id = ?"), id).Scan(&v), "select auth_methods")
		return v
	}

	t.Run("Column", func(t *testing.T) {
		for _, tc := range []struct {
			methods []string
			column  string
		}{
			{nil, ""},
			{[]string{}, ""},
			{[]string{"pwd"}, "pwd"},
			{[]string{"pwd", "otp", "mfa"}, "pwd otp mfa"},
		} {
			sess := testSession(u.ID, created)
			sess.AuthMethods = tc.methods
			require.NoError(t, s.CreateSession(ctx, sess), "CreateSession with AuthMethods %q", tc.methods)
			assert.Equal(t, tc.column, stored(sess.ID), "auth_methods of AuthMethods %q", tc.methods)
			got, err := s.Session(ctx, sess.ID)
			require.NoError(t, err, "Session")
			if len(tc.methods) == 0 {
				assert.Nil(t, got.AuthMethods, "AuthMethods %q read back", tc.methods)
			} else {
				assert.Equal(t, tc.methods, got.AuthMethods, "AuthMethods %q read back", tc.methods)
			}
		}
	})

	t.Run("WrittenByHand", func(t *testing.T) {
		sess := testSession(u.ID, created)
		require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
		_, err := db.ExecContext(ctx, h.bind("UPDATE authkit_sessions SET auth_methods = ? WHERE id = ?"), "  pwd   otp ", sess.ID)
		require.NoError(t, err, "write auth_methods by hand")
		got, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assert.Equal(t, []string{"pwd", "otp"}, got.AuthMethods, "AuthMethods of a column with extra spaces")
	})

	t.Run("Refused", func(t *testing.T) {
		for _, bad := range []string{"", " ", "p wd", "pwd ", "\tpwd", "pwd\n", "p\u00a0wd", "p\u2003wd", "p\x00wd", "p\xffwd"} {
			sess := testSession(u.ID, created)
			sess.AuthMethods = []string{"pwd", bad}
			err := s.CreateSession(ctx, sess)
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "CreateSession with the method %q", bad)
			assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: create session: "), "the operation prefixes the error: %v", err)
			_, err = s.Session(ctx, sess.ID)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Session of a session refused for the method %q", bad)
		}
	})
}
