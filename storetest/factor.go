package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// factorStore is a Store that keeps second factors.
type factorStore interface {
	authkit.Store
	authkit.FactorStore
}

// testFactors checks authkit.FactorStore on a Store that implements it, and
// skips when the Store does not: the interface is optional.
func testFactors(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	if s := newStore(t); !implementsFactors(s) {
		t.Skipf("%T does not implement authkit.FactorStore", s)
	}
	newFactorStore := func(t testing.TB) factorStore {
		t.Helper()
		s := newStore(t)
		fs, ok := s.(factorStore)
		if !ok {
			t.Fatalf("newStore returned a %T, which does not implement authkit.FactorStore, after one that did", s)
		}
		return fs
	}
	t.Run("TOTP", func(t *testing.T) { testTOTP(t, newFactorStore) })
	t.Run("RecoveryCodes", func(t *testing.T) { testRecoveryCodes(t, newFactorStore) })
	t.Run("DeleteUser", func(t *testing.T) { testFactorsDeleteUser(t, newFactorStore) })
	t.Run("Copies", func(t *testing.T) { testFactorCopies(t, newFactorStore) })
	t.Run("Context", func(t *testing.T) { testFactorContext(t, newFactorStore) })
	t.Run("Concurrency", func(t *testing.T) { testFactorConcurrency(t, newFactorStore) })
}

// implementsFactors reports whether s keeps second factors.
func implementsFactors(s authkit.Store) bool {
	_, ok := s.(authkit.FactorStore)
	return ok
}

// newSecret returns n bytes shaped like a sealed TOTP seed: random, with a
// NUL, an 0xff and a lone UTF-8 lead byte at its start so that a store that
// keeps it as text shows it.
func newSecret(n int) []byte {
	b := randomBytes(n)
	copy(b, []byte{0x00, 0xff, 0xc3})
	return b
}

// newFactor returns a pending TOTP factor of the user, created at created,
// with a secret the size of an AES-GCM sealed 20-byte seed.
func newFactor(userID string, created time.Time) authkit.TOTPFactor {
	return authkit.TOTPFactor{
		UserID:    userID,
		Secret:    newSecret(12 + 20 + 16),
		KeyID:     "totp-key-2030-01",
		CreatedAt: created,
	}
}

// putFactor stores a new pending factor of the user in s and returns it.
func putFactor(t testing.TB, s authkit.FactorStore, userID string) authkit.TOTPFactor {
	t.Helper()
	f := newFactor(userID, now().Add(-time.Minute))
	require.NoError(t, s.PutTOTP(t.Context(), f), "PutTOTP")
	return f
}

// confirmFactor stores a new factor of the user in s, confirmed now at
// step, and returns it as stored.
func confirmFactor(t testing.TB, s authkit.FactorStore, userID string, step int64) authkit.TOTPFactor {
	t.Helper()
	f := putFactor(t, s, userID)
	f.ConfirmedAt, f.LastStep = now(), step
	require.NoError(t, s.ConfirmTOTP(t.Context(), userID, f.ConfirmedAt, step), "ConfirmTOTP")
	return f
}

// newCodeHashes returns n recovery code hashes.
func newCodeHashes(n int) []string {
	hashes := make([]string, n)
	for i := range hashes {
		hashes[i] = newHash()
	}
	return hashes
}

// replaceCodes gives the user n new recovery codes in s and returns their
// hashes.
func replaceCodes(t testing.TB, s authkit.FactorStore, userID string, n int) []string {
	t.Helper()
	hashes := newCodeHashes(n)
	require.NoError(t, s.ReplaceRecoveryCodes(t.Context(), userID, hashes, now()), "ReplaceRecoveryCodes")
	return hashes
}

// assertFactor checks that got equals want field by field, times by
// instant, and Secret byte for byte.
func assertFactor(t testing.TB, want, got authkit.TOTPFactor, call string) {
	t.Helper()
	assertTime(t, want.CreatedAt, got.CreatedAt, call+": CreatedAt")
	assertTime(t, want.ConfirmedAt, got.ConfirmedAt, call+": ConfirmedAt")
	assert.Truef(t, bytes.Equal(want.Secret, got.Secret), "%s: Secret: got %x, want %x", call, got.Secret, want.Secret)
	want.CreatedAt, want.ConfirmedAt, want.Secret = time.Time{}, time.Time{}, nil
	got.CreatedAt, got.ConfirmedAt, got.Secret = time.Time{}, time.Time{}, nil
	assert.Equal(t, want, got, call)
}

// assertFactorOf checks that s holds want as the factor of want.UserID.
func assertFactorOf(t testing.TB, s authkit.FactorStore, want authkit.TOTPFactor, call string) {
	t.Helper()
	got, err := s.TOTP(t.Context(), want.UserID)
	if assert.NoError(t, err, "TOTP %s", call) {
		assertFactor(t, want, got, "TOTP "+call)
	}
}

// assertNoFactor checks that s holds no factor of the user.
func assertNoFactor(t testing.TB, s authkit.FactorStore, userID, call string) {
	t.Helper()
	_, err := s.TOTP(t.Context(), userID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "TOTP %s", call)
}

// assertCodesLeft checks how many unused recovery codes s counts for the
// user.
func assertCodesLeft(t testing.TB, s authkit.FactorStore, userID string, want int, call string) {
	t.Helper()
	n, err := s.RecoveryCodesLeft(t.Context(), userID)
	if assert.NoError(t, err, "RecoveryCodesLeft %s", call) {
		assert.Equal(t, want, n, "RecoveryCodesLeft %s", call)
	}
}

// testTOTP checks PutTOTP, TOTP, ConfirmTOTP, UseTOTPStep and DeleteTOTP.
func testTOTP(t *testing.T, newStore func(t testing.TB) factorStore) {
	t.Run("RoundTrip", func(t *testing.T) {
		// The secret is opaque bytes, up to 512 of them, and the key id
		// up to 64 bytes; a factor is pending, with LastStep 0, until
		// confirmed.
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		f := newFactor(u.ID, now().Add(-time.Hour))
		f.Secret = make([]byte, 512)
		for i := range f.Secret {
			f.Secret[i] = byte(i)
		}
		f.KeyID = fmt.Sprintf("%064d", 7)
		require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP with a 512-byte secret and a 64-byte key id")
		assertFactorOf(t, s, f, "of a pending factor")

		g := newFactor(other.ID, now())
		g.Secret, g.KeyID = newSecret(1), "k"
		require.NoError(t, s.PutTOTP(ctx, g), "PutTOTP of another user")
		assertFactorOf(t, s, g, "of another user's factor")
		assertFactorOf(t, s, f, "after another user's PutTOTP")
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		u := createUser(t, s)
		putFactor(t, s, createUser(t, s).ID)
		assertNoFactor(t, s, u.ID, "of a user without a factor")
		assertNoFactor(t, s, newID(), "of an unknown user")
	})

	t.Run("PutUnknownUser", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		createUser(t, s)
		f := newFactor(newID(), now())
		assert.ErrorIs(t, s.PutTOTP(ctx, f), authkit.ErrNotFound, "PutTOTP of an unknown user")
		assertNoFactor(t, s, f.UserID, "after PutTOTP of an unknown user")
	})

	t.Run("PutReplacesPending", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		putFactor(t, s, u.ID)
		g := newFactor(u.ID, now())
		g.KeyID = "totp-key-2030-02"
		require.NoError(t, s.PutTOTP(ctx, g), "PutTOTP over a pending factor")
		assertFactorOf(t, s, g, "after a pending factor was replaced")
	})

	t.Run("PutStoresPending", func(t *testing.T) {
		// PutTOTP never makes a confirmed factor, whatever it is given.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := newFactor(u.ID, now().Add(-time.Minute))
		f.ConfirmedAt, f.LastStep = now(), 7
		require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP with ConfirmedAt and LastStep set")
		want := f
		want.ConfirmedAt, want.LastStep = time.Time{}, 0
		assertFactorOf(t, s, want, "of a factor put with ConfirmedAt and LastStep set")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 8), authkit.ErrNotFound, "UseTOTPStep of a factor put with ConfirmedAt set")
		require.NoError(t, s.PutTOTP(ctx, newFactor(u.ID, now())), "PutTOTP over a factor put with ConfirmedAt set")
	})

	t.Run("PutOverConfirmed", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := confirmFactor(t, s, u.ID, 1000)
		assert.ErrorIs(t, s.PutTOTP(ctx, newFactor(u.ID, now())), authkit.ErrConflict, "PutTOTP over a confirmed factor")
		assertFactorOf(t, s, f, "after the refused PutTOTP")
		require.NoError(t, s.UseTOTPStep(ctx, u.ID, 1001), "UseTOTPStep after the refused PutTOTP")
	})

	t.Run("Confirm", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		f := putFactor(t, s, u.ID)
		g := putFactor(t, s, other.ID)

		at := now()
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, at, 59_000_000), "ConfirmTOTP")
		want := f
		want.ConfirmedAt, want.LastStep = at, 59_000_000
		assertFactorOf(t, s, want, "after ConfirmTOTP")
		assertFactorOf(t, s, g, "of another user after ConfirmTOTP")

		err := s.ConfirmTOTP(ctx, u.ID, at.Add(time.Minute), 59_000_002)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "ConfirmTOTP of a confirmed factor")
		assertFactorOf(t, s, want, "after the second ConfirmTOTP")

		assert.ErrorIs(t, s.ConfirmTOTP(ctx, createUser(t, s).ID, at, 1), authkit.ErrNotFound, "ConfirmTOTP of a user without a factor")
		assert.ErrorIs(t, s.ConfirmTOTP(ctx, newID(), at, 1), authkit.ErrNotFound, "ConfirmTOTP of an unknown user")
	})

	t.Run("UseStep", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := confirmFactor(t, s, u.ID, 100)
		for _, c := range []struct {
			step int64
			want error
		}{
			{100, authkit.ErrConflict}, // the step that confirmed it
			{99, authkit.ErrConflict},
			{101, nil},
			{101, authkit.ErrConflict}, // a replay
			{105, nil},
			{103, authkit.ErrConflict}, // older than the last one
			{0, authkit.ErrConflict},
			{-1, authkit.ErrConflict},
			{106, nil},
		} {
			err := s.UseTOTPStep(ctx, u.ID, c.step)
			if c.want == nil {
				require.NoError(t, err, "UseTOTPStep(%d)", c.step)
				f.LastStep = c.step
			} else {
				assert.ErrorIs(t, err, c.want, "UseTOTPStep(%d) after step %d", c.step, f.LastStep)
			}
			assertFactorOf(t, s, f, fmt.Sprintf("after UseTOTPStep(%d)", c.step))
		}
	})

	t.Run("UseStepNotConfirmed", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := putFactor(t, s, u.ID)
		assert.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 5), authkit.ErrNotFound, "UseTOTPStep of a pending factor")
		assertFactorOf(t, s, f, "after UseTOTPStep of a pending factor")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, createUser(t, s).ID, 5), authkit.ErrNotFound, "UseTOTPStep of a user without a factor")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, newID(), 5), authkit.ErrNotFound, "UseTOTPStep of an unknown user")
	})

	t.Run("Delete", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		confirmFactor(t, s, u.ID, 7)
		codes := replaceCodes(t, s, u.ID, 10)
		g := confirmFactor(t, s, other.ID, 8)
		otherCodes := replaceCodes(t, s, other.ID, 10)

		require.NoError(t, s.DeleteTOTP(ctx, u.ID), "DeleteTOTP")
		assertNoFactor(t, s, u.ID, "after DeleteTOTP")
		assertCodesLeft(t, s, u.ID, 0, "after DeleteTOTP")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, codes[0], now()), authkit.ErrNotFound, "UseRecoveryCode after DeleteTOTP")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 9), authkit.ErrNotFound, "UseTOTPStep after DeleteTOTP")

		assertFactorOf(t, s, g, "of another user after DeleteTOTP")
		assertCodesLeft(t, s, other.ID, 10, "of another user after DeleteTOTP")
		assert.NoError(t, s.UseRecoveryCode(ctx, other.ID, otherCodes[0], now()), "UseRecoveryCode of another user after DeleteTOTP")

		assert.NoError(t, s.DeleteTOTP(ctx, u.ID), "DeleteTOTP again")
		assert.NoError(t, s.DeleteTOTP(ctx, newID()), "DeleteTOTP of an unknown user")

		// Enrolling again starts from a pending factor.
		f := putFactor(t, s, u.ID)
		assertFactorOf(t, s, f, "after enrolling again")
		require.NoError(t, s.DeleteTOTP(ctx, u.ID), "DeleteTOTP of a pending factor")
		assertNoFactor(t, s, u.ID, "after DeleteTOTP of a pending factor")
	})
}

// testFactorsDeleteUser checks that DeleteUser takes the user's factor and
// recovery codes with it, and nobody else's.
func testFactorsDeleteUser(t *testing.T, newStore func(t testing.TB) factorStore) {
	s, ctx := newStore(t), t.Context()
	gone, kept, pending := createUser(t, s), createUser(t, s), createUser(t, s)
	confirmFactor(t, s, gone.ID, 10)
	codes := replaceCodes(t, s, gone.ID, 10)
	f := confirmFactor(t, s, kept.ID, 20)
	keptCodes := replaceCodes(t, s, kept.ID, 10)
	putFactor(t, s, pending.ID)

	for _, id := range []string{gone.ID, pending.ID} {
		require.NoError(t, s.DeleteUser(ctx, id), "DeleteUser")
		assertNoFactor(t, s, id, "of a deleted user")
		assertCodesLeft(t, s, id, 0, "of a deleted user")
	}
	assert.ErrorIs(t, s.UseTOTPStep(ctx, gone.ID, 11), authkit.ErrNotFound, "UseTOTPStep of a deleted user")
	assert.ErrorIs(t, s.UseRecoveryCode(ctx, gone.ID, codes[0], now()), authkit.ErrNotFound, "UseRecoveryCode of a deleted user")

	assertFactorOf(t, s, f, "of another user after DeleteUser")
	assertCodesLeft(t, s, kept.ID, 10, "of another user after DeleteUser")
	assert.NoError(t, s.UseRecoveryCode(ctx, kept.ID, keptCodes[0], now()), "UseRecoveryCode of another user after DeleteUser")

	// A user made again under the same id starts with nothing.
	again := newUser()
	again.ID = gone.ID
	require.NoError(t, s.CreateUser(ctx, again), "CreateUser with the deleted user's id")
	assertNoFactor(t, s, again.ID, "of a user made again with a deleted user's id")
	assertCodesLeft(t, s, again.ID, 0, "of a user made again with a deleted user's id")
	assert.ErrorIs(t, s.UseRecoveryCode(ctx, again.ID, codes[1], now()), authkit.ErrNotFound, "UseRecoveryCode of a deleted user's code")
	require.NoError(t, s.PutTOTP(ctx, newFactor(again.ID, now())), "PutTOTP of a user made again with a deleted user's id")
}

// testFactorCopies checks that the Secret a FactorStore takes and returns,
// and the hashes it takes, are copies.
func testFactorCopies(t *testing.T, newStore func(t testing.TB) factorStore) {
	s, ctx := newStore(t), t.Context()
	u := createUser(t, s)
	f := newFactor(u.ID, now())
	want := f
	want.Secret = bytes.Clone(f.Secret)
	require.NoError(t, s.PutTOTP(ctx, f), "PutTOTP")
	clear(f.Secret)
	assertFactorOf(t, s, want, "after changing the Secret put")

	got, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	clear(got.Secret)
	assertFactorOf(t, s, want, "after changing the Secret of a returned value")

	// Two readers get a Secret each.
	a, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	b, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err, "TOTP")
	clear(a.Secret)
	assert.Equal(t, want.Secret, b.Secret, "Secret of one returned value after changing another's")

	codes := newCodeHashes(3)
	given := append([]string(nil), codes...)
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, given, now()), "ReplaceRecoveryCodes")
	given[0], given[1] = newHash(), newHash()
	assertCodesLeft(t, s, u.ID, 3, "after changing the hashes given")
	for _, h := range codes {
		assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, h, now()), "UseRecoveryCode of a code whose slice element was changed")
	}
}

// testFactorContext checks that every FactorStore method fails when its
// context is already cancelled. Which error it returns is up to the store.
func testFactorContext(t *testing.T, newStore func(t testing.TB) factorStore) {
	s := newStore(t)
	u, pending := createUser(t, s), createUser(t, s)
	confirmFactor(t, s, u.ID, 1)
	putFactor(t, s, pending.ID)
	codes := replaceCodes(t, s, u.ID, 2)
	at := now()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	calls := []struct {
		name string
		call func() error
	}{
		{"PutTOTP", func() error { return s.PutTOTP(ctx, newFactor(pending.ID, at)) }},
		{"TOTP", func() error { _, err := s.TOTP(ctx, u.ID); return err }},
		{"ConfirmTOTP", func() error { return s.ConfirmTOTP(ctx, pending.ID, at, 2) }},
		{"UseTOTPStep", func() error { return s.UseTOTPStep(ctx, u.ID, 2) }},
		{"DeleteTOTP", func() error { return s.DeleteTOTP(ctx, u.ID) }},
		{"ReplaceRecoveryCodes", func() error { return s.ReplaceRecoveryCodes(ctx, u.ID, newCodeHashes(2), at) }},
		{"UseRecoveryCode", func() error { return s.UseRecoveryCode(ctx, u.ID, codes[0], at) }},
		{"RecoveryCodesLeft", func() error { _, err := s.RecoveryCodesLeft(ctx, u.ID); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			assert.Error(t, c.call(), "%s with a cancelled context", c.name)
		})
	}
}
