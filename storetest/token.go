package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testTokens checks CreateToken, ConsumeToken, Token, DeleteUserTokens and
// DeleteExpiredTokens.
func testTokens(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		for _, purpose := range []authkit.TokenPurpose{authkit.PurposeVerifyEmail, authkit.PurposeResetPassword} {
			tok := createToken(t, s, u.ID, purpose, now())
			got, err := s.Token(ctx, tok.Hash)
			require.NoError(t, err, "Token")
			assertToken(t, tok, got, "Token")
		}
	})

	t.Run("DuplicateHash", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		tok := createToken(t, s, u.ID, authkit.PurposeVerifyEmail, now())

		dup := newToken(other.ID, authkit.PurposeResetPassword, now().Add(time.Minute))
		dup.Hash = tok.Hash
		assert.ErrorIs(t, s.CreateToken(ctx, dup), authkit.ErrAlreadyExists, "CreateToken with a taken hash")

		got, err := s.Token(ctx, tok.Hash)
		require.NoError(t, err, "Token")
		assertToken(t, tok, got, "Token after the refused duplicate")
	})

	t.Run("Consume", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		tok := createToken(t, s, u.ID, authkit.PurposeResetPassword, now().Add(-time.Minute))
		other := createToken(t, s, u.ID, authkit.PurposeResetPassword, now().Add(-time.Minute))

		at := now()
		got, err := s.ConsumeToken(ctx, tok.Hash, authkit.PurposeResetPassword, at)
		require.NoError(t, err, "ConsumeToken")
		want := tok
		want.UsedAt = at
		assertToken(t, want, got, "ConsumeToken's result")

		got, err = s.Token(ctx, tok.Hash)
		require.NoError(t, err, "Token of a used token")
		assertToken(t, want, got, "Token of a used token")

		_, err = s.ConsumeToken(ctx, tok.Hash, authkit.PurposeResetPassword, at.Add(time.Second))
		assert.ErrorIs(t, err, authkit.ErrNotFound, "ConsumeToken of a used token")
		got, err = s.Token(ctx, tok.Hash)
		require.NoError(t, err, "Token")
		assertToken(t, want, got, "Token after the second ConsumeToken")

		got, err = s.Token(ctx, other.Hash)
		require.NoError(t, err, "Token of another token")
		assertToken(t, other, got, "another token after ConsumeToken")
	})

	t.Run("ConsumeWrongPurpose", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		tok := createToken(t, s, u.ID, authkit.PurposeVerifyEmail, now())

		_, err := s.ConsumeToken(ctx, tok.Hash, authkit.PurposeResetPassword, now())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "ConsumeToken for another purpose")
		got, err := s.Token(ctx, tok.Hash)
		require.NoError(t, err, "Token")
		assertToken(t, tok, got, "Token after ConsumeToken for another purpose")

		at := now()
		got, err = s.ConsumeToken(ctx, tok.Hash, authkit.PurposeVerifyEmail, at)
		require.NoError(t, err, "ConsumeToken for its own purpose after a refusal")
		assertTime(t, at, got.UsedAt, "UsedAt")
	})

	t.Run("ConsumeUnknown", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		createToken(t, s, u.ID, authkit.PurposeVerifyEmail, now())
		_, err := s.ConsumeToken(ctx, newHash(), authkit.PurposeVerifyEmail, now())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "ConsumeToken of an unknown hash")
	})

	t.Run("ConsumeExpired", func(t *testing.T) {
		// The store decides no expiry: the Authenticator does.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		tok := newToken(u.ID, authkit.PurposeVerifyEmail, now().Add(-48*time.Hour))
		tok.ExpiresAt = now().Add(-24 * time.Hour)
		require.NoError(t, s.CreateToken(ctx, tok), "CreateToken")

		at := now()
		got, err := s.ConsumeToken(ctx, tok.Hash, authkit.PurposeVerifyEmail, at)
		require.NoError(t, err, "ConsumeToken of an expired token")
		want := tok
		want.UsedAt = at
		assertToken(t, want, got, "ConsumeToken's result")
	})

	t.Run("TokenNotFound", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		createToken(t, s, u.ID, authkit.PurposeVerifyEmail, now())
		_, err := s.Token(ctx, newHash())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "Token of an unknown hash")
	})

	t.Run("DeleteUserTokens", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		base := now().Add(-time.Minute)
		gone := []authkit.OneTimeToken{
			createToken(t, s, u.ID, authkit.PurposeVerifyEmail, base),
			createToken(t, s, u.ID, authkit.PurposeVerifyEmail, base),
			createToken(t, s, u.ID, authkit.PurposeVerifyEmail, base),
		}
		_, err := s.ConsumeToken(ctx, gone[1].Hash, authkit.PurposeVerifyEmail, now())
		require.NoError(t, err, "ConsumeToken")
		kept := []authkit.OneTimeToken{
			createToken(t, s, u.ID, authkit.PurposeResetPassword, base),
			createToken(t, s, other.ID, authkit.PurposeVerifyEmail, base),
			createToken(t, s, other.ID, authkit.PurposeResetPassword, base),
		}

		require.NoError(t, s.DeleteUserTokens(ctx, u.ID, authkit.PurposeVerifyEmail), "DeleteUserTokens")
		for _, tok := range gone {
			_, err := s.Token(ctx, tok.Hash)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Token of a deleted token")
		}
		for _, tok := range kept {
			got, err := s.Token(ctx, tok.Hash)
			if assert.NoError(t, err, "Token of a token DeleteUserTokens must keep (purpose %s)", tok.Purpose) {
				assertToken(t, tok, got, "Token of a kept token")
			}
		}

		assert.NoError(t, s.DeleteUserTokens(ctx, u.ID, authkit.PurposeVerifyEmail), "DeleteUserTokens when there are none")
		assert.NoError(t, s.DeleteUserTokens(ctx, newID(), authkit.PurposeResetPassword), "DeleteUserTokens of an unknown user")
	})

	t.Run("DeleteExpiredTokens", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		before := now()
		mk := func(userID string, purpose authkit.TokenPurpose, expires time.Time) authkit.OneTimeToken {
			tok := newToken(userID, purpose, before.Add(-48*time.Hour))
			tok.ExpiresAt = expires
			require.NoError(t, s.CreateToken(ctx, tok), "CreateToken")
			return tok
		}
		gone := []authkit.OneTimeToken{
			mk(u.ID, authkit.PurposeVerifyEmail, before.Add(-time.Hour)),
			mk(u.ID, authkit.PurposeResetPassword, before.Add(-time.Microsecond)),
			mk(other.ID, authkit.PurposeVerifyEmail, before.Add(-24*time.Hour)),
		}
		_, err := s.ConsumeToken(ctx, gone[0].Hash, authkit.PurposeVerifyEmail, before)
		require.NoError(t, err, "ConsumeToken")
		kept := []authkit.OneTimeToken{
			mk(u.ID, authkit.PurposeVerifyEmail, before), // expires at before: not before it
			mk(u.ID, authkit.PurposeResetPassword, before.Add(time.Microsecond)),
			mk(other.ID, authkit.PurposeResetPassword, before.Add(time.Hour)),
		}

		n, err := s.DeleteExpiredTokens(ctx, before)
		require.NoError(t, err, "DeleteExpiredTokens")
		assert.Equal(t, int64(len(gone)), n, "DeleteExpiredTokens' count")
		for _, tok := range gone {
			_, err := s.Token(ctx, tok.Hash)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Token of an expired token after DeleteExpiredTokens")
		}
		for _, tok := range kept {
			_, err := s.Token(ctx, tok.Hash)
			assert.NoError(t, err, "Token of a token expiring at %v after DeleteExpiredTokens(%v)", tok.ExpiresAt, before)
		}

		n, err = s.DeleteExpiredTokens(ctx, before)
		require.NoError(t, err, "DeleteExpiredTokens again")
		assert.Zero(t, n, "DeleteExpiredTokens' count when nothing expired")
	})
}
