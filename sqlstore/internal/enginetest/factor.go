package enginetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore"
)

// testFactors checks what the storetest suite cannot see of second factors
// on an engine: values no engine could keep are refused alike on all of
// them, times, the columns as stored, many codes at once, DeleteUser
// without the foreign keys' cascades, and errors.
func testFactors(t *testing.T, h Harness) {
	t.Run("Refused", func(t *testing.T) { testFactorsRefused(t, h) })
	t.Run("Times", func(t *testing.T) { testFactorTimes(t, h) })
	t.Run("Columns", func(t *testing.T) { testFactorColumns(t, h) })
	t.Run("ManyCodes", func(t *testing.T) {
		s, _ := h.newStore(t)
		ctx := t.Context()
		u := testUser(t)
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		hashes := make([]string, 250)
		for i := range hashes {
			hashes[i] = randomHash()
		}
		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, hashes, time.Now()), "ReplaceRecoveryCodes with %d codes", len(hashes))
		left, err := s.RecoveryCodesLeft(ctx, u.ID)
		require.NoError(t, err, "RecoveryCodesLeft")
		assert.Equal(t, len(hashes), left, "RecoveryCodesLeft")
		for _, h := range []string{hashes[0], hashes[99], hashes[100], hashes[249]} {
			assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, h, time.Now()), "UseRecoveryCode")
		}
	})
	if h.Dialect.Engine != sqlstore.SQLite { // SQLite cannot drop a foreign key
		t.Run("DeleteUserWithoutCascades", func(t *testing.T) { testDeleteUserWithoutCascades(t, h) })
	}
	t.Run("Errors", func(t *testing.T) { testFactorErrors(t, h) })
}

// testFactorsRefused checks that the Store refuses, with
// authkit.ErrInvalidInput and storing nothing, what not every engine could
// keep, on every engine alike, and takes what is just within the limits.
func testFactorsRefused(t *testing.T, h Harness) {
	s, _ := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
	now := time.Now().UTC().Truncate(time.Microsecond)
	factor := func(secret []byte, keyID string) authkit.TOTPFactor {
		return authkit.TOTPFactor{UserID: u.ID, Secret: secret, KeyID: keyID, CreatedAt: now}
	}

	for name, f := range map[string]authkit.TOTPFactor{
		"a secret of 513 bytes":      factor(make([]byte, 513), "k"),
		"a key id of 65 bytes":       factor([]byte("s"), strings.Repeat("k", 65)),
		"a key id with NUL":          factor([]byte("s"), "k\x00"),
		"a key id that is not UTF-8": factor([]byte("s"), "k\xff"),
	} {
		err := s.PutTOTP(ctx, f)
		require.ErrorIs(t, err, authkit.ErrInvalidInput, "PutTOTP with %s", name)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: put totp: "), "the operation prefixes the error: %v", err)
		_, err = s.TOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "TOTP after PutTOTP with %s", name)
	}
	f := factor(make([]byte, 512), strings.Repeat("é", 32))
	require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP with a secret of 512 bytes and a key id of 64 bytes")
	got, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	assertFactor(t, f, got, "TOTP of a factor at the limits")

	err = s.ConfirmTOTP(ctx, u.ID, time.Time{}, 1)
	require.ErrorIs(t, err, authkit.ErrInvalidInput, "ConfirmTOTP at the zero time")
	assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: confirm totp: "), "the operation prefixes the error: %v", err)
	got, err = s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	assert.True(t, got.ConfirmedAt.IsZero(), "ConfirmedAt after ConfirmTOTP at the zero time: %v", got.ConfirmedAt)

	kept := []string{randomHash(), strings.Repeat("h", 128)}
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, kept, now), "ReplaceRecoveryCodes with a hash of 128 bytes")
	for name, hashes := range map[string][]string{
		"a hash twice":             {"a", randomHash(), "a"},
		"an empty hash":            {randomHash(), ""},
		"a hash of 129 bytes":      {strings.Repeat("h", 129)},
		"a hash with NUL":          {"h\x00"},
		"a hash that is not UTF-8": {"h\xff"},
	} {
		err := s.ReplaceRecoveryCodes(ctx, u.ID, hashes, now)
		require.ErrorIs(t, err, authkit.ErrInvalidInput, "ReplaceRecoveryCodes with %s", name)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: replace recovery codes: "), "the operation prefixes the error: %v", err)
		left, err := s.RecoveryCodesLeft(ctx, u.ID)
		require.NoError(t, err, "RecoveryCodesLeft")
		assert.Equal(t, len(kept), left, "RecoveryCodesLeft after ReplaceRecoveryCodes with %s", name)

		// No code has such a hash: not found, never a driver error.
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, hashes[len(hashes)-1], now), authkit.ErrNotFound, "UseRecoveryCode with %s", name)
	}
	for _, h := range kept {
		assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, h, now), "UseRecoveryCode of a kept code")
	}
}

// testFactorTimes checks that a factor's times come back as the same
// instant in UTC, truncated to the microsecond, whatever location they were
// given in.
func testFactorTimes(t *testing.T, h Harness) {
	s, _ := h.newStore(t)
	ctx := t.Context()
	east, west := time.FixedZone("east", 5*3600+30*60), time.FixedZone("west", -8*3600)
	for _, at := range []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 123456000, time.UTC),
		time.Now().UTC().Truncate(time.Microsecond),
	} {
		u := testUser(t)
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		f := authkit.TOTPFactor{UserID: u.ID, Secret: []byte{1}, KeyID: "k", CreatedAt: at.Add(999 * time.Nanosecond).In(east)}
		require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP")
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, at.Add(time.Second+999*time.Nanosecond).In(west), 3), "ConfirmTOTP")
		got, err := s.TOTP(ctx, u.ID)
		require.NoError(t, err, "TOTP")
		f.CreatedAt, f.ConfirmedAt, f.LastStep = at, at.Add(time.Second), 3
		assertFactor(t, f, got, "TOTP of a factor with times given in other locations")
	}
}

// testFactorColumns checks the rows as the engine holds them: the secret
// byte for byte, a pending factor's confirmed_at NULL, and the times of
// recovery codes, which no Store method returns.
func testFactorColumns(t *testing.T, h Harness) {
	s, db := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
	secret := make([]byte, 256)
	for i := range secret {
		secret[i] = byte(255 - i)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, s.PutTOTP(ctx, authkit.TOTPFactor{UserID: u.ID, Secret: secret, KeyID: "k", CreatedAt: now, LastStep: 9}), "PutTOTP")

	var stored []byte
	var pending, lastStep int64
	require.NoError(t, db.QueryRowContext(ctx, h.bind("SELECT secret, last_step, CASE WHEN confirmed_at IS NULL THEN 1 ELSE 0 END FROM authkit_totp WHERE user_id = ?"), u.ID).
		Scan(&stored, &lastStep, &pending), "select the factor")
	assert.Equal(t, secret, stored, "secret as stored")
	assert.Zero(t, lastStep, "last_step of a pending factor")
	assert.EqualValues(t, 1, pending, "confirmed_at of a pending factor is NULL")

	created, used := now.Add(-time.Hour), now
	hashes := []string{randomHash(), randomHash(), randomHash()}
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, hashes, created), "ReplaceRecoveryCodes")
	require.NoError(t, s.UseRecoveryCode(ctx, u.ID, hashes[0], used), "UseRecoveryCode")
	count := func(where string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRowContext(ctx, h.bind("SELECT COUNT(*) FROM authkit_recovery_codes WHERE user_id = ? AND "+where),
			append([]any{u.ID}, args...)...).Scan(&n), "count recovery codes where %s", where)
		return n
	}
	assert.Equal(t, 3, count("created_at = ?", h.timeValue(created)), "codes created at the time given")
	assert.Equal(t, 1, count("hash = ? AND used_at = ?", hashes[0], h.timeValue(used)), "the code used at the time given")
	assert.Equal(t, 2, count("used_at IS NULL"), "unused codes")

	// A code used at the zero time is used all the same.
	require.NoError(t, s.UseRecoveryCode(ctx, u.ID, hashes[1], time.Time{}), "UseRecoveryCode at the zero time")
	assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, hashes[1], now), authkit.ErrNotFound, "UseRecoveryCode of a code used at the zero time")
	left, err := s.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err, "RecoveryCodesLeft")
	assert.Equal(t, 1, left, "RecoveryCodesLeft after a code was used at the zero time")
}

// testDeleteUserWithoutCascades checks that DeleteUser takes the user's
// factor and codes itself, on a schema whose foreign keys a host's tooling
// dropped.
func testDeleteUserWithoutCascades(t *testing.T, h Harness) {
	s, db := h.newStore(t)
	ctx := t.Context()
	drop := "ALTER TABLE %s DROP CONSTRAINT %s_user_id_fkey"
	if h.Dialect.Engine == sqlstore.MySQL {
		drop = "ALTER TABLE %s DROP FOREIGN KEY %s_user_id_fkey"
	}
	for _, table := range []string{"authkit_totp", "authkit_recovery_codes"} {
		_, err := db.ExecContext(ctx, fmt.Sprintf(drop, table, table))
		require.NoError(t, err, "drop the foreign key of %s", table)
	}
	u, other := testUser(t), testUser(t)
	for _, x := range []authkit.User{u, other} {
		require.NoError(t, s.CreateUser(ctx, x), "CreateUser")
		enrol(t, s, x.ID, 1, 4)
	}
	require.NoError(t, s.DeleteUser(ctx, u.ID), "DeleteUser")
	totp, codes := h.factorRows(t, db, u.ID)
	assert.Zero(t, totp, "authkit_totp rows of the deleted user")
	assert.Zero(t, codes, "authkit_recovery_codes rows of the deleted user")
	totp, codes = h.factorRows(t, db, other.ID)
	assert.Equal(t, 1, totp, "authkit_totp rows of another user")
	assert.Equal(t, 4, codes, "authkit_recovery_codes rows of another user")
}

// testFactorErrors checks how the errors of the factor methods reach the
// caller: store errors by errors.Is with the operation's name, driver errors
// wrapped with it and without SQL text.
func testFactorErrors(t *testing.T, h Harness) {
	s, db := h.newStore(t)
	ctx := t.Context()
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser")

	_, err := s.TOTP(ctx, u.ID)
	require.ErrorIs(t, err, authkit.ErrNotFound, "TOTP of a user without a factor")
	assert.Equal(t, "sqlstore: totp: authkit: not found", err.Error(), "the message names the operation only")
	err = s.UseTOTPStep(ctx, u.ID, 1)
	require.ErrorIs(t, err, authkit.ErrNotFound, "UseTOTPStep of a user without a factor")
	assert.Equal(t, "sqlstore: use totp step: authkit: not found", err.Error(), "the message names the operation only")
	enrol(t, s, u.ID, 5, 1)
	err = s.PutTOTP(ctx, authkit.TOTPFactor{UserID: u.ID, Secret: []byte{1}, KeyID: "k"})
	require.ErrorIs(t, err, authkit.ErrConflict, "PutTOTP over a confirmed factor")
	assert.Equal(t, "sqlstore: put totp: authkit: conflict", err.Error(), "the message names the operation only, not the constraint")

	_, err = db.ExecContext(ctx, "DROP TABLE authkit_recovery_codes")
	require.NoError(t, err, "drop a table under the store")
	for name, call := range map[string]func() error{
		"recovery codes left":    func() error { _, err := s.RecoveryCodesLeft(ctx, u.ID); return err },
		"use recovery code":      func() error { return s.UseRecoveryCode(ctx, u.ID, randomHash(), time.Now()) },
		"replace recovery codes": func() error { return s.ReplaceRecoveryCodes(ctx, u.ID, []string{randomHash()}, time.Now()) },
		"delete totp":            func() error { return s.DeleteTOTP(ctx, u.ID) },
	} {
		err := call()
		require.Error(t, err, "%s without its table", name)
		assert.NotErrorIs(t, err, authkit.ErrNotFound, "%s: a driver error is not ErrNotFound", name)
		assert.True(t, strings.HasPrefix(err.Error(), "sqlstore: "+name+": "), "the operation prefixes the error: %v", err)
		for _, sqlText := range []string{"SELECT", "UPDATE", "INSERT", "DELETE"} {
			assert.NotContains(t, err.Error(), sqlText, "%s: no SQL text in the error", name)
		}
	}
	got, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP after DeleteTOTP failed")
	assert.EqualValues(t, 5, got.LastStep, "the factor is left when DeleteTOTP fails")
}
