package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testRecoveryCodes checks ReplaceRecoveryCodes, UseRecoveryCode and
// RecoveryCodesLeft.
func testRecoveryCodes(t *testing.T, newStore func(t testing.TB) factorStore) {
	t.Run("Use", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		assertCodesLeft(t, s, u.ID, 0, "of a user without codes")
		codes := replaceCodes(t, s, u.ID, 10)
		otherCodes := replaceCodes(t, s, other.ID, 3)
		assertCodesLeft(t, s, u.ID, 10, "after ReplaceRecoveryCodes")

		require.NoError(t, s.UseRecoveryCode(ctx, u.ID, codes[3], now()), "UseRecoveryCode")
		assertCodesLeft(t, s, u.ID, 9, "after UseRecoveryCode")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, codes[3], now()), authkit.ErrNotFound, "UseRecoveryCode of a used code")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, newHash(), now()), authkit.ErrNotFound, "UseRecoveryCode of an unknown code")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, otherCodes[0], now()), authkit.ErrNotFound, "UseRecoveryCode of another user's code")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, newID(), codes[4], now()), authkit.ErrNotFound, "UseRecoveryCode of an unknown user")
		assertCodesLeft(t, s, u.ID, 9, "after the refused calls")
		assertCodesLeft(t, s, other.ID, 3, "of another user")

		for i, h := range codes {
			err := s.UseRecoveryCode(ctx, u.ID, h, now())
			if i == 3 {
				assert.ErrorIs(t, err, authkit.ErrNotFound, "UseRecoveryCode of the used code")
			} else {
				assert.NoError(t, err, "UseRecoveryCode of code %d", i)
			}
		}
		assertCodesLeft(t, s, u.ID, 0, "after every code was used")
		assertCodesLeft(t, s, other.ID, 3, "of another user")
	})

	t.Run("Replace", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		old := replaceCodes(t, s, u.ID, 10)
		require.NoError(t, s.UseRecoveryCode(ctx, u.ID, old[0], now()), "UseRecoveryCode")

		codes := append(newCodeHashes(7), old[1]) // a hash may come back
		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes, now()), "ReplaceRecoveryCodes over used and unused codes")
		assertCodesLeft(t, s, u.ID, len(codes), "after ReplaceRecoveryCodes")
		for _, h := range old[2:] {
			assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, h, now()), authkit.ErrNotFound, "UseRecoveryCode of a replaced code")
		}
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, old[0], now()), authkit.ErrNotFound, "UseRecoveryCode of a replaced used code")
		for _, h := range codes {
			assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, h, now()), "UseRecoveryCode of a new code")
		}
		assertCodesLeft(t, s, u.ID, 0, "after every new code was used")

		// A used code given again is unused again.
		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes[:2], now()), "ReplaceRecoveryCodes with used hashes")
		assertCodesLeft(t, s, u.ID, 2, "after ReplaceRecoveryCodes with used hashes")
		assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, codes[0], now()), "UseRecoveryCode of a code given again")

		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, nil, now()), "ReplaceRecoveryCodes with none")
		assertCodesLeft(t, s, u.ID, 0, "after ReplaceRecoveryCodes with none")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, codes[1], now()), authkit.ErrNotFound, "UseRecoveryCode after ReplaceRecoveryCodes with none")
	})

	t.Run("ReplaceUnknownUser", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		createUser(t, s)
		id, codes := newID(), newCodeHashes(3)
		assert.ErrorIs(t, s.ReplaceRecoveryCodes(ctx, id, codes, now()), authkit.ErrNotFound, "ReplaceRecoveryCodes of an unknown user")
		assert.ErrorIs(t, s.UseRecoveryCode(ctx, id, codes[0], now()), authkit.ErrNotFound, "UseRecoveryCode after the refused ReplaceRecoveryCodes")
	})

	t.Run("SameHashTwoUsers", func(t *testing.T) {
		// Codes belong to their user: one hash held by two users is two
		// codes.
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		codes := newCodeHashes(2)
		for _, id := range []string{u.ID, other.ID} {
			require.NoError(t, s.ReplaceRecoveryCodes(ctx, id, codes, now()), "ReplaceRecoveryCodes")
		}
		require.NoError(t, s.UseRecoveryCode(ctx, u.ID, codes[0], now()), "UseRecoveryCode")
		assertCodesLeft(t, s, other.ID, 2, "of the other user")
		assert.NoError(t, s.UseRecoveryCode(ctx, other.ID, codes[0], now()), "UseRecoveryCode of the other user's code of the same hash")
		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, newCodeHashes(1), now()), "ReplaceRecoveryCodes")
		assert.NoError(t, s.UseRecoveryCode(ctx, other.ID, codes[1], now()), "UseRecoveryCode of the other user's code after a replacement")
	})

	t.Run("WithoutTOTP", func(t *testing.T) {
		// Codes are kept whether or not the user has a TOTP factor; the
		// Authenticator decides what they are good for.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		codes := replaceCodes(t, s, u.ID, 2)
		assertNoFactor(t, s, u.ID, "of a user with codes only")
		putFactor(t, s, u.ID)
		assertCodesLeft(t, s, u.ID, 2, "after PutTOTP")
		assert.NoError(t, s.UseRecoveryCode(ctx, u.ID, codes[0], now()), "UseRecoveryCode")
	})
}
