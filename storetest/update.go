package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testUpdateUser checks UpdateUser: each field, the compare-and-swap on the
// password hash and the sessions it ends.
func testUpdateUser(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	newHashValue := newPasswordHash()
	fields := []struct {
		name  string
		base  func(u *authkit.User) // adjusts the user before it is created
		upd   authkit.UserUpdate
		apply func(u *authkit.User) // what the update must change
	}{
		{
			name:  "OnlyUpdatedAt",
			apply: func(*authkit.User) {},
		},
		{
			name:  "PasswordHash",
			upd:   authkit.UserUpdate{PasswordHash: new(newHashValue)},
			apply: func(u *authkit.User) { u.PasswordHash = newHashValue },
		},
		{
			name:  "DisplayName",
			upd:   authkit.UserUpdate{DisplayName: new("Grace Hopper")},
			apply: func(u *authkit.User) { u.DisplayName = "Grace Hopper" },
		},
		{
			name:  "DisplayNameEmpty",
			upd:   authkit.UserUpdate{DisplayName: new("")},
			apply: func(u *authkit.User) { u.DisplayName = "" },
		},
		{
			name:  "ActiveFalse",
			upd:   authkit.UserUpdate{Active: new(false)},
			apply: func(u *authkit.User) { u.Active = false },
		},
		{
			name:  "ActiveTrue",
			base:  func(u *authkit.User) { u.Active = false },
			upd:   authkit.UserUpdate{Active: new(true)},
			apply: func(u *authkit.User) { u.Active = true },
		},
		{
			name:  "EmailVerifiedTrue",
			upd:   authkit.UserUpdate{EmailVerified: new(true)},
			apply: func(u *authkit.User) { u.EmailVerified = true },
		},
		{
			name:  "EmailVerifiedFalse",
			base:  func(u *authkit.User) { u.EmailVerified = true },
			upd:   authkit.UserUpdate{EmailVerified: new(false)},
			apply: func(u *authkit.User) { u.EmailVerified = false },
		},
		{
			name:  "BumpTokenVersion",
			upd:   authkit.UserUpdate{BumpTokenVersion: true},
			apply: func(u *authkit.User) { u.TokenVersion++ },
		},
		{
			name: "Everything",
			upd: authkit.UserUpdate{
				PasswordHash: new(newHashValue), DisplayName: new("Grace Hopper"),
				Active: new(false), EmailVerified: new(true), BumpTokenVersion: true,
			},
			apply: func(u *authkit.User) {
				u.PasswordHash, u.DisplayName, u.Active, u.EmailVerified = newHashValue, "Grace Hopper", false, true
				u.TokenVersion++
			},
		},
	}
	for _, tc := range fields {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := newStore(t), t.Context()
			u := newUser()
			if tc.base != nil {
				tc.base(&u)
			}
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
			other := createUser(t, s)

			upd := tc.upd
			upd.UpdatedAt = u.UpdatedAt.Add(time.Hour)
			want := u
			tc.apply(&want)
			want.UpdatedAt = upd.UpdatedAt

			got, err := s.UpdateUser(ctx, u.ID, upd)
			require.NoError(t, err, "UpdateUser")
			assertUser(t, want, got, "UpdateUser's result")
			got, err = s.UserByID(ctx, u.ID)
			require.NoError(t, err, "UserByID")
			assertUser(t, want, got, "UserByID after UpdateUser")
			got, err = s.UserByEmail(ctx, u.Email)
			require.NoError(t, err, "UserByEmail")
			assertUser(t, want, got, "UserByEmail after UpdateUser")

			got, err = s.UserByID(ctx, other.ID)
			require.NoError(t, err, "UserByID of another user")
			assertUser(t, other, got, "another user after UpdateUser")
		})
	}

	t.Run("BumpTokenVersionTwice", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		for i := range int64(2) {
			got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
			require.NoError(t, err, "UpdateUser")
			assert.Equal(t, u.TokenVersion+i+1, got.TokenVersion, "TokenVersion after bump %d", i+1)
		}
	})

	t.Run("IfPasswordHashMatches", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		hash := newPasswordHash()
		got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{
			PasswordHash: new(hash), IfPasswordHash: u.PasswordHash, BumpTokenVersion: true, UpdatedAt: now(),
		})
		require.NoError(t, err, "UpdateUser with the current hash as IfPasswordHash")
		assert.Equal(t, hash, got.PasswordHash, "PasswordHash after the swap")
		assert.Equal(t, u.TokenVersion+1, got.TokenVersion, "TokenVersion after the swap")

		// The old hash no longer matches.
		_, err = s.UpdateUser(ctx, u.ID, authkit.UserUpdate{
			PasswordHash: new(newPasswordHash()), IfPasswordHash: u.PasswordHash, UpdatedAt: now(),
		})
		assert.ErrorIs(t, err, authkit.ErrConflict, "UpdateUser with the replaced hash as IfPasswordHash")
		stored, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assert.Equal(t, hash, stored.PasswordHash, "PasswordHash after the refused swap")
	})

	t.Run("IfPasswordHashMismatchWritesNothing", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := createSession(t, s, u.ID, now())
		_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{
			PasswordHash:     new(newPasswordHash()),
			IfPasswordHash:   newPasswordHash(),
			DisplayName:      new("Changed"),
			Active:           new(false),
			EmailVerified:    new(true),
			BumpTokenVersion: true,
			EndSessions:      true,
			UpdatedAt:        u.UpdatedAt.Add(time.Hour),
		})
		assert.ErrorIs(t, err, authkit.ErrConflict, "UpdateUser with a wrong IfPasswordHash")

		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assertUser(t, u, got, "UserByID after the refused update")
		_, err = s.Session(ctx, sess.ID)
		assert.NoError(t, err, "Session after the refused update with EndSessions")
	})

	t.Run("EndSessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		base := now().Add(-time.Hour)
		var mine []authkit.Session
		for i := range 3 {
			mine = append(mine, createSession(t, s, u.ID, base.Add(time.Duration(i)*time.Minute)))
		}
		theirs := []authkit.Session{createSession(t, s, other.ID, base), createSession(t, s, other.ID, base.Add(time.Minute))}

		got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{EndSessions: true, BumpTokenVersion: true, UpdatedAt: now()})
		require.NoError(t, err, "UpdateUser with EndSessions")
		assert.Equal(t, u.TokenVersion+1, got.TokenVersion, "TokenVersion")

		left, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		assert.Empty(t, left, "sessions of the user after EndSessions")
		for _, sess := range mine {
			_, err := s.Session(ctx, sess.ID)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "Session of an ended session")
		}
		left, err = s.UserSessions(ctx, other.ID)
		require.NoError(t, err, "UserSessions of another user")
		assert.Equal(t, sessionIDs(theirs), sessionIDs(left), "sessions of another user after EndSessions")
	})

	t.Run("EndSessionsKeepSession", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		base := now().Add(-time.Hour)
		var mine []authkit.Session
		for i := range 3 {
			mine = append(mine, createSession(t, s, u.ID, base.Add(time.Duration(i)*time.Minute)))
		}
		theirs := createSession(t, s, other.ID, base)

		_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{EndSessions: true, KeepSession: mine[1].ID, UpdatedAt: now()})
		require.NoError(t, err, "UpdateUser with EndSessions and KeepSession")

		left, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Len(t, left, 1, "sessions of the user after EndSessions with KeepSession")
		assertSession(t, mine[1], left[0], "the kept session")
		left, err = s.UserSessions(ctx, other.ID)
		require.NoError(t, err, "UserSessions of another user")
		assert.Equal(t, []string{theirs.ID}, sessionIDs(left), "sessions of another user")
	})

	t.Run("KeepSessionAlone", func(t *testing.T) {
		// KeepSession without EndSessions ends nothing.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		a := createSession(t, s, u.ID, now().Add(-time.Minute))
		b := createSession(t, s, u.ID, now())
		_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{KeepSession: a.ID, UpdatedAt: now()})
		require.NoError(t, err, "UpdateUser with KeepSession only")
		left, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		assert.Equal(t, []string{a.ID, b.ID}, sessionIDs(left), "sessions after UpdateUser without EndSessions")
	})

	t.Run("NotFound", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		other := createUser(t, s)
		sess := createSession(t, s, other.ID, now())
		id := newID()

		_, err := s.UpdateUser(ctx, id, authkit.UserUpdate{DisplayName: new("x"), UpdatedAt: now()})
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UpdateUser of an unknown user")
		_, err = s.UpdateUser(ctx, id, authkit.UserUpdate{IfPasswordHash: other.PasswordHash, BumpTokenVersion: true, UpdatedAt: now()})
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UpdateUser of an unknown user with IfPasswordHash")
		_, err = s.UpdateUser(ctx, id, authkit.UserUpdate{EndSessions: true, UpdatedAt: now()})
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UpdateUser of an unknown user with EndSessions")

		_, err = s.UserByID(ctx, id)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID after UpdateUser of an unknown user")
		got, err := s.UserByID(ctx, other.ID)
		require.NoError(t, err, "UserByID of another user")
		assertUser(t, other, got, "another user")
		_, err = s.Session(ctx, sess.ID)
		assert.NoError(t, err, "Session of another user")
	})
}
