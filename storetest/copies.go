package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testCopies checks that the values a Store takes and returns are copies:
// changing them afterwards does not change what the store holds.
func testCopies(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("User", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := newUser()
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		want := u
		u.DisplayName, u.PasswordHash, u.TokenVersion = "changed", "changed", 99

		got, err := s.UserByID(ctx, want.ID)
		require.NoError(t, err, "UserByID")
		assertUser(t, want, got, "UserByID after changing the created value")
		got.DisplayName, got.Active, got.UpdatedAt = "changed", false, time.Time{}

		got, err = s.UserByEmail(ctx, want.Email)
		require.NoError(t, err, "UserByEmail")
		assertUser(t, want, got, "UserByEmail after changing a returned value")
		got.PasswordHash = "changed"

		got, err = s.UpdateUser(ctx, want.ID, authkit.UserUpdate{UpdatedAt: want.UpdatedAt})
		require.NoError(t, err, "UpdateUser")
		got.DisplayName = "changed"
		got, err = s.UserByID(ctx, want.ID)
		require.NoError(t, err, "UserByID")
		assertUser(t, want, got, "UserByID after changing returned values")
	})

	t.Run("Token", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		tok := newToken(u.ID, authkit.PurposeVerifyEmail, now())
		require.NoError(t, s.CreateToken(ctx, tok), "CreateToken")
		want := tok
		tok.Purpose, tok.UserID = authkit.PurposeResetPassword, newID()

		got, err := s.Token(ctx, want.Hash)
		require.NoError(t, err, "Token")
		assertToken(t, want, got, "Token after changing the created value")
		got.UsedAt = now()

		at := now()
		got, err = s.ConsumeToken(ctx, want.Hash, authkit.PurposeVerifyEmail, at)
		require.NoError(t, err, "ConsumeToken after changing a returned value")
		got.UsedAt = time.Time{}
		want.UsedAt = at
		got, err = s.Token(ctx, want.Hash)
		require.NoError(t, err, "Token")
		assertToken(t, want, got, "Token after changing returned values")
	})

	t.Run("Session", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := newSession(u.ID, now().Add(-time.Minute))
		require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
		want := sess
		want.AuthMethods = slices.Clone(sess.AuthMethods)
		sess.RefreshHash, sess.UserID = newHash(), newID()
		// The store must not keep the caller's slice either.
		overwrite(sess.AuthMethods)
		sess.AuthTime = time.Time{}

		got, err := s.Session(ctx, want.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after changing the created value")
		got.RefreshHash = newHash()
		overwrite(got.AuthMethods)

		got, err = s.Session(ctx, want.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after changing the AuthMethods of a returned value")

		list, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Len(t, list, 1, "UserSessions")
		assertSession(t, want, list[0], "UserSessions after changing a returned value")
		list[0].RefreshHash, list[0].ExpiresAt = newHash(), time.Time{}
		overwrite(list[0].AuthMethods)

		list, err = s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Len(t, list, 1, "UserSessions")
		assertSession(t, want, list[0], "UserSessions after changing an element of a returned slice")

		h, at := newHash(), now()
		got, err = s.RotateSession(ctx, want.ID, want.RefreshHash, h, at, at.Add(time.Hour))
		require.NoError(t, err, "RotateSession")
		got.RefreshHash = newHash()
		overwrite(got.AuthMethods)
		want.PreviousHash, want.RefreshHash = want.RefreshHash, h
		want.RotatedAt, want.LastUsedAt, want.ExpiresAt = at, at, at.Add(time.Hour)
		got, err = s.Session(ctx, want.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after changing returned values")
	})
}

// overwrite replaces every element of methods, in place.
func overwrite(methods []string) {
	for i := range methods {
		methods[i] = "changed"
	}
}
