package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testDeleteUser checks DeleteUser: the user, their tokens and sessions go
// at once, nobody else's do, the email is free again, and of concurrent
// deletions exactly one succeeds.
func testDeleteUser(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("EverythingOfTheUser", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		gone, kept := newUser(), newUser()
		for _, u := range []authkit.User{gone, kept} {
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		}
		var tokens, sessions [2][]string
		for i, u := range []authkit.User{gone, kept} {
			for _, p := range []authkit.TokenPurpose{authkit.PurposeVerifyEmail, authkit.PurposeResetPassword} {
				tok := newToken(u.ID, p, now())
				require.NoError(t, s.CreateToken(ctx, tok), "CreateToken")
				tokens[i] = append(tokens[i], tok.Hash)
			}
			for range 2 {
				sess := newSession(u.ID, now())
				require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
				sessions[i] = append(sessions[i], sess.ID)
			}
		}

		require.NoError(t, s.DeleteUser(ctx, gone.ID), "DeleteUser")

		_, err := s.UserByID(ctx, gone.ID)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of the deleted user")
		_, err = s.UserByEmail(ctx, gone.Email)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByEmail of the deleted user")
		for _, h := range tokens[0] {
			_, err := s.Token(ctx, h)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Token of the deleted user")
		}
		for _, id := range sessions[0] {
			_, err := s.Session(ctx, id)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Session of the deleted user")
		}
		list, err := s.UserSessions(ctx, gone.ID)
		require.NoError(t, err, "UserSessions of the deleted user")
		assert.Empty(t, list, "UserSessions of the deleted user")

		got, err := s.UserByID(ctx, kept.ID)
		require.NoError(t, err, "UserByID of another user")
		assertUser(t, kept, got, "UserByID of another user")
		for _, h := range tokens[1] {
			_, err := s.Token(ctx, h)
			assert.NoError(t, err, "Token of another user")
		}
		for _, id := range sessions[1] {
			_, err := s.Session(ctx, id)
			assert.NoError(t, err, "Session of another user")
		}

		again := newUser()
		again.Email = mixCase(gone.Email, 1)
		assert.NoError(t, s.CreateUser(ctx, again), "CreateUser with the deleted user's email")
		assert.ErrorIs(t, s.DeleteUser(ctx, gone.ID), authkit.ErrNotFound, "DeleteUser again")
		assert.ErrorIs(t, s.DeleteUser(ctx, newID()), authkit.ErrNotFound, "DeleteUser of an unknown id")
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := newUser()
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		require.NoError(t, s.CreateSession(ctx, newSession(u.ID, now())), "CreateSession")
		errs := race(racers, func(int) error { return s.DeleteUser(ctx, u.ID) })
		oneWinner(t, errs, authkit.ErrNotFound, "DeleteUser of one user")
	})
}
