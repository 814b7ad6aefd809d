package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testUsers checks CreateUser, UserByID and UserByEmail.
func testUsers(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		created := now().Add(-48 * time.Hour)
		users := []authkit.User{
			{
				ID: newID(), Email: newEmail(), DisplayName: "Ada Lovelace",
				PasswordHash: newPasswordHash(), Active: true, EmailVerified: true,
				TokenVersion: 42, CreatedAt: created, UpdatedAt: created.Add(90 * time.Minute),
			},
			{
				ID: newID(), Email: newEmail(), DisplayName: "Zoë Ångström 名前",
				PasswordHash: newPasswordHash(), Active: false, EmailVerified: false,
				TokenVersion: 0, CreatedAt: created.Add(time.Microsecond), UpdatedAt: created.Add(time.Microsecond),
			},
		}
		for _, u := range users {
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
		}
		for _, u := range users {
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err, "UserByID")
			assertUser(t, u, got, "UserByID")

			got, err = s.UserByEmail(ctx, u.Email)
			require.NoError(t, err, "UserByEmail")
			assertUser(t, u, got, "UserByEmail")
		}
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)

		dup := newUser()
		dup.ID = u.ID
		err := s.CreateUser(ctx, dup)
		assert.ErrorIs(t, err, authkit.ErrAlreadyExists, "CreateUser with a taken id")

		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assertUser(t, u, got, "UserByID after the refused duplicate")
		_, err = s.UserByEmail(ctx, dup.Email)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByEmail of the refused duplicate")
	})

	t.Run("DuplicateEmail", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		local, domain, _ := strings.Cut(u.Email, "@")
		for _, email := range []string{
			u.Email,
			strings.ToUpper(u.Email),
			strings.ToUpper(local[:1]) + local[1:] + "@" + strings.ToUpper(domain),
		} {
			dup := newUser()
			dup.Email = email
			err := s.CreateUser(ctx, dup)
			assert.ErrorIs(t, err, authkit.ErrAlreadyExists, "CreateUser with taken email %q", email)
			_, err = s.UserByID(ctx, dup.ID)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of the refused user with email %q", email)
		}
		got, err := s.UserByEmail(ctx, u.Email)
		require.NoError(t, err, "UserByEmail")
		assertUser(t, u, got, "UserByEmail after the refused duplicates")
	})

	t.Run("EmailAnyCase", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		for _, email := range []string{u.Email, strings.ToUpper(u.Email), strings.ToUpper(u.Email[:3]) + u.Email[3:]} {
			got, err := s.UserByEmail(ctx, email)
			if assert.NoError(t, err, "UserByEmail(%q)", email) {
				assertUser(t, u, got, "UserByEmail")
			}
		}
	})

	t.Run("EmailStoredAsGiven", func(t *testing.T) {
		// Stores normalize nothing, but compare emails ignoring case even
		// when handed one that is not lower-case.
		s, ctx := newStore(t), t.Context()
		u := newUser()
		u.Email = "Mixed.Case-" + u.Email[:8] + "@Example.COM"
		require.NoError(t, s.CreateUser(ctx, u), "CreateUser")

		got, err := s.UserByEmail(ctx, strings.ToLower(u.Email))
		require.NoError(t, err, "UserByEmail in lower case")
		assert.Equal(t, u.Email, got.Email, "UserByEmail: the email as it was created")

		dup := newUser()
		dup.Email = strings.ToLower(u.Email)
		assert.ErrorIs(t, s.CreateUser(ctx, dup), authkit.ErrAlreadyExists, "CreateUser with the lower-case form of a taken email")
	})

	t.Run("NotFound", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		_, err := s.UserByID(ctx, newID())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of an unknown id")
		_, err = s.UserByEmail(ctx, newEmail())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByEmail of an unknown email")
		_, err = s.UserByEmail(ctx, "x"+u.Email)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByEmail of an email that only contains a known one")
	})
}
